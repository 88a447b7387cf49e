using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

/// <summary>
/// ML.NET's ImageNet-trained ResNet18 (ONNX, from the DnnImageFeaturizer package) loaded into the framework's own
/// <see cref="ResNetEncoder"/>: the graph walk, and the loaded network against ONNX Runtime on the same inputs.
/// </summary>
public sealed class ImageNetResNet18Tests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;
    private static readonly string ModelPath = Path.Combine(ImageNetResNet18Weights.DefaultModelDirectory, ImageNetResNet18Weights.ModelFile);
    private static readonly string PreprocessPath = Path.Combine(ImageNetResNet18Weights.DefaultModelDirectory, ImageNetResNet18Weights.PreprocessFile);

    [Fact]
    public void GraphWalkFindsTheExportsLayout()
    {
        var config = ImageNetResNet18Weights.ReadConfig(ModelPath);
        Assert.Equal(ResNetStem.ImageNet, config.Stem);
        Assert.Equal(64, config.BaseChannels);
        Assert.Equal(3, config.InChannels);
        Assert.Equal([2, 2, 2, 3], config.BlocksPerStage);
        Assert.Equal(512, config.MaxChannels);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize<EncoderConfig>(ResNetEncoderConfig.ImageNetResNet18(), NetworkJson.Options), System.Text.Json.JsonSerializer.Serialize<EncoderConfig>(config, NetworkJson.Options));
        Assert.Equal([64L, 64, 128, 256, 512], config.LevelChannels());
    }

    [Fact]
    public void ImageNetStemKeepsItsStateDictNames()
    {
        using var encoder = new ResNetEncoder(ResNetEncoderConfig.ImageNetResNet18());
        var state = encoder.state_dict();
        Assert.Equal([64L, 3, 7, 7], state["stem.conv1.weight"].shape);
        Assert.Equal([64L], state["stem.norm1.running_var"].shape);
        Assert.DoesNotContain("stem.conv1.bias", state.Keys);
        Assert.DoesNotContain("stages.0.0.shortcut.conv.weight", state.Keys); // stage 0 keeps width and resolution
        Assert.Equal([128L, 64, 1, 1], state["stages.1.0.shortcut.conv.weight"].shape);
        Assert.IsType<ImageNetStem>(encoder.Stem);
        // (1, 3, 224, 224) → 56² after the stem, 7² at the end, as torchvision's ResNet.
        using var x = torch.zeros(1, 3, 224, 224);
        var features = encoder.Features(x);
        Assert.Equal([[1L, 64, 56, 56], [1, 64, 56, 56], [1, 128, 28, 28], [1, 256, 14, 14], [1, 512, 7, 7]], features.Select(f => f.shape).ToArray());
        foreach (var f in features) f.Dispose();
    }

    [Fact]
    public void LoadedNetworkMatchesOnnxRuntimeOnRandomInput()
    {
        using var encoder = ImageNetResNet18Weights.Load(ModelPath);
        encoder.eval();
        using var generator = new Generator(7);
        // Preprocessed inputs are 0..255 values minus a mean near 110: about ±128.
        using var input = torch.randn([2, 3, 224, 224], generator: generator) * 60;
        var diff = 0.0;
        for (var n = 0; n < 2; n++)
        {
            using var one = input[n..(n + 1)];
            diff = Math.Max(diff, MaxDiff(PooledFeatures(encoder, one), RunOnnx(ModelPath, one)));
        }
        output.WriteLine($"random input: max |TorchSharp - ONNX Runtime| over 512 pooled features = {diff:E2}");
        Assert.True(diff < Tolerance, $"max abs difference {diff:E2} ≥ {Tolerance}");
    }

    [Fact]
    public void LoadedNetworkMatchesOnnxRuntimeOnARealLookingImage()
    {
        using var encoder = ImageNetResNet18Weights.Load(ModelPath);
        encoder.eval();
        using var preprocessing = ImageNetResNet18Weights.ReadPreprocessing(PreprocessPath);
        using var rgb = Photo();
        using var ours = preprocessing.Apply(rgb);
        var theirs = RunOnnx(PreprocessPath, rgb);
        using var theirsTensor = torch.tensor(theirs, [1, 3, 224, 224]);
        var features = PooledFeatures(encoder, ours);
        var reference = RunOnnx(ModelPath, theirsTensor);
        var diff = MaxDiff(features, reference);
        output.WriteLine($"real-looking image: max |TorchSharp - ONNX Runtime| over 512 pooled features = {diff:E2} (features up to {reference.Max():F2})");
        Assert.True(diff < Tolerance, $"max abs difference {diff:E2} ≥ {Tolerance}");
        Assert.True(reference.Count(v => v > 0) > 100, "the image should light up many features");
    }

    [Fact]
    public void PreprocessingMatchesResNetPreprocessOnnx()
    {
        using var preprocessing = ImageNetResNet18Weights.ReadPreprocessing(PreprocessPath);
        Assert.Equal([2L, 1, 0], preprocessing.ChannelOrder);
        using var generator = new Generator(3);
        using var rgb = torch.rand([1, 3, 224, 224], generator: generator) * 255;
        using var ours = preprocessing.Apply(rgb);
        var diff = MaxDiff(ours.data<float>().ToArray(), RunOnnx(PreprocessPath, rgb));
        output.WriteLine($"preprocessing: max |ours - ResNetPreprocess.onnx| = {diff:E2}");
        Assert.True(diff < Tolerance, $"max abs difference {diff:E2}");
        using var mean = preprocessing.MeanImage.mean([2, 3]);
        Assert.InRange(mean[0, 0].ToSingle(), 95f, 115f); // B plane mean about 103, R about 123
        Assert.InRange(mean[0, 2].ToSingle(), 113f, 133f);
    }

    /// <summary>The encoder that takes grey images: min–max to 0..255, three channels, minus the mean image, then the ResNet;
    /// at 224² the same as the featuriser's chain (ImageNetPixels, ResNetPreprocess.onnx, ResNet18.onnx) run by ONNX Runtime.</summary>
    [Fact]
    public void GreyImageEncoderMatchesTheOnnxChain()
    {
        using var encoder = new ImageNetEncoder(new ImageNetEncoderConfig { InputSize = 224 });
        ImageNetResNet18Weights.LoadInto(encoder);
        encoder.eval();
        using var grey = Photo().narrow(1, 0, 1) / 40 - 2; // z-score-like values
        using var features = encoder.Features(grey)[^1];
        var ours = features.mean([2, 3]).data<float>().ToArray();
        using var min = grey.min();
        using var max = grey.max();
        using var pixels = ((grey - min) * (255f / (max - min))).expand(-1, 3, -1, -1).contiguous();
        using var prepped = torch.tensor(RunOnnx(PreprocessPath, pixels), [1, 3, 224, 224]);
        var diff = MaxDiff(ours, RunOnnx(ModelPath, prepped));
        output.WriteLine($"grey 224² image through ImageNetEncoder: max |diff| = {diff:E2}");
        Assert.True(diff < Tolerance, $"max abs difference {diff:E2}");
    }

    [Fact]
    public void GreyImageEncoderTakesTheMiddleSliceOfAVolumeAndAnySize()
    {
        using var encoder = new ImageNetEncoder(new ImageNetEncoderConfig { SpatialDims = 3, InputSize = 64 });
        encoder.eval();
        using var generator = new Generator(5);
        using var volume = torch.rand([2, 1, 5, 20, 24], generator: generator);
        using var mapped = encoder.MapInput(volume);
        Assert.Equal([2L, 3, 64, 64], mapped.shape);
        using var slice = volume.select(2, 2).unsqueeze(2); // a one-slice volume holding only the middle slice
        using var mappedSlice = encoder.MapInput(slice);
        Assert.Equal(0f, (mapped - mappedSlice).abs().max().ToSingle());
        Assert.Equal(0f, mapped.min().ToSingle()); // zero mean image: min–max gives 0..255
        Assert.Equal(255f, mapped.max().ToSingle(), 3);
        Assert.Equal(["resnet.stem", "resnet.stages.0", "resnet.stages.1", "resnet.stages.2", "resnet.stages.3"], Enumerable.Range(0, encoder.Levels).Select(encoder.LevelName));
        Assert.Contains(ImageNetEncoder.MeanImageName, encoder.state_dict().Keys);
        // Below 64² the deepest map would be 1×1: batch norm would see one value per channel in a batch of one.
        var small = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageNetEncoderConfig { InputSize = 32 }.Validate());
        Assert.Equal("InputSize", small.ParamName);
    }

    [Fact]
    public void MissingOrWrongFilesAreNamed()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-folder", "ResNet18.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => ImageNetResNet18Weights.ReadConfig(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains("DnnImageFeaturizer.ResNet18", e.Message);
        // The preprocessing model is a valid ONNX file but not a ResNet.
        var wrong = Assert.Throws<InvalidDataException>(() => ImageNetResNet18Weights.ReadConfig(PreprocessPath));
        Assert.Contains(PreprocessPath, wrong.Message);
        Assert.Contains("stem", wrong.Message);
        using var plain = new ResNetEncoder(new ResNetEncoderConfig { InChannels = 3 });
        Assert.Throws<ArgumentException>(() => ImageNetResNet18Weights.LoadWeights(plain, ModelPath));
    }

    private static float[] PooledFeatures(ResNetEncoder encoder, Tensor input)
    {
        using var _ = torch.no_grad();
        var features = encoder.Features(input);
        using var pooled = features[^1].mean([2, 3]);
        foreach (var f in features) f.Dispose();
        return pooled.data<float>().ToArray();
    }

    private static float[] RunOnnx(string path, Tensor input)
    {
        using var session = new InferenceSession(path);
        var name = session.InputMetadata.Keys.Single();
        using var contiguous = input.contiguous();
        var tensor = new DenseTensor(contiguous.data<float>().ToArray(), contiguous.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(name, tensor)]);
        return results.First().AsEnumerable<float>().ToArray();
    }

    private static double MaxDiff(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        Assert.Equal(a.Count, b.Count);
        return a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
    }

    /// <summary>A 224² colour picture with smooth shading, edges and texture: rings, a bright disc and stripes, 0..255.</summary>
    private static Tensor Photo()
    {
        var values = new float[3 * 224 * 224];
        for (var y = 0; y < 224; y++)
            for (var x = 0; x < 224; x++)
            {
                double dx = x - 100, dy = y - 120, r = Math.Sqrt(dx * dx + dy * dy);
                var rings = 0.5 + 0.5 * Math.Cos(r / 6);
                var disc = Math.Sqrt((x - 160) * (x - 160) + (y - 60) * (y - 60)) < 30 ? 1.0 : 0.0;
                var stripes = (x / 16 + y / 16) % 2;
                var shade = y / 223.0;
                values[y * 224 + x] = (float)(255 * Math.Clamp(0.5 * rings + 0.4 * disc + 0.1 * shade, 0, 1));
                values[224 * 224 + y * 224 + x] = (float)(255 * Math.Clamp(0.3 * rings + 0.2 * stripes + 0.5 * shade, 0, 1));
                values[2 * 224 * 224 + y * 224 + x] = (float)(255 * Math.Clamp(0.6 * disc + 0.3 * stripes + 0.1 * (1 - shade), 0, 1));
            }
        return torch.tensor(values, [1, 3, 224, 224]);
    }
}
