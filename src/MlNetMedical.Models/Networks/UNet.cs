using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Encoder, decoder and 1×1 segmentation heads of a U-Net, shared by <see cref="UNet"/>, <see cref="YNet"/> and
/// <see cref="SimpleJointNet"/> so all of them carry the same parameter names (<c>encoder.*</c>, <c>decoder.*</c>,
/// <c>segmentation_head.*</c>, <c>deep_supervision_heads.level{k}.*</c>): a pretrained U-Net's state dict loads into
/// the joint networks non-strictly, leaving only their classification parts missing.
/// </summary>
public abstract class UNetBase : EncoderNetwork, ISegmentationNetwork
{
    /// <param name="config">The whole network's config (validated here).</param>
    /// <param name="unet">Its U-Net part.</param>
    protected UNetBase(NetworkConfig config, UNetConfig unet) : base(config, Validated(config, unet).Encoder.Build())
    {
        UNetConfig = unet;
        var settings = unet.Encoder.DecoderBlockSettings();
        Decoder = new UNetDecoder(settings, Encoder.Channels, unet.Upsampling);
        register_module("decoder", Decoder);
        SegmentationHead = Layers.Conv(settings.SpatialDims, Decoder.Channels[0], unet.NumClasses, 1);
        register_module("segmentation_head", SegmentationHead);
        if (unet.DeepSupervisionOutputs > 0)
        {
            DeepSupervisionHeads = new ModuleDict<Convolution>();
            for (int level = 1; level <= unet.DeepSupervisionOutputs; level++)
                DeepSupervisionHeads.Add($"level{level}", Layers.Conv(settings.SpatialDims, Decoder.Channels[level], unet.NumClasses, 1));
            register_module("deep_supervision_heads", DeepSupervisionHeads);
        }
    }

    private static UNetConfig Validated(NetworkConfig config, UNetConfig unet)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(unet);
        config.Validate();
        return unet;
    }

    /// <summary>The U-Net part of a joint network's config, or an <see cref="ArgumentNullException"/>.</summary>
    protected static UNetConfig UNetOf<T>(T? config, Func<T, UNetConfig> part) where T : NetworkConfig =>
        part(config ?? throw new ArgumentNullException(nameof(config)));

    public UNetConfig UNetConfig { get; }
    public UNetDecoder Decoder { get; }
    public Convolution SegmentationHead { get; }
    public ModuleDict<Convolution>? DeepSupervisionHeads { get; }
    public int SegmentationClasses => UNetConfig.NumClasses;

    public SegmentationOutput ForwardSegmentation(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var (_, decoded) = EncodeDecode(input);
        return Keep(scope, SegmentationLogits(decoded));
    }

    /// <summary>Encoder features (levels 0..L-1) and decoder maps (levels 0..L-2). Call inside a dispose scope.</summary>
    protected (IReadOnlyList<Tensor> Encoded, IReadOnlyList<Tensor> Decoded) EncodeDecode(Tensor input)
    {
        var encoded = Encoder.Features(input);
        return (encoded, Decoder.Forward(encoded));
    }

    /// <summary>Main and deep-supervision logits from the decoder maps. Call inside a dispose scope.</summary>
    protected SegmentationOutput SegmentationLogits(IReadOnlyList<Tensor> decoded)
    {
        var deep = new List<Tensor>();
        if (DeepSupervisionHeads != null)
            for (int level = 1; level <= UNetConfig.DeepSupervisionOutputs; level++)
                deep.Add(DeepSupervisionHeads[$"level{level}"].call(decoded[level]));
        return new SegmentationOutput(SegmentationHead.call(decoded[0]), deep);
    }

    private static SegmentationOutput Keep(DisposeScope scope, SegmentationOutput output) =>
        new(scope.MoveToOuter(output.Logits), output.DeepSupervision.Select(scope.MoveToOuter).ToArray());

    /// <summary>A joint output whose tensors are handed from <paramref name="scope"/> to the caller.</summary>
    protected static JointOutput KeepJoint(DisposeScope scope, SegmentationOutput segmentation, Tensor classLogits, Tensor? lesionTypeLogits)
    {
        var seg = Keep(scope, segmentation);
        return new JointOutput(seg.Logits, scope.MoveToOuter(classLogits), seg.DeepSupervision, lesionTypeLogits is null ? null : scope.MoveToOuter(lesionTypeLogits));
    }
}

/// <summary>
/// U-Net for 2D or 3D segmentation (see <see cref="UNetConfig"/>). <c>forward</c> returns the
/// logits at input resolution; <see cref="UNetBase.ForwardSegmentation"/> adds deep-supervision outputs. Any input size
/// works when each spatial dim is at least 2^(Depth-1): an odd size is floored by max pooling (ceiled by a strided conv),
/// and the upsampled map is zero-padded (cropped) at the far end to the skip's size, so the output always matches the
/// input size. Sizes divisible by 2^(Depth-1) need no padding or cropping.
/// </summary>
public sealed class UNet(UNetConfig config) : UNetBase(config, config)
{
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var (_, decoded) = EncodeDecode(input);
        return scope.MoveToOuter(SegmentationHead.call(decoded[0]));
    }
}
