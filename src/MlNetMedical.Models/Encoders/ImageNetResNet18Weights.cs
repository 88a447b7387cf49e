using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// ImageNet-trained weights for <see cref="ResNetEncoderConfig.ImageNetResNet18"/>, read from the ONNX files of NuGet's
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (0.24.0): <c>DnnImageModels/ResNet18Onnx/ResNet18.onnx</c> (a CNTK export, input
/// [1, 3, 224, 224] after preprocessing, output the 512-wide 7×7 average pool) and <c>DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx</c>
/// (0..255 R, G, B in; B, G, R minus a 224² mean image out). A project that references the package finds them next to its
/// application (<see cref="DefaultModelDirectory"/>).
/// <para>The weights are mapped by walking the graph, not by parameter names: the Conv reading the graph input is the stem (its
/// BatchNormalization, Relu, MaxPool follow), then each residual block is the 3×3 Conv → BatchNormalization → Relu → 3×3 Conv →
/// BatchNormalization → Add reading the block's input, whose other Add input is that input itself or a 1×1 Conv → BatchNormalization
/// of it (the projection shortcut); a block whose first conv strides 2 starts a stage; the block chain ends where an average pool reads
/// it. BatchNormalization inputs (scale, bias, mean, var) become <c>norm*.weight</c>, <c>.bias</c>, <c>.running_mean</c>,
/// <c>.running_var</c>. The export pads its stride-2 convs and max pool only at the start ([3, 3, 2, 2], [1, 1, 0, 0]); for even
/// sizes (224 and every size the network meets in the ImageNet stages from an even input) that equals the symmetric padding here.</para>
/// </summary>
public static class ImageNetResNet18Weights
{
    /// <summary>The network's file, relative to the <c>DnnImageModels</c> folder.</summary>
    public static readonly string ModelFile = Path.Combine("ResNet18Onnx", "ResNet18.onnx");

    /// <summary>The preprocessing model's file, relative to the <c>DnnImageModels</c> folder.</summary>
    public static readonly string PreprocessFile = Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>The <c>DnnImageModels</c> folder the package copies next to the application.</summary>
    public static string DefaultModelDirectory => Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    /// <summary>The batch-norm epsilon of the export and of TorchSharp's BatchNorm2d.</summary>
    private const double Epsilon = 1e-5;

    /// <summary>The encoder config the file's graph describes (ImageNet stem, widths, blocks per stage), read from the graph.</summary>
    public static ResNetEncoderConfig ReadConfig(string modelPath)
    {
        var (_, graph) = Walk(modelPath);
        return graph.Config;
    }

    /// <summary>A <see cref="ResNetEncoder"/> with the file's architecture and weights (evaluation mode is the caller's choice).</summary>
    public static ResNetEncoder Load(string? modelPath = null)
    {
        modelPath ??= Path.Combine(DefaultModelDirectory, ModelFile);
        var config = ReadConfig(modelPath);
        var encoder = new ResNetEncoder(config);
        LoadWeights(encoder, modelPath);
        return encoder;
    }

    /// <summary>Copies the file's weights and batch-norm statistics into <paramref name="encoder"/>, which must have the file's
    /// architecture (<see cref="ResNetEncoderConfig.ImageNetResNet18"/> for the package's file); throws <see cref="InvalidDataException"/>
    /// naming the file when it is not that graph.</summary>
    public static void LoadWeights(ResNetEncoder encoder, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var (model, graph) = Walk(modelPath);
        if (encoder.StemKind != ResNetStem.ImageNet || encoder.SpatialDims != 2 || encoder.InChannels != 3)
            throw new ArgumentException($"the encoder must be 2D with 3 input channels and the ImageNet stem (ResNetEncoderConfig.ImageNetResNet18) to take '{modelPath}''s weights", nameof(encoder));
        var initializers = OnnxFile.Initializers(model, modelPath);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, node) in graph.Names)
            {
                var tensor = Initializer(initializers, node.Op, node.Input, modelPath);
                state[name] = tensor;
            }
            var result = encoder.LoadStateDict(state, strict: false);
            if (result.Unexpected.Count > 0 || result.ShapeMismatched.Count > 0 || result.Missing.Any(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
                throw new InvalidDataException($"'{modelPath}' does not fit the encoder (config {graph.Config.BaseChannels} wide, stages [{string.Join(", ", graph.Config.BlocksPerStage)}]): {result}");
        }
        finally
        {
            foreach (var t in initializers.Values) t.Dispose();
        }
    }

    /// <summary>Loads ImageNet's ResNet weights and mean image (resized to <see cref="ImageNetEncoder.InputSize"/>, bilinear, half-pixel
    /// centres) into <paramref name="encoder"/> from <paramref name="modelDirectory"/> (null = <see cref="DefaultModelDirectory"/>).</summary>
    public static void LoadInto(ImageNetEncoder encoder, string? modelDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var directory = modelDirectory ?? DefaultModelDirectory;
        LoadWeights(encoder.ResNet, Path.Combine(directory, ModelFile));
        using var preprocessing = ReadPreprocessing(Path.Combine(directory, PreprocessFile));
        using var mean = preprocessing.MeanImageAt(encoder.InputSize);
        using (torch.no_grad()) encoder.MeanImage.copy_(mean);
    }

    /// <summary>The preprocessing of <c>ResNetPreprocess.onnx</c>: its channel reordering (read from its Split and Concat) and mean image.</summary>
    public static ImageNetPreprocessing ReadPreprocessing(string preprocessPath)
    {
        var model = OnnxFile.Read(Exists(preprocessPath, PreprocessFile));
        var graph = model.Graph;
        InvalidDataException Bad(string what) => new($"'{preprocessPath}' is not ML.NET's ResNetPreprocess.onnx (Split → Concat → Sub of a mean image): {what}");
        var split = graph.Node.SingleOrDefault(n => n.OpType == "Split") ?? throw Bad("no single Split node");
        var concat = graph.Node.SingleOrDefault(n => n.OpType == "Concat") ?? throw Bad("no single Concat node");
        var sub = graph.Node.SingleOrDefault(n => n.OpType == "Sub") ?? throw Bad("no single Sub node");
        var order = concat.Input.Select(i => (long)split.Output.IndexOf(i)).ToArray();
        if (order.Length != 3 || order.Any(o => o < 0) || order.Distinct().Count() != 3) throw Bad($"Concat's inputs [{string.Join(", ", concat.Input)}] are not the three Split outputs");
        if (sub.Input.Count != 2 || sub.Input[0] != concat.Output[0]) throw Bad("Sub does not read the Concat's output first");
        var meanProto = graph.Initializer.SingleOrDefault(t => t.Name == sub.Input[1]) ?? throw Bad($"Sub's second input '{sub.Input[1]}' is no initializer");
        var mean = OnnxFile.ToTensor(meanProto, preprocessPath);
        if (mean.dim() != 4 || mean.shape[0] != 1 || mean.shape[1] != 3)
        {
            var shape = string.Join(", ", mean.shape);
            mean.Dispose();
            throw Bad($"the mean image has shape [{shape}], expected [1, 3, H, W]");
        }
        return new ImageNetPreprocessing(mean, order);
    }

    private static string Exists(string path, string expected)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' does not exist: expected {expected} of the Microsoft.ML.DnnImageFeaturizer.ResNet18 package's DnnImageModels folder " +
                "(copied next to the application when it references the package)", path);
        return path;
    }

    private static Tensor Initializer(Dictionary<string, Tensor> initializers, NodeProto node, int input, string path) =>
        input < node.Input.Count && initializers.TryGetValue(node.Input[input], out var t)
            ? t : throw new InvalidDataException($"'{path}': input {input} of {node.OpType} node '{node.Name}' is not a float initializer");

    private sealed record Parameter(NodeProto Op, int Input);

    private sealed record WalkedGraph(ResNetEncoderConfig Config, IReadOnlyList<(string Name, Parameter Node)> Names);

    private sealed record ConvNorm(NodeProto Conv, NodeProto Norm, long[] WeightShape, long Stride);

    /// <summary>Follows the graph from its input to the average pool; see the class summary.</summary>
    private static (ModelProto, WalkedGraph) Walk(string modelPath)
    {
        var model = OnnxFile.Read(Exists(modelPath, ModelFile));
        var graph = model.Graph;
        InvalidDataException Bad(string what) => new($"'{modelPath}' is not the expected ResNet graph (ML.NET's ResNet18.onnx): {what}");
        var weights = graph.Initializer.ToDictionary(t => t.Name, t => t.Dims.ToArray(), StringComparer.Ordinal);
        var readers = graph.Node.SelectMany(n => n.Input.Select(i => (Input: i, Node: n))).ToLookup(p => p.Input, p => p.Node, StringComparer.Ordinal);
        var input = graph.Input.FirstOrDefault(i => !weights.ContainsKey(i.Name)) ?? throw Bad("the graph has no input besides its initializers");

        NodeProto Only(string tensor, string op, string where)
        {
            var nodes = readers[tensor].Where(n => n.OpType == op).ToList();
            return nodes.Count == 1 ? nodes[0] : throw Bad($"{where}: expected one {op} reading '{tensor}', found {nodes.Count}");
        }
        long[] Ints(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.ToArray() ?? [];
        ConvNorm ConvNormOf(NodeProto conv, long kernel, string where)
        {
            if (conv.Input.Count != 2) throw Bad($"{where}: Conv '{conv.Name}' has {conv.Input.Count} inputs; a weight without bias was expected");
            if (!weights.TryGetValue(conv.Input[1], out var shape) || shape.Length != 4 || shape[2] != kernel || shape[3] != kernel)
                throw Bad($"{where}: Conv '{conv.Name}' has no {kernel}×{kernel} weight initializer");
            var group = conv.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
            if (group != 1 || Ints(conv, "dilations").Any(d => d != 1)) throw Bad($"{where}: Conv '{conv.Name}' is grouped or dilated");
            var strides = Ints(conv, "strides");
            var stride = strides.Length == 0 ? 1 : strides[0];
            if (strides.Any(s => s != stride)) throw Bad($"{where}: Conv '{conv.Name}' has strides [{string.Join(", ", strides)}]");
            var pads = Ints(conv, "pads");
            if (pads.Length == 4 && (pads[0] != kernel / 2 || pads[1] != kernel / 2 || pads[2] > kernel / 2 || pads[3] > kernel / 2))
                throw Bad($"{where}: Conv '{conv.Name}' has pads [{string.Join(", ", pads)}]; {kernel / 2} at the start was expected");
            var norm = Only(conv.Output[0], "BatchNormalization", where);
            var epsilon = norm.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
            if (Math.Abs(epsilon - Epsilon) > 1e-7 || norm.Input.Count != 5)
                throw Bad($"{where}: BatchNormalization '{norm.Name}' has epsilon {epsilon} and {norm.Input.Count} inputs; 1e-5 and 5 (x, scale, bias, mean, var) were expected");
            return new ConvNorm(conv, norm, shape, stride);
        }
        var names = new List<(string, Parameter)>();
        void Add(string conv, string norm, ConvNorm c)
        {
            names.Add(($"{conv}.weight", new(c.Conv, 1)));
            names.Add(($"{norm}.weight", new(c.Norm, 1)));
            names.Add(($"{norm}.bias", new(c.Norm, 2)));
            names.Add(($"{norm}.running_mean", new(c.Norm, 3)));
            names.Add(($"{norm}.running_var", new(c.Norm, 4)));
        }

        var stem = ConvNormOf(Only(input.Name, "Conv", "stem"), ImageNetStem.ConvKernel, "stem");
        if (stem.Stride != ImageNetStem.ConvStride) throw Bad($"stem: Conv '{stem.Conv.Name}' strides {stem.Stride}, 2 was expected");
        var stemRelu = Only(stem.Norm.Output[0], "Relu", "stem");
        var pool = Only(stemRelu.Output[0], "MaxPool", "stem");
        if (Ints(pool, "kernel_shape").Any(k => k != ImageNetStem.PoolKernel) || Ints(pool, "strides").Any(s => s != ImageNetStem.PoolStride))
            throw Bad($"stem: MaxPool '{pool.Name}' is not 3×3 stride 2");
        Add("stem.conv1", "stem.norm1", stem);
        var x = pool.Output[0];
        var width = stem.WeightShape[0];
        var stages = new List<int>();
        var blockNumber = 0;
        while (!readers[x].Any(n => n.OpType is "AveragePool" or "GlobalAveragePool"))
        {
            var where = $"residual block {blockNumber + 1} (reading '{x}')";
            var convs = readers[x].Where(n => n.OpType == "Conv").ToList();
            var main = convs.Where(c => weights.TryGetValue(c.Input.ElementAtOrDefault(1) ?? "", out var s) && s.Length == 4 && s[2] == 3).ToList();
            if (main.Count != 1 || convs.Count - main.Count > 1) throw Bad($"{where}: expected one 3×3 Conv and at most one 1×1 Conv, found {convs.Count} Conv(s)");
            var first = ConvNormOf(main[0], 3, where);
            var second = ConvNormOf(Only(Only(first.Norm.Output[0], "Relu", where).Output[0], "Conv", where), 3, where);
            if (second.Stride != 1) throw Bad($"{where}: the second 3×3 Conv strides {second.Stride}");
            var add = Only(second.Norm.Output[0], "Add", where);
            var other = add.Input.Count == 2 ? add.Input.Single(i => i != second.Norm.Output[0]) : throw Bad($"{where}: Add '{add.Name}' has {add.Input.Count} inputs");
            ConvNorm? shortcut = null;
            if (convs.Count == 2)
            {
                shortcut = ConvNormOf(convs.Single(c => c != main[0]), 1, where + " shortcut");
                if (other != shortcut.Norm.Output[0] || shortcut.Stride != first.Stride) throw Bad($"{where}: the 1×1 Conv is not the Add's shortcut with the block's stride");
            }
            else if (other != x) throw Bad($"{where}: the Add's other input '{other}' is neither the block's input nor a 1×1 projection of it");
            var (inChannels, outChannels) = (first.WeightShape[1], first.WeightShape[0]);
            if (inChannels != width) throw Bad($"{where}: its first Conv reads {inChannels} channels, the block's input has {width}");
            var newStage = first.Stride == 2 || stages.Count == 0;
            if (first.Stride is not (1 or 2)) throw Bad($"{where}: its first Conv strides {first.Stride}");
            if (newStage) stages.Add(0);
            var expected = stages.Count == 1 ? stem.WeightShape[0] : width * 2;
            if (newStage && outChannels != Math.Min(expected, 8192)) throw Bad($"{where}: a stage starting here has {outChannels} channels, {expected} were expected (width doubling per stage)");
            if (!newStage && outChannels != width) throw Bad($"{where}: it changes the width from {width} to {outChannels} without striding");
            if ((shortcut is not null) != (first.Stride != 1 || inChannels != outChannels)) throw Bad($"{where}: a 1×1 shortcut was {(shortcut is null ? "expected" : "not expected")}");
            var prefix = $"stages.{stages.Count - 1}.{stages[^1]}";
            Add($"{prefix}.conv1", $"{prefix}.norm1", first);
            Add($"{prefix}.conv2", $"{prefix}.norm2", second);
            if (shortcut is not null) Add($"{prefix}.shortcut.conv", $"{prefix}.shortcut.norm", shortcut);
            stages[^1]++;
            width = outChannels;
            x = Only(add.Output[0], "Relu", where).Output[0];
            if (++blockNumber > 1000) throw Bad("more than 1000 residual blocks");
        }
        if (stages.Count == 0) throw Bad("no residual block before the average pool");
        var config = ResNetEncoderConfig.ImageNetResNet18() with
        {
            BaseChannels = (int)stem.WeightShape[0],
            InChannels = (int)stem.WeightShape[1],
            BlocksPerStage = stages.ToArray(),
            MaxChannels = (int)width,
        };
        return (model, new WalkedGraph(config, names));
    }
}

/// <summary>ML.NET's ResNet preprocessing (<c>ResNetPreprocess.onnx</c>): R, G, B values 0..255 → the network's channel order
/// (<see cref="ChannelOrder"/>: B, G, R) minus <see cref="MeanImage"/>. Owns the mean image tensor.</summary>
public sealed class ImageNetPreprocessing(Tensor meanImage, long[] channelOrder) : IDisposable
{
    /// <summary>The mean image (1, 3, 224, 224) in the network's channel order.</summary>
    public Tensor MeanImage { get; } = meanImage;

    /// <summary>Input channel read for each network channel ([2, 1, 0]: the network wants B, G, R).</summary>
    public IReadOnlyList<long> ChannelOrder { get; } = channelOrder;

    /// <summary>The network's input for R, G, B images (N, 3, 224, 224) of 0..255 values.</summary>
    public Tensor Apply(Tensor rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        using var order = torch.tensor(ChannelOrder.ToArray());
        using var reordered = rgb.index_select(1, order);
        return reordered - MeanImage;
    }

    /// <summary>The mean image resized to <paramref name="size"/>² (bilinear, half-pixel centres; a copy at 224).</summary>
    public Tensor MeanImageAt(int size) => size == MeanImage.shape[2] && size == MeanImage.shape[3]
        ? MeanImage.clone()
        : nn.functional.interpolate(MeanImage, [size, size], mode: InterpolationMode.Bilinear, align_corners: false);

    public void Dispose() => MeanImage.Dispose();
}
