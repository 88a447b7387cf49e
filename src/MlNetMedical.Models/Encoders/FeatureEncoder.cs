using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;

namespace MlNetMedical.Models;

/// <summary>
/// An encoder that returns one feature map per level (smp's encoder contract). Level 0 is at full resolution,
/// level i at 1/2^i (each halving floors odd sizes with max pooling, ceils them with strided convs). Each level's parameters live under one name prefix
/// (<see cref="LevelName"/>), which is what level-wise freezing and per-level parameter groups use.
/// </summary>
public abstract class FeatureEncoder : Module
{
    private readonly long[] channels;

    protected FeatureEncoder(EncoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        channels = config.LevelChannels();
        SpatialDims = config.SpatialDims;
        InChannels = config.InChannels;
    }

    /// <summary>Number of levels (feature maps returned by <see cref="Features"/>).</summary>
    public int Levels => channels.Length;

    /// <summary>Channels of each level's feature map.</summary>
    public IReadOnlyList<long> Channels => channels;

    public int SpatialDims { get; }

    public int InChannels { get; }

    /// <summary>The module name (relative to the encoder) holding level <paramref name="level"/>'s parameters, e.g. <c>stages.2</c>.</summary>
    public string LevelName(int level) =>
        level >= 0 && level < Levels ? LevelNameOf(level) : throw new ArgumentOutOfRangeException(nameof(level), level, $"encoder has levels 0..{Levels - 1}");

    protected abstract string LevelNameOf(int level);

    /// <summary>Feature maps of every level, shallowest first. The caller owns (and disposes) them.</summary>
    public abstract IReadOnlyList<Tensor> Features(Tensor input);

    /// <summary>The deepest feature map.</summary>
    public override Tensor Forward(Tensor input)
    {
        var features = Features(input);
        for (int i = 0; i < features.Count - 1; i++) features[i].Dispose();
        return features[^1];
    }

    /// <summary>Smallest size each spatial dim may have: 2^(levels-1), so the deepest level has at least one voxel.</summary>
    public long MinimumInputSize => 1L << (Levels - 1);

    /// <summary>Throws unless <paramref name="input"/> is (N, C, spatial...) with the encoder's channels and dims and large enough.</summary>
    protected void CheckInput(Tensor input)
    {
        var shape = input.Shape;
        if (shape.Length != SpatialDims + 2)
            throw new ArgumentException($"{GetType().Name} with {SpatialDims} spatial dims expects (N, C, {string.Join(", ", Enumerable.Repeat("S", SpatialDims))}) input, got [{string.Join(", ", shape)}]", nameof(input));
        if (shape[1] != InChannels)
            throw new ArgumentException($"{GetType().Name} expects {InChannels} input channel(s), got {shape[1]} (input shape [{string.Join(", ", shape)}])", nameof(input));
        for (int d = 2; d < shape.Length; d++)
            if (shape[d] < MinimumInputSize)
                throw new ArgumentException($"{GetType().Name} with {Levels} levels needs every spatial dim >= {MinimumInputSize}, got [{string.Join(", ", shape)}]", nameof(input));
    }

    /// <summary>Channel count at <paramref name="level"/>: base · multiplier^level, rounded half away from zero, capped at <paramref name="maxChannels"/>.</summary>
    internal static long LevelChannels(int baseChannels, double multiplier, int maxChannels, int level) =>
        Math.Min(maxChannels, (long)Math.Round(baseChannels * Math.Pow(multiplier, level), MidpointRounding.AwayFromZero));
}
