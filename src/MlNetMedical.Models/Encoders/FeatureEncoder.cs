using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// The encoder contract (smp's): an input batch (N, C, spatial...) in, one feature map per level out, shallowest first,
/// with known channels per level. Each level's parameters live under one module name (<see cref="LevelName"/>, e.g.
/// <c>stages.2</c>), which level-wise freezing and per-level parameter groups use. The built-in U-Net and ResNet encoders
/// derive from it, and so can a user's own TorchSharp encoder: such an encoder can be featurised, frozen, fine-tuned and
/// loaded with PyTorch weights wherever the built-in one can (see the README's "Bring your own encoder").
/// </summary>
public abstract class FeatureEncoder : nn.Module<Tensor, Tensor>
{
    private readonly long[] channels;

    /// <param name="name">Module name (TorchSharp's).</param>
    /// <param name="spatialDims">2 for images, 3 for volumes (1 also works).</param>
    /// <param name="inChannels">Channels of the input batch.</param>
    /// <param name="levelChannels">Channels of each level's feature map, shallowest first.</param>
    protected FeatureEncoder(string name, int spatialDims, int inChannels, IReadOnlyList<long> levelChannels) : base(name)
    {
        ArgumentNullException.ThrowIfNull(levelChannels);
        if (spatialDims is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(spatialDims), spatialDims, "spatial dims must be 1, 2 or 3");
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "an encoder needs at least one input channel");
        if (levelChannels.Count == 0 || levelChannels.Any(c => c < 1))
            throw new ArgumentException($"an encoder needs at least one level and positive channel counts, got [{string.Join(", ", levelChannels)}]", nameof(levelChannels));
        channels = levelChannels.ToArray();
        SpatialDims = spatialDims;
        InChannels = inChannels;
    }

    /// <summary>For the built-in encoders: dims, input channels and level widths from a validated config.</summary>
    protected FeatureEncoder(EncoderConfig config) : this(Validated(config).GetType().Name.Replace("Config", ""), config.SpatialDims, config.InChannels, config.LevelChannels())
    {
    }

    private static EncoderConfig Validated(EncoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config;
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

    /// <summary>The module name of level <paramref name="level"/> (already range-checked).</summary>
    protected abstract string LevelNameOf(int level);

    /// <summary>Feature maps of every level, shallowest first. The caller owns (and disposes) them.</summary>
    public abstract IReadOnlyList<Tensor> Features(Tensor input);

    /// <summary>The deepest feature map.</summary>
    public override Tensor forward(Tensor input)
    {
        var features = Features(input);
        for (int i = 0; i < features.Count - 1; i++) features[i].Dispose();
        return features[^1];
    }

    /// <summary>Smallest size each spatial dim may have: 2^(levels-1), so the deepest level has at least one voxel.</summary>
    public virtual long MinimumInputSize => 1L << (Levels - 1);

    /// <summary>Throws unless <paramref name="input"/> is (N, C, spatial...) with the encoder's channels and dims and large enough.</summary>
    protected void CheckInput(Tensor input)
    {
        var shape = input.shape;
        var name = GetType().Name;
        if (shape.Length != SpatialDims + 2)
            throw new ArgumentException($"{name} with {SpatialDims} spatial dims expects (N, C, {string.Join(", ", Enumerable.Repeat("S", SpatialDims))}) input, got [{string.Join(", ", shape)}]", nameof(input));
        if (shape[1] != InChannels)
            throw new ArgumentException($"{name} expects {InChannels} input channel(s), got {shape[1]} (input shape [{string.Join(", ", shape)}])", nameof(input));
        for (int d = 2; d < shape.Length; d++)
            if (shape[d] < MinimumInputSize)
                throw new ArgumentException($"{name} with {Levels} levels needs every spatial dim >= {MinimumInputSize}, got [{string.Join(", ", shape)}]", nameof(input));
    }

    /// <summary>Channel count at <paramref name="level"/>: base · multiplier^level, rounded half away from zero, capped at <paramref name="maxChannels"/>.</summary>
    internal static long LevelChannels(int baseChannels, double multiplier, int maxChannels, int level) =>
        Math.Min(maxChannels, (long)Math.Round(baseChannels * Math.Pow(multiplier, level), MidpointRounding.AwayFromZero));
}
