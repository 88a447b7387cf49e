using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;

namespace MlNetMedical.Models;

/// <summary>
/// One U-Net expanding step: upsample the deeper map 2×, match the skip's size, concatenate with the skip, run a
/// <see cref="ConvBlock"/>. Members: <c>up</c> (transposed conv deeper→skip width; absent when interpolating) and <c>block</c>.
/// </summary>
public sealed class DecoderStage : Module
{
    private readonly UpsamplingKind upsampling;

    public DecoderStage(BlockSettings settings, long deeperChannels, long skipChannels, UpsamplingKind upsampling)
    {
        this.upsampling = upsampling;
        long upChannels = deeperChannels;
        if (upsampling == UpsamplingKind.TransposedConv)
        {
            Up = RegisterModule("up", new ConvTranspose(settings.SpatialDims, deeperChannels, skipChannels, 2, stride: 2));
            upChannels = skipChannels;
        }
        Block = RegisterModule("block", new ConvBlock(settings, upChannels + skipChannels, skipChannels));
    }

    public ConvTranspose? Up { get; }
    public ConvBlock Block { get; }

    public Tensor Forward(Tensor deeper, Tensor skip)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var size = skip.Shape[2..];
        var up = upsampling switch
        {
            UpsamplingKind.TransposedConv => MatchSize(Up!.Forward(deeper), size),
            UpsamplingKind.Nearest => Functional.Interpolate(deeper, size, mode: InterpolationMode.Nearest),
            _ => Functional.Interpolate(deeper, size, mode: InterpolationMode.Linear),
        };
        return scope.MoveToOuter(Block.Forward(Tensor.Cat([up, skip], 1)));
    }

    // After a 2× up an odd skip size s is missed by one: max pooling floors (2·floor(s/2) = s-1: zero-pad the far end),
    // strided convs ceil (2·ceil(s/2) = s+1: crop the far end).
    private static Tensor MatchSize(Tensor x, long[] size)
    {
        var have = x.Shape[2..];
        if (have.SequenceEqual(size)) return x;
        var pads = new long[2 * size.Length];
        for (int d = 0; d < size.Length; d++)
        {
            if (have[d] > size[d]) x = x.Narrow(d + 2, 0, size[d]);
            else pads[2 * (size.Length - 1 - d) + 1] = size[d] - have[d];
        }
        return pads.Any(p => p != 0) ? x.Pad(pads) : x;
    }
}

/// <summary>
/// The U-Net expanding path. <c>stages.{level}</c> produces the decoder map at encoder level <c>level</c>
/// (0 = full resolution, Levels-2 = first step up from the bottleneck); it runs deepest first.
/// </summary>
public sealed class UNetDecoder : Module
{
    public UNetDecoder(BlockSettings settings, IReadOnlyList<long> encoderChannels, UpsamplingKind upsampling)
    {
        if (encoderChannels.Count < 2) throw new ArgumentException("a U-Net decoder needs an encoder with at least 2 levels", nameof(encoderChannels));
        Stages = RegisterModule("stages", new ModuleList());
        for (int level = 0; level < encoderChannels.Count - 1; level++)
            Stages.Add(new DecoderStage(settings, encoderChannels[level + 1], encoderChannels[level], upsampling));
        Channels = encoderChannels.Take(encoderChannels.Count - 1).ToArray();
    }

    public ModuleList Stages { get; }

    /// <summary>Channels of the decoder map at each level 0..Levels-2.</summary>
    public IReadOnlyList<long> Channels { get; }

    /// <summary>Decoder maps for levels 0..Levels-2 (index = level) from the encoder's features. The caller owns them.</summary>
    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> encoderFeatures)
    {
        if (encoderFeatures.Count != Stages.Count + 1)
            throw new ArgumentException($"decoder expects {Stages.Count + 1} encoder features, got {encoderFeatures.Count}", nameof(encoderFeatures));
        var outputs = new Tensor[Stages.Count];
        var deeper = encoderFeatures[^1];
        for (int level = Stages.Count - 1; level >= 0; level--)
            deeper = outputs[level] = ((DecoderStage)Stages[level]).Forward(deeper, encoderFeatures[level]);
        return outputs;
    }
}
