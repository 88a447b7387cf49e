using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// One U-Net expanding step: upsample the deeper map 2×, match the skip's size, concatenate with the skip, run a
/// <see cref="ConvBlock"/>. Members: <c>up</c> (transposed conv deeper→skip width; absent when interpolating) and <c>block</c>.
/// </summary>
public sealed class DecoderStage : nn.Module<Tensor, Tensor>
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    private readonly UpsamplingKind upsampling;

    public DecoderStage(BlockSettings settings, long deeperChannels, long skipChannels, UpsamplingKind upsampling) : base(nameof(DecoderStage))
    {
        this.upsampling = upsampling;
        long upChannels = deeperChannels;
        if (upsampling == UpsamplingKind.TransposedConv)
        {
            Up = Layers.ConvTranspose(settings.SpatialDims, deeperChannels, skipChannels, 2, 2);
            register_module("up", Up);
            upChannels = skipChannels;
        }
        Block = new ConvBlock(settings, upChannels + skipChannels, skipChannels);
        register_module("block", Block);
    }

    public ConvolutionTranspose? Up { get; }
    public ConvBlock Block { get; }

    /// <summary>How the deeper map is doubled (read by the ONNX exporter).</summary>
    internal UpsamplingKind Upsampling => upsampling;

    public override Tensor forward(Tensor input) => throw new NotSupportedException("a decoder stage takes the deeper map and the skip: call Forward(deeper, skip)");

    public Tensor Forward(Tensor deeper, Tensor skip)
    {
        using var scope = torch.NewDisposeScope();
        var size = skip.shape[2..];
        var up = upsampling switch
        {
            UpsamplingKind.TransposedConv => MatchSize(Up!.call(deeper), size),
            UpsamplingKind.Nearest => Layers.Resize(deeper, size, linear: false),
            _ => Layers.Resize(deeper, size, linear: true),
        };
        return scope.MoveToOuter(Block.call(torch.cat([up, skip], 1)));
    }

    // After a 2× up an odd skip size s is missed by one: max pooling floors (2·floor(s/2) = s-1: zero-pad the far end),
    // strided convs ceil (2·ceil(s/2) = s+1: crop the far end).
    private static Tensor MatchSize(Tensor x, long[] size)
    {
        var have = x.shape[2..];
        if (have.SequenceEqual(size)) return x;
        var pads = new long[2 * size.Length];
        for (int d = 0; d < size.Length; d++)
        {
            if (have[d] > size[d]) x = x.narrow(d + 2, 0, size[d]);
            else pads[2 * (size.Length - 1 - d) + 1] = size[d] - have[d];
        }
        return pads.Any(p => p != 0) ? nn.functional.pad(x, pads) : x;
    }
}

/// <summary>
/// The U-Net expanding path. <c>stages.{level}</c> produces the decoder map at encoder level <c>level</c>
/// (0 = full resolution, Levels-2 = first step up from the bottleneck); it runs deepest first.
/// </summary>
public sealed class UNetDecoder : nn.Module<Tensor, Tensor>
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    public UNetDecoder(BlockSettings settings, IReadOnlyList<long> encoderChannels, UpsamplingKind upsampling) : base(nameof(UNetDecoder))
    {
        if (encoderChannels.Count < 2) throw new ArgumentException("a U-Net decoder needs an encoder with at least 2 levels", nameof(encoderChannels));
        Stages = new ModuleList<DecoderStage>();
        for (int level = 0; level < encoderChannels.Count - 1; level++)
            Stages.Add(new DecoderStage(settings, encoderChannels[level + 1], encoderChannels[level], upsampling));
        register_module("stages", Stages);
        Channels = encoderChannels.Take(encoderChannels.Count - 1).ToArray();
    }

    public ModuleList<DecoderStage> Stages { get; }

    /// <summary>Channels of the decoder map at each level 0..Levels-2.</summary>
    public IReadOnlyList<long> Channels { get; }

    /// <summary>The full-resolution decoder map of a single input holding the deepest feature map is not defined: use <see cref="Forward"/>.</summary>
    public override Tensor forward(Tensor input) => throw new NotSupportedException("a U-Net decoder takes every encoder level: call Forward(features)");

    /// <summary>Decoder maps for levels 0..Levels-2 (index = level) from the encoder's features. The caller owns them.</summary>
    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> encoderFeatures)
    {
        if (encoderFeatures.Count != Stages.Count + 1)
            throw new ArgumentException($"decoder expects {Stages.Count + 1} encoder features, got {encoderFeatures.Count}", nameof(encoderFeatures));
        var outputs = new Tensor[Stages.Count];
        var deeper = encoderFeatures[^1];
        for (int level = Stages.Count - 1; level >= 0; level--)
            deeper = outputs[level] = Stages[level].Forward(deeper, encoderFeatures[level]);
        return outputs;
    }
}
