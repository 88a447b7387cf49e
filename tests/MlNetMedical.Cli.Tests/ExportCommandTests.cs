using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using MlNetMedical.Cli.Commands;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Models;
using MlNetMedical.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Cli.Tests;

/// <summary>`mlnm export`: saved models of every kind become ONNX files that ONNX Runtime runs with the shapes, names and metadata the
/// command reports, a classifier's probabilities equal `mlnm predict`'s, and bad input exits 1 naming the file or option.</summary>
[Collection(TrainingCollection.Name)]
public sealed class ExportCommandTests(TinyModels models) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ClassifierExportMatchesPredict()
    {
        var onnx = Path.Combine(_dir, "cls.onnx");
        var (code, stdout, stderr) = CliRun.Run("export", "--model", models.Classifier2D, "--onnx", onnx);
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("outputs  logits, probabilities", stdout);
        Assert.Contains("input    image [batch, 1, 32, 32]", stdout); // the recorded chain resamples to 32×32
        Assert.Contains($"classes  {string.Join(", ", TinyModels.LiverClasses)}", stdout);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));

        using var session = new InferenceSession(onnx);
        var meta = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal(JsonSerializer.Serialize(TinyModels.LiverClasses), meta["class_names"]);
        Assert.Equal(TransformChain.Load(models.Chain).ToJson(), meta["preprocessing"]);

        // The same images through the recorded preprocessing and ONNX Runtime give what mlnm predict (TorchSharp) gives.
        var chain = TransformChain.Load(models.Chain);
        var images = TestImages(models.LiverManifest).Take(3).ToList();
        Assert.Equal(3, images.Count);
        foreach (var image in images)
        {
            var predicted = PredictCommand.Predict(models.Classifier2D, image, Path.Combine(_dir, "p"), null).Single();
            var voxels = chain.Apply(new Sample("x", ImageIO.Read(image))).Image.ToFloatArray();
            var tensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(voxels, [1, 1, 32, 32]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", tensor)], ["probabilities"]);
            var p = results.Single().AsTensor<float>().ToArray();
            for (int c = 0; c < TinyModels.LiverClasses.Length; c++)
                Assert.InRange(Math.Abs(p[c] - predicted.Probabilities![TinyModels.LiverClasses[c]]), 0, 1e-4);
        }
    }

    [Fact]
    public void JointFrozenAndVolumeModelsExport()
    {
        var joint = Path.Combine(_dir, "joint.onnx");
        var (code, stdout, stderr) = CliRun.Run("export", "--model", models.Joint2D, "--onnx", joint, "--json");
        Assert.True(code == ExitCodes.Success, stderr);
        using (var doc = JsonDocument.Parse(stdout))
            Assert.Equal(["logits", "probabilities", "mask_logits"], doc.RootElement.GetProperty("outputs").EnumerateArray().Select(e => e.GetString()));
        using (var session = new InferenceSession(joint))
            Assert.Equal([-1, 3, 32, 32], session.OutputMetadata["mask_logits"].Dimensions);

        // Frozen features + ML.NET's LbfgsMaximumEntropy: the network part exports as the feature vector, and the note says so.
        var frozen = Path.Combine(_dir, "frozen.onnx");
        (code, stdout, stderr) = CliRun.Run("export", "--model", models.Frozen2D, "--onnx", frozen);
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("outputs  features", stdout);
        Assert.Contains("note", stdout);

        // A 3D model saved without preprocessing needs --size; with it, the input is (batch, 1, k, j, i).
        var volume = Path.Combine(_dir, "joint3d.onnx");
        (code, _, stderr) = CliRun.Run("export", "--model", models.Joint3D, "--onnx", volume);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("--size", stderr);
        Assert.Contains(models.Joint3D, stderr);
        Assert.False(File.Exists(volume));
        (code, stdout, stderr) = CliRun.Run("export", "--model", models.Joint3D, "--onnx", volume, "--size", "16x16x8");
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("image [batch, 1, 8, 16, 16]", stdout);

        var levels = Path.Combine(_dir, "levels.onnx");
        (code, stdout, stderr) = CliRun.Run("export", "--model", models.Joint2D, "--onnx", levels, "--encoder-levels");
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("outputs  level0, level1, level2", stdout);
    }

    [Theory]
    [InlineData("size-text", "--size", "32xab")]
    [InlineData("size-dims", "--size", "32x32x32")]
    [InlineData("size-small", "--size", "2x2")]
    public void BadSizesAreUserErrors(string _, string option, string value)
    {
        var (code, _, stderr) = CliRun.Run("export", "--model", models.Classifier2D, "--onnx", Path.Combine(_dir, "x.onnx"), option, value);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("--size", stderr.Replace("InputSize", "--size"));
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "x.onnx")));
    }

    [Fact]
    public void MissingModelAndStockMlNetFilesAreUserErrors()
    {
        var (code, _, stderr) = CliRun.Run("export", "--model", Path.Combine(_dir, "none.zip"), "--onnx", Path.Combine(_dir, "x.onnx"));
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("none.zip", stderr);
        (code, _, stderr) = CliRun.Run("export", "--model", models.Classifier2D, "--onnx", _dir);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("is a folder", stderr);
    }

    [Fact]
    public void UserEncoderIsRefusedNamingTheLayerAndTheFile()
    {
        EncoderRegistry.Register<OneConvSettings>(OneConvEncoder.Name, st => new OneConvEncoder(st));
        var ml = new MLContext(seed: 1);
        ml.Medical().Seed = 1;
        var liver = ml.Data.FilterBySplit(ml.Data.LoadFromManifest(models.LiverManifest, TransformChain.Load(models.Chain)), "train");
        var config = new EncoderClassifierConfig
        {
            Encoder = EncoderRegistry.Config(OneConvEncoder.Name, new OneConvSettings(), spatialDims: 2, inChannels: 1),
            Head = new ClassificationHeadConfig { NumClasses = 3 },
        };
        var model = ml.MulticlassClassification.Trainers.ImageCnn(config, new TrainingOptions { Epochs = 1, BatchSize = 4, ValidationFraction = 0 }).Fit(liver);
        var zip = Path.Combine(_dir, "custom.zip");
        ml.Model.SaveMedical(model, liver.Schema, zip);

        var onnx = Path.Combine(_dir, "custom.onnx");
        var (code, _, stderr) = CliRun.Run("export", "--model", zip, "--onnx", onnx);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("custom.zip", stderr);
        Assert.Contains("layer 'encoder'", stderr);
        Assert.Contains(nameof(OneConvEncoder), stderr);
        Assert.Contains("UNetEncoder and ResNetEncoder", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(onnx));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    private static IEnumerable<string> TestImages(string manifest)
    {
        var lines = File.ReadAllLines(manifest);
        var header = lines[0].Split(',');
        int image = Array.IndexOf(header, "image"), split = Array.IndexOf(header, "split");
        return lines.Skip(1).Select(l => l.Split(',')).Where(c => c[split] == "test")
            .Select(c => Path.Combine(Path.GetDirectoryName(manifest)!, c[image]));
    }
}

public sealed record OneConvSettings
{
    public int Width { get; init; } = 4;
}

/// <summary>A user's own encoder (one conv level): the exporter cannot read its forward, so it must refuse it by name.</summary>
public sealed class OneConvEncoder : FeatureEncoder
{
    public const string Name = "one-conv-cli-test";
    private readonly Sequential block;

    public OneConvEncoder(OneConvSettings settings) : base(nameof(OneConvEncoder), 2, 1, [settings.Width])
    {
        block = nn.Sequential(("conv", Layers.Conv(2, 1, settings.Width, 3)), ("relu", nn.ReLU()));
        register_module("block", block);
    }

    protected override string LevelNameOf(int level) => "block";

    public override IReadOnlyList<Tensor> Features(Tensor input)
    {
        CheckInput(input);
        return [block.call(input)];
    }
}
