using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using B = MlNetMedical.Models.OnnxGraphBuilder;

namespace MlNetMedical.Models;

/// <summary>What an exported ONNX graph computes.</summary>
public enum OnnxExportOutput
{
    /// <summary>The network's own outputs: <c>logits</c> and <c>probabilities</c> (classifiers), <c>mask_logits</c> (U-Nets), all
    /// three (joint networks). Deep-supervision outputs are left out.</summary>
    Network,
    /// <summary>An <see cref="EncoderClassifier"/>'s pooled head input, <c>features</c> (what the frozen-feature transformer writes),
    /// or with <see cref="OnnxExportOptions.FeatureClassifier"/> that classifier's <c>logits</c> and <c>probabilities</c>.</summary>
    PooledFeatures,
    /// <summary>Every encoder level's feature map, <c>level0</c> (shallowest) .. <c>level{L-1}</c>, of any network with an encoder.</summary>
    EncoderLevels,
}

/// <summary>A classifier on pooled features, standardise then MLP: x ↦ (x − <paramref name="Mean"/>) / <paramref name="Scale"/>, then
/// <paramref name="Layers"/> with ReLU between them (dropout is the identity at inference).</summary>
public sealed record OnnxFeatureClassifier(Tensor Mean, Tensor Scale, IReadOnlyList<Linear> Layers);

/// <summary>Settings of <see cref="OnnxExporter.Export"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Spatial size of the input in tensor order (2D: rows, columns = j, i; 3D: k, j, i). The graph's sizes are fixed to
    /// it; only the batch is dynamic. Required.</summary>
    public IReadOnlyList<long> InputSize { get; init; } = [];

    /// <summary>What the graph computes (default: the network's own outputs).</summary>
    public OnnxExportOutput Output { get; init; } = OnnxExportOutput.Network;

    /// <summary>Class names in output order, stored in the file's metadata (<c>class_names</c>, a JSON array); null for none.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>With <see cref="OnnxExportOutput.PooledFeatures"/>: the classifier applied to the features.</summary>
    public OnnxFeatureClassifier? FeatureClassifier { get; init; }

    /// <summary>More metadata_props entries (for example the preprocessing the caller applies before the network).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>The default ONNX opset (17: the newest Debian's onnx 1.12 checks).</summary>
    public int Opset { get; init; } = OnnxExporter.DefaultOpset;
}

/// <summary>A network (or one of its layers) that the ONNX exporter does not know. <see cref="Layer"/> is the module path
/// (<c>encoder.stages.1.0</c>), <see cref="LayerType"/> its class.</summary>
public sealed class OnnxExportException : Exception
{
    public OnnxExportException(string message, string? layer = null, string? layerType = null) : base(message)
    {
        Layer = layer;
        LayerType = layerType;
    }

    public string? Layer { get; }
    public string? LayerType { get; }
}

/// <summary>
/// Writes the framework's networks as ONNX graphs (IR version 8, opset 15–17; TorchSharp has no ONNX export). The graph is
/// built from the networks' own definitions: every module is walked by name and checked against what the exporter knows,
/// so a module it does not know raises an <see cref="OnnxExportException"/> naming it rather than giving a wrong graph.
/// Inference semantics: batch norm uses its running statistics, dropout is the identity, deep-supervision heads are left out.
/// The input is <c>image</c>, float32 (batch, channels, spatial...) with a dynamic batch and the spatial size of
/// <see cref="OnnxExportOptions.InputSize"/>.
/// </summary>
public static class OnnxExporter
{
    /// <summary>ONNX IR version written (8: what Debian's onnx 1.12 reads).</summary>
    public const long IrVersion = 8;
    public const int DefaultOpset = 17;
    public const int MinOpset = 15;
    public const int MaxOpset = 17;

    /// <summary>What the exporter handles, in words (quoted by its errors).</summary>
    public const string Supported =
        "networks UNet, EncoderClassifier, YNet, SimpleJointNet; encoders UNetEncoder and ResNetEncoder (stem and stages of ConvBlocks; or the ImageNet stem) " +
        "and ImageNetEncoder (its input mapping and ResNet); " +
        "ConvBlock (plain or residual; Conv1d/2d/3d; BatchNorm (running statistics), InstanceNorm (affine, no running statistics), " +
        "GroupNorm or Identity; ReLU or LeakyReLU), max pooling or strided-conv downsampling, transposed-conv, nearest or linear " +
        "upsampling, ClassificationHead (average, max or average+max pooling; Linear layers)";

    /// <summary>Writes <paramref name="network"/> as an ONNX file at <paramref name="path"/>, whole (temporary file, then rename).</summary>
    public static void Export(Network network, string path, OnnxExportOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        OnnxFile.Write(Build(network, options), path);
    }

    /// <summary>The ONNX file's bytes (as <see cref="Export"/> writes them).</summary>
    public static byte[] ToBytes(Network network, OnnxExportOptions options) => Build(network, options).ToByteArray();

    internal static ModelProto Build(Network network, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Opset is < MinOpset or > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(options), options.Opset, $"Opset must be in {MinOpset}..{MaxOpset}");
        var (dims, inChannels, minimum) = InputOf(network);
        var size = options.InputSize?.ToArray() ?? [];
        if (size.Length != dims)
            throw new ArgumentException($"InputSize has {size.Length} value(s) [{string.Join(", ", size)}]; the {network.GetType().Name} has {dims} spatial dim(s)", nameof(options));
        if (size.Any(s => s < minimum))
            throw new ArgumentException($"InputSize [{string.Join(", ", size)}]: every spatial size must be at least {minimum} for this network", nameof(options));
        if (options.FeatureClassifier is not null && options.Output != OnnxExportOutput.PooledFeatures)
            throw new ArgumentException("FeatureClassifier applies to Output = PooledFeatures only", nameof(options));

        var writer = new Writer(network.GetType().Name);
        var input = writer.G.Input("image", [-1, inChannels, .. size],
            $"float32 (batch, {inChannels} channel(s), {string.Join(", ", size)}): the preprocessed image, channels first, spatial axes in the order k, j, i (voxel index axes reversed)");
        var outputs = writer.Network(network, input, options);
        foreach (var (name, value, doc) in outputs) writer.G.Output(value, name, doc);
        CheckShapes(network, options, size, inChannels, outputs, writer.EncoderShapes);

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "MlNetMedical",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = writer.G.Graph,
            DocString = $"{network.GetType().Name} exported by MlNetMedical",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["network"] = network.Config.ToJson(),
            ["network_class"] = network.GetType().Name,
            ["export_output"] = options.Output.ToString(),
            ["input"] = "image",
            ["input_shape"] = $"[batch, {inChannels}, {string.Join(", ", size)}]",
            ["input_layout"] = dims == 3
                ? "float32 (batch, channels, k, j, i): a volume's voxels with the index axes reversed, i fastest (Volume.ToTensor)"
                : "float32 (batch, channels, j, i): an image's pixels, rows then columns, i fastest (Volume.ToTensor)",
            ["outputs"] = string.Join("; ", outputs.Select(o => $"{o.Name}: {o.Doc}")),
        };
        if (options.ClassNames is { Count: > 0 } names) meta["class_names"] = JsonSerializer.Serialize(names);
        foreach (var (k, v) in options.Metadata ?? new Dictionary<string, string>()) meta[k] = v;
        foreach (var (k, v) in meta) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    private static (int Dims, long InChannels, long Minimum) InputOf(Network network) => network switch
    {
        EncoderNetwork e => (e.Encoder.SpatialDims, e.Encoder.InChannels, e.Encoder.MinimumInputSize),
        _ => throw Unsupported("", network),
    };

    internal static OnnxExportException Unsupported(string path, nn.Module module, string? why = null)
    {
        var where = path.Length == 0 ? "the network" : $"layer '{path}'";
        return new OnnxExportException(
            $"cannot export {where} ({module.GetType().FullName}) to ONNX{(why is null ? "" : ": " + why)}. The exporter handles {Supported}.",
            path, module.GetType().FullName);
    }

    // Runs the network once (eval mode, batch 1, zeros) and compares every encoder level and output shape with the graph's:
    // a module whose forward does more than the exporter writes (a layer it does not see) shows up here.
    private static void CheckShapes(Network network, OnnxExportOptions options, long[] size, long inChannels,
        IReadOnlyList<(string Name, OnnxValue Value, string Doc)> outputs, IReadOnlyList<long[]> encoderShapes)
    {
        var wasTraining = network.training;
        network.eval();
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var device = network.parameters().FirstOrDefault()?.device ?? torch.CPU;
            var x = torch.zeros([1, inChannels, .. size], device: device);
            if (network is EncoderNetwork en)
            {
                var features = en.Encoder.Features(x);
                for (int l = 0; l < features.Count && l < encoderShapes.Count; l++)
                    Compare($"encoder level {l} ('{en.EncoderLevelPrefix(l)}')", features[l].shape, encoderShapes[l]);
            }
            if (options.Output != OnnxExportOutput.Network) return;
            var expected = new Dictionary<string, long[]>();
            switch (network)
            {
                case IJointNetwork j:
                    using (var o = j.ForwardJoint(x)) { expected["logits"] = o.ClassLogits.shape; expected["mask_logits"] = o.SegmentationLogits.shape; }
                    break;
                case ISegmentationNetwork s:
                    using (var o = s.ForwardSegmentation(x)) expected["mask_logits"] = o.Logits.shape;
                    break;
                case IClassificationNetwork c:
                    expected["logits"] = c.Classify(x).shape;
                    break;
            }
            foreach (var (name, value, _) in outputs)
                if (expected.TryGetValue(name, out var shape)) Compare($"output '{name}'", shape, value.Shape);
        }
        finally
        {
            network.train(wasTraining);
        }
    }

    private static void Compare(string what, long[] torchShape, long[] graphShape)
    {
        var g = graphShape.ToArray();
        g[0] = 1;
        if (!torchShape.SequenceEqual(g))
            throw new OnnxExportException($"cannot export to ONNX: {what} is [{string.Join(", ", torchShape)}] in TorchSharp but [{string.Join(", ", g)}] " +
                "in the written graph, so the network does something the exporter does not know. The exporter handles " + Supported + ".");
    }

    /// <summary>Walks the modules by name and writes their nodes.</summary>
    private sealed class Writer(string graphName)
    {
        public B G { get; } = new(graphName);
        public List<long[]> EncoderShapes { get; } = [];

        public IReadOnlyList<(string Name, OnnxValue Value, string Doc)> Network(Network network, OnnxValue image, OnnxExportOptions options)
        {
            if (network is not EncoderNetwork en) throw Unsupported("", network);
            if (options.Output == OnnxExportOutput.EncoderLevels)
            {
                var levels = Encoder(en, image);
                return levels.Select((v, i) => ($"level{i}", v, $"encoder level {i} feature map ('{en.EncoderLevelPrefix(i)}')")).ToArray();
            }
            if (options.Output == OnnxExportOutput.PooledFeatures)
            {
                if (network is not EncoderClassifier ec)
                    throw new ArgumentException($"Output = PooledFeatures needs an EncoderClassifier, not a {network.GetType().Name} (use EncoderLevels)", nameof(options));
                ExpectChildren("", ec, "encoder", "head");
                var pooled = Pooled(Encoder(ec, image), ec.Head.Levels, ec.Head.Pooling);
                if (options.FeatureClassifier is not { } fc)
                    return [("features", pooled, $"the pooled encoder features (N, {pooled.Shape[1]}) the head reads")];
                return Classified(FeatureClassifier(fc, pooled));
            }
            switch (network)
            {
                case EncoderClassifier ec:
                {
                    ExpectChildren("", ec, "encoder", "head");
                    var logits = Head("head", ec.Head, Encoder(ec, image), null);
                    return Classified(logits);
                }
                case UNet unet:
                {
                    ExpectChildren("", unet, "encoder", "decoder", "segmentation_head", "deep_supervision_heads");
                    var decoded = Decoder(unet.Decoder, Encoder(unet, image));
                    return [("mask_logits", Conv("segmentation_head", unet.SegmentationHead, decoded[0]), SegmentationDoc(unet))];
                }
                case YNet ynet:
                {
                    ExpectChildren("", ynet, "encoder", "decoder", "segmentation_head", "deep_supervision_heads", "classifier");
                    var encoded = Encoder(ynet, image);
                    var decoded = Decoder(ynet.Decoder, encoded);
                    var seg = Conv("segmentation_head", ynet.SegmentationHead, decoded[0]);
                    var logits = YNetBranch("classifier", ynet.Classifier, encoded[^1]);
                    return [.. Classified(logits), ("mask_logits", seg, SegmentationDoc(ynet))];
                }
                case SimpleJointNet joint:
                {
                    ExpectChildren("", joint, "encoder", "decoder", "segmentation_head", "deep_supervision_heads", "lesion_type_head", "classifier");
                    var decoded = Decoder(joint.Decoder, Encoder(joint, image));
                    var seg = Conv("segmentation_head", joint.SegmentationHead, decoded[0]);
                    var typeMap = Conv("lesion_type_head", joint.LesionTypeHead, decoded[0]);
                    var logits = Head("classifier", joint.Classifier, decoded, LesionReadout(seg, typeMap));
                    return [.. Classified(logits), ("mask_logits", seg, SegmentationDoc(joint))];
                }
                default:
                    throw Unsupported("", network);
            }
        }

        private static string SegmentationDoc(UNetBase net) => net.SegmentationClasses == 1
            ? "segmentation logits (N, 1, spatial...): one sigmoid channel, foreground where > 0"
            : $"segmentation logits (N, {net.SegmentationClasses}, spatial...): the mask is the arg-max over the channels";

        private (string, OnnxValue, string)[] Classified(OnnxValue logits)
        {
            var probabilities = G.Add("Softmax", "probabilities", [logits.Name], logits.Shape, B.Int("axis", 1));
            return [("logits", logits, $"class logits (N, {logits.Shape[1]})"), ("probabilities", probabilities, $"class probabilities (N, {logits.Shape[1]}), softmax of the logits")];
        }

        // ---- encoders -------------------------------------------------------------------------------------------------

        private List<OnnxValue> Encoder(EncoderNetwork network, OnnxValue image)
        {
            const string path = EncoderNetwork.EncoderPrefix;
            var levels = network.Encoder switch
            {
                UNetEncoder u => UNetEncoder(path, u, image),
                ResNetEncoder r => ResNetEncoder(path, r, image),
                ImageNetEncoder i => ImageNetEncoder(path, i, image),
                var other => throw Unsupported(path, other, "only the built-in encoders can be exported (a custom encoder's forward is code the exporter cannot read)"),
            };
            EncoderShapes.Clear();
            EncoderShapes.AddRange(levels.Select(v => v.Shape));
            return levels;
        }

        private List<OnnxValue> UNetEncoder(string path, UNetEncoder encoder, OnnxValue x)
        {
            ExpectChildren(path, encoder, "stages");
            var levels = new List<OnnxValue>();
            foreach (var (name, stage) in Children(encoder.Stages))
            {
                var level = int.Parse(name, CultureInfo.InvariantCulture);
                if (level > 0 && encoder.Downsampling == DownsamplingKind.MaxPool) x = MaxPool(x, 2, 2, 0, ceil: false);
                x = ConvBlock($"{path}.stages.{name}", stage, x);
                levels.Add(x);
            }
            return levels;
        }

        private List<OnnxValue> ResNetEncoder(string path, ResNetEncoder encoder, OnnxValue x)
        {
            ExpectChildren(path, encoder, "stem", "stages");
            var levels = new List<OnnxValue> { ResNetStem($"{path}.stem", Child(encoder, "stem"), x) };
            foreach (var (s, stage) in Children(encoder.Stages))
            {
                if (stage is not Sequential blocks) throw Unsupported($"{path}.stages.{s}", stage);
                x = levels[^1];
                foreach (var (b, block) in Children(blocks)) x = ConvBlock($"{path}.stages.{s}.{b}", block, x);
                levels.Add(x);
            }
            return levels;
        }

        /// <summary>ResNet level 0: one <see cref="Models.ConvBlock"/>, or the ImageNet stem (7×7/2 conv, norm, activation, 3×3/2 max pool).</summary>
        private OnnxValue ResNetStem(string path, nn.Module stem, OnnxValue x)
        {
            switch (stem)
            {
                case ConvBlock block:
                    return ConvBlock(path, block, x);
                case ImageNetStem imagenet:
                    ExpectChildren(path, imagenet, "conv1", "norm1");
                    x = Activate(imagenet.Settings.Activation, Norm($"{path}.norm1", Child(imagenet, "norm1"), Conv($"{path}.conv1", Child(imagenet, "conv1"), x)));
                    return MaxPool(x, ImageNetStem.PoolKernel, ImageNetStem.PoolStride, ImageNetStem.PoolPadding, ceil: false);
                default:
                    throw Unsupported(path, stem, "the ResNet stem must be a ConvBlock or an ImageNetStem");
            }
        }

        /// <summary><see cref="Models.ImageNetEncoder.MapInput"/> as graph nodes (middle k slice, first channel, bilinear resize,
        /// min–max to 0..255 per image, minus the mean image, which broadcasts the grey plane to its channels), then the ResNet.</summary>
        private List<OnnxValue> ImageNetEncoder(string path, ImageNetEncoder encoder, OnnxValue x)
        {
            ExpectChildren(path, encoder, Models.ImageNetEncoder.ResNetName);
            if (x.Rank == 5)
            {
                var middle = x.Shape[2] / 2;
                var slab = G.AddRaw("Slice", "middle_slice", [x.Name, G.Int64s("starts", [middle]), G.Int64s("ends", [middle + 1]), G.Int64s("axes", [2])]);
                x = G.Add("Squeeze", "slice", [slab, G.Int64s("axes", [2])], [x.Shape[0], x.Shape[1], x.Shape[3], x.Shape[4]]);
            }
            if (x.Shape[1] != 1)
                x = G.Add("Slice", "first_channel", [x.Name, G.Int64s("starts", [0]), G.Int64s("ends", [1]), G.Int64s("axes", [1])], [x.Shape[0], 1, .. x.Spatial]);
            long size = encoder.InputSize;
            if (x.Spatial.Any(d => d != size)) x = Resize(x, [size, size], linear: true);
            var flat = G.AddRaw("Flatten", "flat", [x.Name], B.Int("axis", 1));
            string PerImage(string op) => G.AddRaw("Unsqueeze", op.ToLowerInvariant(),
                [G.AddRaw(op, op.ToLowerInvariant(), [flat], B.Ints("axes", [1L]), B.Int("keepdims", 1)), G.Int64s("axes", [2, 3])]);
            var min = PerImage("ReduceMin");
            var range = G.AddRaw("Sub", "range", [PerImage("ReduceMax"), min]);
            var scale = G.AddRaw("Where", "scale", [G.AddRaw("Greater", "has_range", [range, G.Floats("zero", [0f], [])]),
                G.AddRaw("Div", "inverse_range", [G.Floats("full", [255f], []), G.AddRaw("Max", "safe_range", [range, G.Floats("tiny", [1e-30f], [])])]),
                G.Floats("zero", [0f], [])]);
            var scaled = G.AddRaw("Mul", "scaled", [G.AddRaw("Sub", "shifted", [x.Name, min]), scale]);
            var mean = encoder.MeanImage;
            var mapped = G.Add("Sub", "mapped", [scaled, G.Weight($"{path}.{Models.ImageNetEncoder.MeanImageName}", mean)], [x.Shape[0], mean.shape[1], size, size]);
            return ResNetEncoder($"{path}.{Models.ImageNetEncoder.ResNetName}", encoder.ResNet, mapped);
        }

        // ---- decoder --------------------------------------------------------------------------------------------------

        private List<OnnxValue> Decoder(UNetDecoder decoder, IReadOnlyList<OnnxValue> encoded)
        {
            const string path = "decoder";
            ExpectChildren(path, decoder, "stages");
            var stages = Children(decoder.Stages).ToArray();
            var outputs = new OnnxValue[stages.Length];
            var deeper = encoded[^1];
            for (int level = stages.Length - 1; level >= 0; level--)
            {
                var (name, module) = stages[level];
                var stagePath = $"{path}.stages.{name}";
                if (module is not DecoderStage stage) throw Unsupported(stagePath, module);
                deeper = outputs[level] = DecoderStage(stagePath, stage, deeper, encoded[level]);
            }
            return outputs.ToList();
        }

        private OnnxValue DecoderStage(string path, DecoderStage stage, OnnxValue deeper, OnnxValue skip)
        {
            OnnxValue up;
            if (stage.Upsampling == UpsamplingKind.TransposedConv)
            {
                ExpectChildren(path, stage, "up", "block");
                up = MatchSize(ConvTranspose($"{path}.up", Child(stage, "up"), deeper), skip.Spatial);
            }
            else
            {
                ExpectChildren(path, stage, "block");
                up = Resize(deeper, skip.Spatial, stage.Upsampling == UpsamplingKind.Linear);
            }
            var cat = G.Add("Concat", "concat", [up.Name, skip.Name], [-1, up.Shape[1] + skip.Shape[1], .. skip.Spatial], B.Int("axis", 1));
            return ConvBlock($"{path}.block", Child(stage, "block"), cat);
        }

        // Zero-pads (far end) or crops (far end) the spatial dims to size, as DecoderStage.MatchSize does.
        private OnnxValue MatchSize(OnnxValue x, long[] size)
        {
            var have = x.Spatial;
            if (have.SequenceEqual(size)) return x;
            var crop = Enumerable.Range(0, size.Length).Where(d => have[d] > size[d]).ToArray();
            if (crop.Length > 0)
            {
                var shape = x.Shape.ToArray();
                foreach (var d in crop) shape[d + 2] = size[d];
                x = G.Add("Slice", "crop", [x.Name, G.Int64s("starts", crop.Select(_ => 0L).ToArray()),
                    G.Int64s("ends", crop.Select(d => size[d]).ToArray()), G.Int64s("axes", crop.Select(d => (long)d + 2).ToArray())], shape);
            }
            var pads = new long[2 * x.Rank];
            for (int d = 0; d < size.Length; d++) pads[x.Rank + d + 2] = Math.Max(0, size[d] - x.Spatial[d]);
            if (pads.All(p => p == 0)) return x;
            return G.Add("Pad", "pad", [x.Name, G.Int64s("pads", pads)], [x.Shape[0], x.Shape[1], .. size]);
        }

        private OnnxValue Resize(OnnxValue x, long[] size, bool linear)
        {
            var batchChannels = G.AddRaw("Shape", "batch_channels", [x.Name], B.Int("start", 0), B.Int("end", 2));
            var sizes = G.AddRaw("Concat", "sizes", [batchChannels, G.Int64s("spatial", size)], B.Int("axis", 0));
            return linear
                ? G.Add("Resize", "resize", [x.Name, "", "", sizes], [x.Shape[0], x.Shape[1], .. size],
                    B.String("mode", "linear"), B.String("coordinate_transformation_mode", "pytorch_half_pixel"))
                : G.Add("Resize", "resize", [x.Name, "", "", sizes], [x.Shape[0], x.Shape[1], .. size],
                    B.String("mode", "nearest"), B.String("coordinate_transformation_mode", "asymmetric"), B.String("nearest_mode", "floor"));
        }

        // ---- heads ----------------------------------------------------------------------------------------------------

        private OnnxValue YNetBranch(string path, nn.Module module, OnnxValue bottleneck)
        {
            if (module is not YNetBranch branch) throw Unsupported(path, module);
            ExpectChildren(path, branch, "down", "head");
            var x = bottleneck;
            foreach (var (i, block) in Children(branch.Down)) x = ConvBlock($"{path}.down.{i}", block, MaxPool(x, 2, 2, 0, ceil: true));
            return Head($"{path}.head", branch.Head, [x], null);
        }

        private OnnxValue Head(string path, nn.Module module, IReadOnlyList<OnnxValue> features, OnnxValue? extra)
        {
            if (module is not ClassificationHead head) throw Unsupported(path, module);
            ExpectChildren(path, head, "hidden", "output");
            var x = Pooled(features, head.Levels, head.Pooling);
            if (extra is { } e) x = G.Add("Concat", "with_extra", [x.Name, e.Name], [-1, x.Shape[1] + e.Shape[1]], B.Int("axis", 1));
            foreach (var (i, layer) in Children(head.Hidden))
                x = Relu(Gemm($"{path}.hidden.{i}", layer, x));
            return Gemm($"{path}.output", Child(head, "output"), x);
        }

        private OnnxValue Pooled(IReadOnlyList<OnnxValue> features, IReadOnlyList<int> levels, PoolingKind pooling)
        {
            var parts = levels.Select(l => GlobalPool(features[l], pooling)).ToArray();
            return parts.Length == 1 ? parts[0]
                : G.Add("Concat", "pooled", parts.Select(p => p.Name).ToArray(), [-1, parts.Sum(p => p.Shape[1])], B.Int("axis", 1));
        }

        private OnnxValue GlobalPool(OnnxValue x, PoolingKind kind)
        {
            OnnxValue Pool(string op) => G.Add("Flatten", "pooled", [G.AddRaw(op, "pool", [x.Name])], [-1, x.Shape[1]], B.Int("axis", 1));
            return kind switch
            {
                PoolingKind.Average => Pool("GlobalAveragePool"),
                PoolingKind.Max => Pool("GlobalMaxPool"),
                PoolingKind.AverageMax => G.Add("Concat", "pooled", [Pool("GlobalAveragePool").Name, Pool("GlobalMaxPool").Name], [-1, 2 * x.Shape[1]], B.Int("axis", 1)),
                _ => throw new OnnxExportException($"cannot export global pooling {kind}"),
            };
        }

        // r_k = Σ p·T_k / (Σ p + 1e-6) with p = 1 − softmax(seg)[0] (or sigmoid of one channel): SimpleJointNet.LesionTypeReadout.
        private OnnxValue LesionReadout(OnnxValue seg, OnnxValue typeMap)
        {
            string lesion;
            if (seg.Shape[1] == 1) lesion = G.AddRaw("Sigmoid", "lesion", [seg.Name]);
            else
            {
                var softmax = G.AddRaw("Softmax", "seg_softmax", [seg.Name], B.Int("axis", 1));
                var background = G.AddRaw("Slice", "background", [softmax, G.Int64s("starts", [0]), G.Int64s("ends", [1]), G.Int64s("axes", [1])]);
                lesion = G.AddRaw("Sub", "lesion", [G.Floats("one", [1f], []), background]);
            }
            var axes = G.Int64s("spatial_axes", Enumerable.Range(2, seg.Rank - 2).Select(a => (long)a).ToArray());
            var weighted = G.AddRaw("ReduceSum", "weighted", [G.AddRaw("Mul", "typed", [typeMap.Name, lesion]), axes], B.Int("keepdims", 0));
            var mass = G.AddRaw("Add", "mass", [G.AddRaw("ReduceSum", "lesion_sum", [lesion, axes], B.Int("keepdims", 0)), G.Floats("eps", [1e-6f], [])]);
            return G.Add("Div", "readout", [weighted, mass], [-1, typeMap.Shape[1]]);
        }

        private OnnxValue FeatureClassifier(OnnxFeatureClassifier fc, OnnxValue features)
        {
            const string path = "feature_classifier";
            if (fc.Mean.shape.Length != 1 || fc.Mean.shape[0] != features.Shape[1] || !fc.Scale.shape.SequenceEqual(fc.Mean.shape))
                throw new ArgumentException($"FeatureClassifier: mean and scale must have {features.Shape[1]} values (the pooled features), got [{string.Join(", ", fc.Mean.shape)}] and [{string.Join(", ", fc.Scale.shape)}]");
            var centred = G.AddRaw("Sub", "centred", [features.Name, G.Weight($"{path}.mean", fc.Mean)]);
            var x = G.Add("Div", "standardised", [centred, G.Weight($"{path}.scale", fc.Scale)], features.Shape);
            for (int i = 0; i < fc.Layers.Count; i++)
            {
                x = Gemm($"{path}.layers.{i}", fc.Layers[i], x);
                if (i < fc.Layers.Count - 1) x = Relu(x);
            }
            return x;
        }

        // ---- layers ---------------------------------------------------------------------------------------------------

        private OnnxValue ConvBlock(string path, nn.Module module, OnnxValue x)
        {
            if (module is not ConvBlock block) throw Unsupported(path, module);
            var s = block.Settings;
            var residual = s.Block == BlockKind.Residual;
            var allowed = Enumerable.Range(1, s.ConvsPerBlock).SelectMany(k => new[] { $"conv{k}", $"norm{k}" }).Append("shortcut").ToArray();
            ExpectChildren(path, block, allowed);
            var input = x;
            for (int k = 1; k <= s.ConvsPerBlock; k++)
            {
                x = Norm($"{path}.norm{k}", Child(block, $"norm{k}"), Conv($"{path}.conv{k}", Child(block, $"conv{k}"), x));
                if (!(residual && k == s.ConvsPerBlock)) x = Activate(s.Activation, x);
            }
            if (!residual) return x;
            var shortcut = input;
            if (TryChild(block, "shortcut") is { } sc)
            {
                if (sc is not Sequential) throw Unsupported($"{path}.shortcut", sc);
                ExpectChildren($"{path}.shortcut", sc, "conv", "norm");
                shortcut = Norm($"{path}.shortcut.norm", Child(sc, "norm"), Conv($"{path}.shortcut.conv", Child(sc, "conv"), input));
            }
            if (!shortcut.Shape.SequenceEqual(x.Shape))
                throw new OnnxExportException($"cannot export layer '{path}': its shortcut gives [{string.Join(", ", shortcut.Shape)}] and its convs [{string.Join(", ", x.Shape)}]", path, nameof(Models.ConvBlock));
            return Activate(s.Activation, G.Add("Add", "residual", [x.Name, shortcut.Name], x.Shape));
        }

        private OnnxValue Conv(string path, nn.Module module, OnnxValue x)
        {
            if (module is not Convolution conv || conv is ConvolutionTranspose || conv.transposed || !IsConvNd(conv, "Conv"))
                throw Unsupported(path, module);
            CheckConv(path, conv, x);
            var (k, stride, padding, dilation) = Geometry(conv);
            var shape = new long[x.Rank];
            shape[0] = -1;
            shape[1] = conv.out_channels;
            for (int d = 0; d < k.Length; d++)
                shape[d + 2] = (x.Shape[d + 2] + 2 * padding[d] - dilation[d] * (k[d] - 1) - 1) / stride[d] + 1;
            var inputs = new List<string> { x.Name, G.Weight($"{path}.weight", conv.weight!) };
            if (conv.bias is { } bias) inputs.Add(G.Weight($"{path}.bias", bias));
            return G.Add("Conv", "conv", inputs, shape, B.Ints("kernel_shape", k), B.Ints("strides", stride),
                B.Ints("pads", [.. padding, .. padding]), B.Ints("dilations", dilation), B.Int("group", conv.groups));
        }

        private OnnxValue ConvTranspose(string path, nn.Module module, OnnxValue x)
        {
            if (module is not ConvolutionTranspose conv || !IsConvNd(conv, "ConvTranspose")) throw Unsupported(path, module);
            CheckConv(path, conv, x);
            var (k, stride, padding, dilation) = Geometry(conv);
            var outputPadding = conv.output_padding is { Length: > 0 } op ? op : new long[k.Length];
            var shape = new long[x.Rank];
            shape[0] = -1;
            shape[1] = conv.out_channels;
            for (int d = 0; d < k.Length; d++)
                shape[d + 2] = (x.Shape[d + 2] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (k[d] - 1) + outputPadding[d] + 1;
            var inputs = new List<string> { x.Name, G.Weight($"{path}.weight", conv.weight!) };
            if (conv.bias is { } bias) inputs.Add(G.Weight($"{path}.bias", bias));
            return G.Add("ConvTranspose", "up", inputs, shape, B.Ints("kernel_shape", k), B.Ints("strides", stride),
                B.Ints("pads", [.. padding, .. padding]), B.Ints("dilations", dilation), B.Int("group", conv.groups),
                B.Ints("output_padding", outputPadding));
        }

        private static (long[] Kernel, long[] Stride, long[] Padding, long[] Dilation) Geometry(Convolution conv)
        {
            var k = conv.kernel_size ?? throw new OnnxExportException($"cannot export a {conv.GetType().Name} without a kernel size");
            long[] Or(long[]? values, long fill) => values switch
            {
                null or [] => Enumerable.Repeat(fill, k.Length).ToArray(),
                [var one] => Enumerable.Repeat(one, k.Length).ToArray(),
                _ when values.Length == k.Length => values,
                _ => throw new OnnxExportException($"cannot export a {conv.GetType().Name} with {values.Length} values for {k.Length} spatial dims"),
            };
            return (k, Or(conv.stride, 1), Or(conv.padding, 0), Or(conv.dilation, 1));
        }

        private static bool IsConvNd(Convolution conv, string stem) => conv.GetType().Name is var n && n.StartsWith(stem, StringComparison.Ordinal)
            && n.Length == stem.Length + 2 && n.EndsWith('d') && char.IsDigit(n[^2]);

        private static void CheckConv(string path, Convolution conv, OnnxValue x)
        {
            if (conv.padding_type is not null || conv.padding_mode != PaddingModes.Zeros)
                throw Unsupported(path, conv, "only explicit zero padding is supported");
            if (conv.kernel_size?.Length != x.Rank - 2)
                throw Unsupported(path, conv, $"it has {conv.kernel_size?.Length} spatial dims, its input {x.Rank - 2}");
            if (conv.in_channels != x.Shape[1])
                throw Unsupported(path, conv, $"it takes {conv.in_channels} channels, its input has {x.Shape[1]}");
        }

        private OnnxValue Norm(string path, nn.Module module, OnnxValue x)
        {
            switch (module)
            {
                case Identity:
                    return x;
                case BatchNorm bn when bn.GetType().Name.StartsWith("BatchNorm", StringComparison.Ordinal):
                    if (!bn.track_running_stats || bn.running_mean is null || bn.running_var is null)
                        throw Unsupported(path, module, "batch norm without running statistics normalises by the batch at inference");
                    return G.Add("BatchNormalization", "bn",
                        [x.Name, Affine(path, "weight", bn.weight, bn.num_features, 1f), Affine(path, "bias", bn.bias, bn.num_features, 0f),
                         G.Weight($"{path}.running_mean", bn.running_mean), G.Weight($"{path}.running_var", bn.running_var)],
                        x.Shape, B.Float("epsilon", bn.eps));
                case InstanceNorm inorm:
                    if (inorm.track_running_stats) throw Unsupported(path, module, "instance norm with running statistics is not supported");
                    return G.Add("InstanceNormalization", "in",
                        [x.Name, Affine(path, "weight", inorm.weight, inorm.num_features, 1f), Affine(path, "bias", inorm.bias, inorm.num_features, 0f)],
                        x.Shape, B.Float("epsilon", inorm.eps));
                case GroupNorm gn:
                    return GroupNorm(path, gn, x);
                default:
                    throw Unsupported(path, module);
            }
        }

        // Opset 17 has no GroupNormalization: (N, G, rest) instance norm without affine, back to (N, C, spatial...), then per-channel affine.
        private OnnxValue GroupNorm(string path, GroupNorm gn, OnnxValue x)
        {
            var channels = x.Shape[1];
            var groups = gn.num_groups;
            var grouped = G.AddRaw("Reshape", "grouped", [x.Name, G.Int64s("group_shape", [0, groups, -1])]);
            var normed = G.AddRaw("InstanceNormalization", "gn",
                [grouped, G.Floats("ones", Enumerable.Repeat(1f, (int)groups).ToArray(), [groups]), G.Floats("zeros", new float[groups], [groups])],
                B.Float("epsilon", gn.eps));
            var back = G.AddRaw("Reshape", "ungrouped", [normed, G.Int64s("shape", [0, .. x.Shape[1..]])]);
            if (gn.weight is null && gn.bias is null) return new OnnxValue(back, x.Shape);
            var affineShape = new long[x.Rank - 1];
            Array.Fill(affineShape, 1L);
            affineShape[0] = channels;
            using var w = (gn.weight is { } gw ? gw.detach() : torch.ones(channels)).reshape(affineShape);
            using var b = (gn.bias is { } gb ? gb.detach() : torch.zeros(channels)).reshape(affineShape);
            var scaled = G.AddRaw("Mul", "gn_scaled", [back, G.Weight($"{path}.weight", w)]);
            return G.Add("Add", "gn_out", [scaled, G.Weight($"{path}.bias", b)], x.Shape);
        }

        private string Affine(string path, string name, Tensor? value, long channels, float fill) => value is not null
            ? G.Weight($"{path}.{name}", value)
            : G.Floats($"{path}.{name}", Enumerable.Repeat(fill, (int)channels).ToArray(), [channels]);

        private OnnxValue Gemm(string path, nn.Module module, OnnxValue x)
        {
            if (module is not Linear linear) throw Unsupported(path, module);
            if (linear.in_features != x.Shape[1]) throw Unsupported(path, module, $"it takes {linear.in_features} features, its input has {x.Shape[1]}");
            var inputs = new List<string> { x.Name, G.Weight($"{path}.weight", linear.weight!) };
            if (linear.bias is { } bias) inputs.Add(G.Weight($"{path}.bias", bias));
            return G.Add("Gemm", "gemm", inputs, [-1, linear.out_features], B.Int("transB", 1));
        }

        private OnnxValue Activate(ActivationKind kind, OnnxValue x) => kind switch
        {
            ActivationKind.Relu => Relu(x),
            ActivationKind.LeakyRelu => G.Add("LeakyRelu", "lrelu", [x.Name], x.Shape, B.Float("alpha", 0.01)),
            _ => throw new OnnxExportException($"cannot export activation {kind}"),
        };

        private OnnxValue Relu(OnnxValue x) => G.Add("Relu", "relu", [x.Name], x.Shape);

        private OnnxValue MaxPool(OnnxValue x, long kernel, long stride, long padding, bool ceil)
        {
            var shape = x.Shape.ToArray();
            for (int d = 2; d < shape.Length; d++)
            {
                var span = shape[d] + 2 * padding - kernel;
                var o = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
                if (ceil && (o - 1) * stride >= shape[d] + padding) o--; // PyTorch's rule: the last window starts inside the input
                shape[d] = o;
            }
            var dims = x.Rank - 2;
            return G.Add("MaxPool", "pool", [x.Name], shape, B.Ints("kernel_shape", Enumerable.Repeat(kernel, dims)),
                B.Ints("strides", Enumerable.Repeat(stride, dims)), B.Ints("pads", Enumerable.Repeat(padding, 2 * dims)), B.Int("ceil_mode", ceil ? 1 : 0));
        }

        // ---- module tree ----------------------------------------------------------------------------------------------

        private static IEnumerable<(string Name, nn.Module Module)> Children(nn.Module module) =>
            module.named_children().Select(c => (c.name, (nn.Module)c.module));

        private static nn.Module Child(nn.Module module, string name) =>
            TryChild(module, name) ?? throw new OnnxExportException($"cannot export to ONNX: {module.GetType().Name} has no child module '{name}'", name, module.GetType().FullName);

        private static nn.Module? TryChild(nn.Module module, string name) =>
            module.named_children().Where(c => c.name == name).Select(c => (nn.Module)c.module).FirstOrDefault();

        // A child the exporter does not expect is a layer it would leave out: refuse it by name.
        private static void ExpectChildren(string path, nn.Module module, params string[] allowed)
        {
            foreach (var (name, child) in Children(module))
                if (!allowed.Contains(name))
                    throw Unsupported(path.Length == 0 ? name : $"{path}.{name}", child, $"the exporter does not expect a '{name}' in {module.GetType().Name}");
        }
    }
}
