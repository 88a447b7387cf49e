using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

/// <summary>A fact that runs only when Debian's /usr/bin/python3 imports onnx (python3-onnx); otherwise it is reported skipped.</summary>
public sealed class OnnxCheckerFactAttribute : FactAttribute
{
    public OnnxCheckerFactAttribute()
    {
        if (OnnxChecker.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>Debian's ONNX checker (<c>onnx.checker.check_model(path, full_check=True)</c>, onnx 1.12: IR 8, opset ≤ 17).</summary>
internal static class OnnxChecker
{
    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (!File.Exists("/usr/bin/python3")) return "/usr/bin/python3 not found";
        var (code, _, err) = PythonReference.Run("import onnx", []);
        return code == 0 ? null : $"/usr/bin/python3 cannot import onnx (python3-onnx): {err.Trim().Split('\n')[^1]}";
    });

    public static string? Unavailable => Probe.Value;

    /// <summary>Checks every file in one python run; returns the checker's messages per failing file (empty when all pass).</summary>
    public static string Check(IEnumerable<string> paths)
    {
        const string script = """
import sys, onnx
bad = []
for p in sys.argv[1:]:
    try:
        onnx.checker.check_model(p, full_check=True)
        m = onnx.load(p)
        assert m.ir_version == 8, f"IR version {m.ir_version}"
        assert 13 <= m.opset_import[0].version <= 17, f"opset {m.opset_import[0].version}"
    except Exception as e:
        bad.append(f"{p}: {type(e).__name__}: {e}")
print("\n".join(bad))
""";
        return PythonReference.RunChecked(script, paths.ToArray()).Trim();
    }
}

/// <summary>
/// ONNX export of every network kind, 2D and 3D: ONNX Runtime's outputs equal TorchSharp's (eval mode) within 1e-4 on random
/// inputs and on synthetic disk images, with batches of 1 and 3 through the same file; Debian's checker accepts the files;
/// modules the exporter does not know are refused by name.
/// </summary>
public sealed class OnnxExportTests(Xunit.Abstractions.ITestOutputHelper log) : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly string dir = Directory.CreateTempSubdirectory("mlnm-onnx-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Every network kind and option the exporter handles, with an input size (odd sizes exercise pad and crop).</summary>
    internal static IEnumerable<(string Name, NetworkConfig Config, long Size)> Cases(int dims)
    {
        foreach (var (name, config) in TestConfigs.All(dims)) yield return (name, config, 8);
        yield return ("unet-instance-nearest", TestConfigs.UNet(dims, up: UpsamplingKind.Nearest, norm: NormKind.Instance), 8);
        yield return ("unet-none-leaky-1class", new UNetConfig
        {
            Encoder = TestConfigs.Encoder(dims) with { Norm = NormKind.None, Activation = ActivationKind.LeakyRelu }, NumClasses = 1,
        }, 8);
        yield return ("unet-odd-size", TestConfigs.UNet(dims), 7);
        yield return ("unet-odd-size-strided", TestConfigs.UNet(dims, down: DownsamplingKind.StridedConv, block: BlockKind.Residual), 7);
        yield return ("classifier-max-pooling", EncoderClassifierConfig.FromSegmentation(TestConfigs.UNet(dims),
            new ClassificationHeadConfig { NumClasses = 3, Levels = [-1], Pooling = PoolingKind.Max }), 8);
        yield return ("simple-joint-1class", new SimpleJointConfig { UNet = TestConfigs.UNet(dims, classes: 1), NumClasses = 3 }, 8);
        yield return ("ynet-odd", TestConfigs.YNet(dims), 9);
        yield return ("resnet-imagenet-stem", new EncoderClassifierConfig
        {
            Encoder = new ResNetEncoderConfig { SpatialDims = dims, Stem = ResNetStem.ImageNet, BaseChannels = 4, BlocksPerStage = [1, 1] },
            Head = new ClassificationHeadConfig { NumClasses = 3 },
        }, 16);
        // The ImageNet fine-tuned arm's network: a volume's middle slice, resized (here up from 12) and mapped inside the graph.
        yield return ("imagenet-resnet18", EncoderClassifierConfig.ImageNetResNet18(dims, 1, 3, inputSize: 64), 12);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryNetworkKindMatchesOnnxRuntime(int dims)
    {
        var failures = new List<string>();
        int compared = 0;
        double largest = 0;
        foreach (var (name, config, size) in Cases(dims))
        {
            using var network = Build(config, seed: name.Length + dims);
            // Random weights on 0..255 inputs give logits near 1e11; ImageNet's own weights keep values in their real range.
            if (network is EncoderClassifier { Encoder: ImageNetEncoder imagenet }) ImageNetResNet18Weights.LoadInto(imagenet);
            var path = Path.Combine(dir, $"{name}-{dims}d.onnx");
            OnnxExporter.Export(network, path, new OnnxExportOptions { InputSize = Enumerable.Repeat(size, dims).ToArray(), ClassNames = ["a", "b", "c"] });
            using var session = Session(path);
            foreach (var batch in new[] { 1, 3 })
                foreach (var (inputName, input) in Inputs(dims, batch, size))
                {
                    using (input)
                        foreach (var (output, torchValue) in TorchOutputs(network, input))
                        {
                            using (torchValue)
                            {
                                var diff = MaxDiff(session, input, output, torchValue);
                                compared++;
                                largest = Math.Max(largest, diff);
                                if (!(diff <= Tolerance)) failures.Add($"{name} {dims}D batch {batch} {inputName} '{output}': max |ORT − TorchSharp| = {diff:G3}");
                            }
                        }
                }
        }
        log.WriteLine($"{dims}D: {compared} outputs compared, largest max |ORT − TorchSharp| = {largest:G3}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(compared >= 2 * 2 * Cases(dims).Count(), $"only {compared} comparisons ran");
    }

    [Fact]
    public void EncoderLevelsPooledFeaturesAndFeatureClassifierMatch()
    {
        using var classifier = (EncoderClassifier)Build(TestConfigs.Classifier(2), seed: 5);
        using var input = DiskImages(2, batch: 3, size: 8);
        var size = new long[] { 8, 8 };

        var levelsPath = Path.Combine(dir, "levels.onnx");
        OnnxExporter.Export(classifier, levelsPath, new OnnxExportOptions { InputSize = size, Output = OnnxExportOutput.EncoderLevels });
        using (var session = Session(levelsPath))
        {
            var features = classifier.Encoder.Features(input);
            Assert.Equal(classifier.Encoder.Levels, session.OutputMetadata.Count);
            for (int l = 0; l < features.Count; l++)
                using (features[l]) Assert.InRange(MaxDiff(session, input, $"level{l}", features[l]), 0, Tolerance);
        }

        var featuresPath = Path.Combine(dir, "features.onnx");
        OnnxExporter.Export(classifier, featuresPath, new OnnxExportOptions { InputSize = size, Output = OnnxExportOutput.PooledFeatures });
        using (var session = Session(featuresPath))
        using (var pooled = classifier.PooledFeatures(input))
            Assert.InRange(MaxDiff(session, input, "features", pooled), 0, Tolerance);

        // Standardise + MLP on the pooled features, as the framework's vector classifier computes it.
        using var pooledRef = classifier.PooledFeatures(input);
        var width = pooledRef.shape[1];
        using var mean = torch.randn(width);
        using var scale = torch.rand(width) + 0.5;
        using var hidden = nn.Linear(width, 5);
        using var output = nn.Linear(5, 3);
        var withHeadPath = Path.Combine(dir, "features-head.onnx");
        OnnxExporter.Export(classifier, withHeadPath, new OnnxExportOptions
        {
            InputSize = size, Output = OnnxExportOutput.PooledFeatures, FeatureClassifier = new OnnxFeatureClassifier(mean, scale, [hidden, output]),
        });
        using var expected = output.call(nn.functional.relu(hidden.call((pooledRef - mean) / scale)));
        using var probabilities = expected.softmax(1);
        using var session2 = Session(withHeadPath);
        Assert.InRange(MaxDiff(session2, input, "logits", expected), 0, Tolerance);
        Assert.InRange(MaxDiff(session2, input, "probabilities", probabilities), 0, Tolerance);
    }

    [Fact]
    public void FileCarriesNamesLayoutAndMetadata()
    {
        using var network = Build(TestConfigs.YNet(2), seed: 3);
        var path = Path.Combine(dir, "ynet.onnx");
        OnnxExporter.Export(network, path, new OnnxExportOptions
        {
            InputSize = [8, 8], ClassNames = ["benign", "malignant"], Metadata = new Dictionary<string, string> { ["preprocessing"] = "[]" },
        });
        var model = OnnxFile.Read(path);
        Assert.Equal(8, model.IrVersion);
        Assert.Equal(17, model.OpsetImport.Single().Version);
        Assert.Equal("image", model.Graph.Input.Single().Name);
        Assert.Equal(["logits", "probabilities", "mask_logits"], model.Graph.Output.Select(o => o.Name));
        var inputDims = model.Graph.Input[0].Type.TensorType.Shape.Dim;
        Assert.Equal("batch", inputDims[0].DimParam);
        Assert.Equal([1L, 8, 8], inputDims.Skip(1).Select(d => d.DimValue));
        var meta = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("[\"benign\",\"malignant\"]", meta["class_names"]);
        Assert.Equal("[]", meta["preprocessing"]);
        Assert.Equal("[batch, 1, 8, 8]", meta["input_shape"]);
        Assert.Contains("\"network\": \"ynet\"", meta["network"].Replace("\"network\":\"", "\"network\": \""));
        // Weights keep their state-dict names.
        Assert.Contains(model.Graph.Initializer, t => t.Name == "encoder.stages.0.conv1.weight");
        Assert.Contains(model.Graph.Initializer, t => t.Name == "classifier.head.output.weight");
        Assert.DoesNotContain(model.Graph.Initializer, t => t.Name.StartsWith("deep_supervision_heads", StringComparison.Ordinal));
    }

    [OnnxCheckerFact]
    public void DebianCheckerAcceptsEveryExportedFile()
    {
        var paths = new List<string>();
        foreach (var dims in new[] { 2, 3 })
            foreach (var (name, config, size) in Cases(dims))
            {
                using var network = Build(config, seed: 1);
                var path = Path.Combine(dir, $"{name}-{dims}d.onnx");
                OnnxExporter.Export(network, path, new OnnxExportOptions { InputSize = Enumerable.Repeat(size, dims).ToArray() });
                paths.Add(path);
            }
        using (var classifier = (EncoderClassifier)Build(TestConfigs.ResNet(2), seed: 1))
            foreach (var output in new[] { OnnxExportOutput.EncoderLevels, OnnxExportOutput.PooledFeatures })
            {
                var path = Path.Combine(dir, $"resnet-{output}.onnx");
                OnnxExporter.Export(classifier, path, new OnnxExportOptions { InputSize = [8, 8], Output = output });
                paths.Add(path);
            }
        Assert.Equal("", OnnxChecker.Check(paths));
    }

    [OnnxCheckerFact]
    public void CheckerRejectsABrokenFile()
    {
        // The check can fail: a graph whose node reads a value nobody writes.
        using var network = Build(TestConfigs.PlainCnn(2), seed: 1);
        var model = OnnxExporter.Build(network, new OnnxExportOptions { InputSize = [8, 8] });
        model.Graph.Node[0].Input[0] = "nowhere";
        var path = Path.Combine(dir, "broken.onnx");
        OnnxFile.Write(model, path);
        Assert.Contains("nowhere", OnnxChecker.Check([path]));
    }

    [Fact]
    public void CustomEncoderIsRefusedByName()
    {
        TinyEncoder.Register();
        var config = new EncoderClassifierConfig
        {
            Encoder = EncoderRegistry.Config(TinyEncoder.Name, new TinySettings { Width = 3 }, spatialDims: 2, inChannels: 1),
            Head = new ClassificationHeadConfig { NumClasses = 2, Levels = [0, 1] },
        };
        using var network = Build(config, seed: 1);
        var path = Path.Combine(dir, "custom.onnx");
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.Export(network, path, new OnnxExportOptions { InputSize = [8, 8] }));
        Assert.Equal("encoder", e.Layer);
        Assert.Contains("TinyEncoder", e.Message);
        Assert.Contains("UNetEncoder and ResNetEncoder", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void UnknownLayerInsideAStageIsRefusedByPath()
    {
        using var network = (EncoderClassifier)Build(TestConfigs.ResNet(2), seed: 1);
        var stage = (Sequential)((ResNetEncoder)network.Encoder).Stages[1];
        stage.append(nn.Tanh());
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ToBytes(network, new OnnxExportOptions { InputSize = [8, 8] }));
        Assert.Equal("encoder.stages.1.2", e.Layer);
        Assert.Contains("Tanh", e.Message);
    }

    [Fact]
    public void AnExtraModuleBesideTheStemIsRefusedByName()
    {
        // What an encoder gains (an ImageNet stem's pool, say) and the exporter does not know is named, not skipped.
        using var network = (EncoderClassifier)Build(TestConfigs.ResNet(2), seed: 1);
        network.Encoder.register_module("stem_pool", nn.MaxPool2d(3, 2, 1));
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ToBytes(network, new OnnxExportOptions { InputSize = [8, 8] }));
        Assert.Equal("encoder.stem_pool", e.Layer);
        Assert.Contains("MaxPool2d", e.Message);
    }

    [Fact]
    public void WrongInputSizeNamesTheSetting()
    {
        using var network = Build(TestConfigs.UNet(2), seed: 1);
        var e = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(network, new OnnxExportOptions { InputSize = [8, 8, 8] }));
        Assert.Contains("InputSize", e.Message);
        e = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(network, new OnnxExportOptions { InputSize = [2, 8] }));
        Assert.Contains("at least 4", e.Message);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------------

    /// <summary>Builds the network and moves every weight and statistic off its initial value (so batch-norm statistics,
    /// norm affines and biases are tested too), in eval mode.</summary>
    internal static Network Build(NetworkConfig config, long seed)
    {
        using var generator = new torch.Generator((ulong)seed);
        var network = config.Build(generator);
        using (torch.no_grad())
        {
            foreach (var (name, p) in network.named_parameters())
                p.add_(torch.randn(p.shape, generator: generator) * 0.1);
            foreach (var (name, b) in network.named_buffers())
            {
                if (name.EndsWith("running_mean", StringComparison.Ordinal)) b.copy_(torch.randn(b.shape, generator: generator) * 0.2);
                else if (name.EndsWith("running_var", StringComparison.Ordinal)) b.copy_(torch.rand(b.shape, generator: generator) + 0.5);
            }
        }
        network.eval();
        return network;
    }

    private static InferenceSession Session(string path)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        return new InferenceSession(path, options);
    }

    /// <summary>Random normal input and synthetic disk images (a bright disk on noise, z-scored).</summary>
    private static IEnumerable<(string Name, Tensor Input)> Inputs(int dims, int batch, long size)
    {
        yield return ("random", torch.randn(TestConfigs.InputShape(dims, batch, size)));
        yield return ("disks", DiskImages(dims, batch, size));
    }

    internal static Tensor DiskImages(int dims, int batch, long size)
    {
        using var scope = torch.NewDisposeScope();
        var axes = Enumerable.Range(0, dims).Select(_ => torch.arange(size, dtype: ScalarType.Float32)).ToArray();
        var grids = torch.meshgrid(axes, indexing: "ij");
        var images = new List<Tensor>();
        for (int b = 0; b < batch; b++)
        {
            var centre = size / 2.0 - 0.5 + (b - 1);
            var radius = size / 4.0 + b * 0.5;
            var r2 = grids.Select(g => (g - centre).square()).Aggregate((a, c) => a + c);
            var disk = r2.le(radius * radius).to(ScalarType.Float32) * (100 + 20 * b) + torch.randn(r2.shape) * 5;
            images.Add(((disk - disk.mean()) / disk.std()).unsqueeze(0));
        }
        return scope.MoveToOuter(torch.stack(images));
    }

    /// <summary>TorchSharp's outputs under the names the exported file gives them.</summary>
    private static IEnumerable<(string Name, Tensor Value)> TorchOutputs(Network network, Tensor input)
    {
        using var noGrad = torch.no_grad();
        switch (network)
        {
            case IJointNetwork joint:
            {
                using var o = joint.ForwardJoint(input);
                return [("logits", o.ClassLogits.alias()), ("probabilities", o.ClassLogits.softmax(1)), ("mask_logits", o.SegmentationLogits.alias())];
            }
            case ISegmentationNetwork seg:
            {
                using var o = seg.ForwardSegmentation(input);
                return [("mask_logits", o.Logits.alias())];
            }
            case IClassificationNetwork c:
            {
                var logits = c.Classify(input);
                return [("logits", logits), ("probabilities", logits.softmax(1))];
            }
            default: throw new ArgumentException(network.GetType().Name);
        }
    }

    /// <summary>max |ONNX Runtime − TorchSharp| of output <paramref name="output"/> on <paramref name="input"/> (shape checked too).</summary>
    internal static double MaxDiff(InferenceSession session, Tensor input, string output, Tensor expected)
    {
        var data = input.contiguous().data<float>().ToArray();
        var tensor = new DenseTensor(data, input.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", tensor)], [output]);
        var actual = results.Single().AsTensor<float>();
        Assert.Equal(expected.shape, actual.Dimensions.ToArray().Select(d => (long)d).ToArray());
        var reference = expected.detach().contiguous().data<float>().ToArray();
        var values = actual.ToArray();
        double max = 0;
        for (int i = 0; i < values.Length; i++) max = Math.Max(max, Math.Abs(values[i] - reference[i]));
        return values.Any(float.IsNaN) ? double.NaN : max;
    }
}
