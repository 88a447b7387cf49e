using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Y-Net (Mehta et al., MICCAI 2018): a U-Net plus a classification branch off the bottleneck: <c>classifier.down.{i}</c>
/// (2× max pool, ceil mode so tiny bottlenecks survive, then a conv block), global average pooling and fully connected
/// layers 128 → 64 → classes (<c>classifier.head.*</c>).
/// </summary>
public sealed class YNet : UNetBase, IJointNetwork
{
    public YNet(YNetConfig config) : base(config, UNetOf(config, c => c.UNet))
    {
        Classifier = new YNetBranch(config.UNet.Encoder.DecoderBlockSettings(), Encoder.Channels[^1], config);
        register_module("classifier", Classifier);
        Classes = config.NumClasses;
    }

    public YNetBranch Classifier { get; }
    public int Classes { get; }

    /// <summary>Class logits (as <see cref="Classify"/>).</summary>
    public override Tensor forward(Tensor input) => Classify(input);

    public JointOutput ForwardJoint(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var (encoded, decoded) = EncodeDecode(input);
        var seg = SegmentationLogits(decoded);
        return KeepJoint(scope, seg, Classifier.call(encoded[^1]), null);
    }

    /// <summary>Class logits only (the decoder is not run).</summary>
    public Tensor Classify(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(Classifier.call(Encoder.call(input)));
    }
}

/// <summary>Y-Net's classification branch: <c>down.{i}</c> blocks (2× max pool in ceil mode, then a conv block) and <c>head</c>.</summary>
public sealed class YNetBranch : nn.Module<Tensor, Tensor>
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    public YNetBranch(BlockSettings settings, long bottleneckChannels, YNetConfig config) : base(nameof(YNetBranch))
    {
        Down = new ModuleList<ConvBlock>();
        var width = bottleneckChannels;
        var branchWidth = config.BranchChannels ?? bottleneckChannels;
        for (int i = 0; i < config.ExtraDownBlocks; i++)
        {
            Down.Add(new ConvBlock(settings, width, branchWidth));
            width = branchWidth;
        }
        Head = new ClassificationHead([width], new ClassificationHeadConfig
        {
            NumClasses = config.NumClasses, Pooling = PoolingKind.Average, Dropout = config.Dropout, HiddenUnits = config.HiddenUnits,
        });
        register_module("down", Down);
        register_module("head", Head);
    }

    public ModuleList<ConvBlock> Down { get; }
    public ClassificationHead Head { get; }

    /// <summary>Class logits (N, classes) from the bottleneck feature map.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = input;
        foreach (var block in Down) x = block.call(Layers.MaxPool(x, 2, ceilMode: true));
        return scope.MoveToOuter(Head.Forward([x]));
    }
}

/// <summary>
/// "Simple joint" network, our reading of Heker &amp; Greenspan (MIDL 2020): one U-Net whose decoder feeds the
/// segmentation head, a 1×1 <c>lesion_type_head</c> giving a per-voxel lesion-type map (N, K, spatial...), and a
/// <c>classifier</c> head that reads the image class from (a) the lesion-type logits averaged over the predicted lesion
/// (weights = 1 − P(background), or sigmoid of a single seg channel) and (b) globally pooled decoder maps.
/// </summary>
public sealed class SimpleJointNet : UNetBase, IJointNetwork
{
    public SimpleJointNet(SimpleJointConfig config) : base(config, UNetOf(config, c => c.UNet))
    {
        var dims = config.UNet.Encoder.SpatialDims;
        LesionTypeHead = Layers.Conv(dims, Decoder.Channels[0], config.NumClasses, 1);
        Classifier = new ClassificationHead(Decoder.Channels, config.ClassifierHead(Decoder.Channels.Count), config.NumClasses);
        register_module("lesion_type_head", LesionTypeHead);
        register_module("classifier", Classifier);
        Classes = config.NumClasses;
    }

    public Convolution LesionTypeHead { get; }
    public ClassificationHead Classifier { get; }
    public int Classes { get; }

    /// <summary>Class logits (as <see cref="Classify"/>).</summary>
    public override Tensor forward(Tensor input) => Classify(input);

    public JointOutput ForwardJoint(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var (_, decoded) = EncodeDecode(input);
        var seg = SegmentationLogits(decoded);
        var typeMap = LesionTypeHead.call(decoded[0]);
        return KeepJoint(scope, seg, Classifier.Forward(decoded, LesionTypeReadout(seg.Logits, typeMap)), typeMap);
    }

    public Tensor Classify(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(ForwardJoint(input).ClassLogits);
    }

    /// <summary>Mean lesion-type logits over the soft lesion mask: (N, K).</summary>
    public static Tensor LesionTypeReadout(Tensor segmentationLogits, Tensor typeLogits)
    {
        using var scope = torch.NewDisposeScope();
        var lesion = segmentationLogits.shape[1] == 1
            ? segmentationLogits.sigmoid()
            : 1.0 - segmentationLogits.softmax(1).narrow(1, 0, 1);
        var dims = Enumerable.Range(2, (int)typeLogits.dim() - 2).Select(d => (long)d).ToArray();
        var weighted = (typeLogits * lesion).sum(dims);
        var mass = lesion.sum(dims) + 1e-6;
        return scope.MoveToOuter(weighted / mass);
    }
}
