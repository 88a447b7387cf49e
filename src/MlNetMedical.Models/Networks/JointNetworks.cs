using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;

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
        Classifier = RegisterModule("classifier", new YNetBranch(config.UNet.Encoder.BlockSettings(), Encoder.Channels[^1], config));
        Classes = config.NumClasses;
    }

    public YNetBranch Classifier { get; }
    public int Classes { get; }

    public JointOutput ForwardJoint(Tensor input)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var (encoded, decoded) = EncodeDecode(input);
        var seg = SegmentationLogits(decoded);
        return KeepJoint(scope, seg, Classifier.Forward(encoded[^1]), null);
    }

    /// <summary>Class logits only (the decoder is not run).</summary>
    public Tensor Classify(Tensor input)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        return scope.MoveToOuter(Classifier.Forward(Encoder.Forward(input)));
    }
}

/// <summary>Y-Net's classification branch: <c>down.{i}</c> blocks (2× max pool in ceil mode, then a conv block) and <c>head</c>.</summary>
public sealed class YNetBranch : Module
{
    public YNetBranch(BlockSettings settings, long bottleneckChannels, YNetConfig config)
    {
        Down = RegisterModule("down", new ModuleList());
        var width = bottleneckChannels;
        var branchWidth = config.BranchChannels ?? bottleneckChannels;
        for (int i = 0; i < config.ExtraDownBlocks; i++)
        {
            Down.Add(new ConvBlock(settings, width, branchWidth));
            width = branchWidth;
        }
        Head = RegisterModule("head", new ClassificationHead([width], new ClassificationHeadConfig
        {
            NumClasses = config.NumClasses, Pooling = PoolingKind.Average, Dropout = config.Dropout, HiddenUnits = config.HiddenUnits,
        }));
    }

    public ModuleList Down { get; }
    public ClassificationHead Head { get; }

    /// <summary>Class logits (N, classes) from the bottleneck feature map.</summary>
    public override Tensor Forward(Tensor input)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var x = input;
        foreach (var block in Down) x = block.Forward(Functional.MaxPool(x, [2], ceilMode: true));
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
        LesionTypeHead = RegisterModule("lesion_type_head", Layers.Conv(dims, Decoder.Channels[0], config.NumClasses, 1));
        Classifier = RegisterModule("classifier", new ClassificationHead(Decoder.Channels, config.ClassifierHead(Decoder.Channels.Count), config.NumClasses));
        Classes = config.NumClasses;
    }

    public Conv LesionTypeHead { get; }
    public ClassificationHead Classifier { get; }
    public int Classes { get; }

    public JointOutput ForwardJoint(Tensor input)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var (_, decoded) = EncodeDecode(input);
        var seg = SegmentationLogits(decoded);
        var typeMap = LesionTypeHead.Forward(decoded[0]);
        return KeepJoint(scope, seg, Classifier.Forward(decoded, LesionTypeReadout(seg.Logits, typeMap)), typeMap);
    }

    public Tensor Classify(Tensor input)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        return scope.MoveToOuter(ForwardJoint(input).ClassLogits);
    }

    /// <summary>Mean lesion-type logits over the soft lesion mask: (N, K).</summary>
    public static Tensor LesionTypeReadout(Tensor segmentationLogits, Tensor typeLogits)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var lesion = segmentationLogits.Size(1) == 1
            ? segmentationLogits.Sigmoid()
            : 1.0 - segmentationLogits.Softmax(1).Narrow(1, 0, 1);
        var dims = Enumerable.Range(2, (int)typeLogits.Dim - 2).Select(d => (long)d).ToArray();
        var weighted = (typeLogits * lesion).Sum(dims);
        var mass = lesion.Sum(dims) + 1e-6;
        return scope.MoveToOuter(weighted / mass);
    }
}
