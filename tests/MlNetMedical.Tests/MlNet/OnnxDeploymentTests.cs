using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Models;
using MlNetMedical.Tests.Trainers;
using Xunit;

namespace MlNetMedical.Tests.MlNet;

/// <summary>A preprocessed image as a deployment feeds it to the exported network: the float32 voxels, channels first (1 × 16 × 16).</summary>
public sealed class PixelRow
{
    [ColumnName("image"), VectorType(1 * SyntheticImages.Size * SyntheticImages.Size)]
    public float[] Image { get; set; } = [];

    /// <summary>The synthetic disks' voxels, in Volume.ToTensor's order (i fastest), no TorchSharp involved.</summary>
    public static List<PixelRow> Make(int count, int seed) =>
        SyntheticImages.Disks(count, seed).Select(d => new PixelRow { Image = d.Image.ToFloatArray() }).ToList();
}

/// <summary>
/// Deployment the ML.NET way: a classifier trained with the framework, exported with <c>ml.Model.ExportMedicalToOnnx</c>, runs in a
/// stock ML.NET chain (<c>ApplyOnnxModel</c> on a float-vector column), saves with stock <c>ml.Model.Save</c>, loads in a fresh process
/// and predicts what the TorchSharp model predicts (arg-max equal, probabilities within 1e-4).
/// </summary>
[Collection("Torch")]
public sealed class OnnxDeploymentTests : IDisposable
{
    internal const string WorkerCommand = "onnx-predict";
    private const double Tolerance = 1e-4;
    private readonly string dir = Directory.CreateTempSubdirectory("mlnm-onnx-deploy-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>In a fresh process: loads the stock ML.NET model file and prints each test row's probabilities ("R" floats) and
    /// arg-max, then whether TorchSharp was loaded.</summary>
    internal static string PredictWithStockMlNet(string path)
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(path, out _);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(PixelRow.Make(10, 7)));
        var lines = scored.GetColumn<float[]>("Score").Select(Line).ToList();
        lines.Add("torchsharp-loaded " + AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "TorchSharp"));
        return string.Join("\n", lines);
    }

    private static string Line(float[] p) =>
        string.Join(" ", p.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + " " + Array.IndexOf(p, p.Max());

    private static float[][] Parse(string text) => text.Split('\n').Where(l => !l.StartsWith("torchsharp", StringComparison.Ordinal))
        .Select(l => l.Split(' ')[..^1].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();

    [Fact]
    public void ExportedClassifierRunsInAStockMlNetChainAndAFreshProcess()
    {
        var ml = new MLContext(seed: 3);
        var train = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(32, 1));
        var model = ml.MulticlassClassification.Trainers
            .ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 3, baseChannels: 4), SyntheticImages.Quick(10)).Fit(train);

        // The TorchSharp model's probabilities on the test rows.
        var torch = model.Transform(ml.Data.LoadFromEnumerable(SyntheticImages.Disks(10, 7))).GetColumn<float[]>("Score").ToArray();

        var onnxPath = Path.Combine(dir, "classifier.onnx");
        var summary = ml.Model.ExportMedicalToOnnx(model, onnxPath, inputSize: [SyntheticImages.Size, SyntheticImages.Size]);
        Assert.Equal(["logits", "probabilities"], summary.Outputs);
        Assert.Equal("image [batch, 1, 16, 16]", summary.Input);
        Assert.Equal(["1", "2"], summary.ClassNames!);

        // A stock ML.NET chain: the ONNX network on the pixel column, its probabilities copied to Score.
        var pixels = ml.Data.LoadFromEnumerable(PixelRow.Make(10, 7));
        var chain = ml.Transforms.ApplyOnnxModel(["probabilities"], ["image"], onnxPath)
            .Append(ml.Transforms.CopyColumns("Score", "probabilities"))
            .Fit(pixels);
        var inProcess = chain.Transform(pixels).GetColumn<float[]>("Score").ToArray();
        var zip = Path.Combine(dir, "deployed.zip");
        ml.Model.Save(chain, pixels.Schema, zip);
        File.Delete(onnxPath); // the ONNX bytes travel inside ML.NET's file

        var child = ChildProcess.Run(WorkerCommand, zip);
        Assert.EndsWith("torchsharp-loaded False", child.Trim());
        var fresh = Parse(child.Trim());

        Assert.Equal(torch.Length, fresh.Length);
        Assert.Equal(10, torch.Length);
        for (int i = 0; i < torch.Length; i++)
        {
            Assert.Equal(2, fresh[i].Length);
            Assert.Equal(Array.IndexOf(torch[i], torch[i].Max()), Array.IndexOf(fresh[i], fresh[i].Max()));
            for (int c = 0; c < 2; c++)
            {
                Assert.InRange(Math.Abs(fresh[i][c] - torch[i][c]), 0, Tolerance);
                Assert.Equal(inProcess[i][c], fresh[i][c]); // the saved chain predicts bit for bit what the fitted one did
            }
        }
        // Both classes occur, so equal arg-maxes say something.
        Assert.Equal(2, torch.Select(p => Array.IndexOf(p, p.Max())).Distinct().Count());
    }

    [Fact]
    public void FrozenFeaturesWithTheMlpHeadExportAsOneClassifier()
    {
        var ml = new MLContext(seed: 5);
        var train = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(16, 2));
        var unet = ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(2)).Fit(train);
        var model = ml.Transforms.SegmentationEncoderFeatures(unet, levels: [1, -1])
            .Append(ml.MulticlassClassification.Trainers.Mlp([6], training: SyntheticImages.Quick(3)))
            .Fit(train);
        var expected = model.Transform(ml.Data.LoadFromEnumerable(SyntheticImages.Disks(6, 9))).GetColumn<float[]>("Score").ToArray();

        var path = Path.Combine(dir, "features-mlp.onnx");
        var summary = ml.Model.ExportMedicalToOnnx(model, path, inputSize: [16, 16]);
        Assert.Equal(["logits", "probabilities"], summary.Outputs);
        Assert.Null(summary.Note);
        var actual = RunOnnx(path, "probabilities", SyntheticImages.Disks(6, 9).Select(d => d.Image.ToFloatArray()).ToArray());
        for (int i = 0; i < expected.Length; i++)
            for (int c = 0; c < 2; c++) Assert.InRange(Math.Abs(actual[i][c] - expected[i][c]), 0, Tolerance);

        // The feature stage alone exports as the feature vector.
        var features = ml.Model.ExportMedicalToOnnx(((IEnumerable<ITransformer>)model).First(), Path.Combine(dir, "features.onnx"), inputSize: [16, 16]);
        Assert.Equal(["features"], features.Outputs);
        var e = Assert.Throws<ArgumentException>(() => ml.Model.ExportMedicalToOnnx(((IEnumerable<ITransformer>)model).First(),
            Path.Combine(dir, "placeholder.onnx"), inputSize: [16, 16], output: OnnxExportOutput.Network));
        Assert.Contains("placeholder", e.Message);
    }

    [Fact]
    public void AModelOfStockComponentsOnlyIsPointedToMlNetsOwnSave()
    {
        var ml = new MLContext(seed: 2);
        var data = ml.Data.LoadFromEnumerable(PixelRow.Make(6, 1));
        var model = ml.Transforms.Concatenate("Features", "image").Fit(data);
        var chain = new TransformerChain<ITransformer>(model);
        var e = Assert.Throws<ArgumentException>(() => ml.Model.ExportMedicalToOnnx(chain, Path.Combine(dir, "none.onnx")));
        Assert.Contains("no network stage of this framework", e.Message);
        Assert.Contains("ml.Model.Save", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, "none.onnx")));
    }

    [Fact]
    public void SavedModelExportsWithItsPreprocessingAndSize()
    {
        var ml = new MLContext(seed: 2);
        var train = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(16, 4));
        var model = ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(1)).Fit(train);
        var zip = Path.Combine(dir, "unet.zip");
        var chain = new TransformChain(new PadOrCrop { Size = [16, 12] }, new ZScore());
        ml.Model.SaveMedical(model, train.Schema, zip, chain);
        var loaded = ml.Model.LoadMedical(zip, out var schema);
        var path = Path.Combine(dir, "unet.onnx");
        var summary = ml.Model.ExportMedicalToOnnx(loaded, path, schema);
        Assert.Equal("image [batch, 1, 12, 16]", summary.Input); // index order (i = 16, j = 12) reversed into tensor order
        Assert.Equal(["mask_logits"], summary.Outputs);
        Assert.Equal(chain.ToJson(), summary.Preprocessing);
        using var session = new InferenceSession(path);
        Assert.Equal(chain.ToJson(), session.ModelMetadata.CustomMetadataMap["preprocessing"]);
        Assert.Equal([-1, 1, 12, 16], session.InputMetadata["image"].Dimensions);

        // No size given and none recorded: the error says what to pass.
        var e = Assert.Throws<ArgumentException>(() => ml.Model.ExportMedicalToOnnx(model, Path.Combine(dir, "x.onnx")));
        Assert.Contains("inputSize", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, "x.onnx")));
    }

    private static float[][] RunOnnx(string path, string output, float[][] images)
    {
        using var session = new InferenceSession(path);
        var n = images.Length;
        var data = images.SelectMany(x => x).ToArray();
        var tensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(data, [n, 1, SyntheticImages.Size, SyntheticImages.Size]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", tensor)], [output]);
        var values = results.Single().AsTensor<float>().ToArray();
        var k = values.Length / n;
        return Enumerable.Range(0, n).Select(i => values.Skip(i * k).Take(k).ToArray()).ToArray();
    }
}
