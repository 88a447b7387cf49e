using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Optim;

namespace MlNetMedical.Models;

/// <summary>A network built from a <see cref="NetworkConfig"/>; the config rebuilds it (e.g. when a saved model is loaded).</summary>
public abstract class Network : Module
{
    protected Network(NetworkConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
    }

    public NetworkConfig Config { get; }

    /// <summary>Number of parameter elements (trainable or frozen).</summary>
    public long ParameterCount => Parameters().Sum(p => p.NumElements);
}

/// <summary>A network that outputs per-voxel class logits (N, classes, spatial...).</summary>
public interface ISegmentationNetwork
{
    int SegmentationClasses { get; }

    /// <summary>Main logits at input resolution plus deep-supervision logits when the network has them.</summary>
    SegmentationOutput ForwardSegmentation(Tensor input);
}

/// <summary>A network that outputs image-level class logits (N, classes).</summary>
public interface IClassificationNetwork
{
    int Classes { get; }

    Tensor Classify(Tensor input);
}

/// <summary>A network with a segmentation and a classification output from one forward pass.</summary>
public interface IJointNetwork : ISegmentationNetwork, IClassificationNetwork
{
    JointOutput ForwardJoint(Tensor input);
}

/// <summary>
/// Logits at input resolution and, with deep supervision, logits at levels 1..k (1/2, 1/4, ... resolution), in that
/// order. Disposing it disposes every tensor.
/// </summary>
public sealed record SegmentationOutput(Tensor Logits, IReadOnlyList<Tensor> DeepSupervision) : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose();
        foreach (var t in DeepSupervision) t.Dispose();
    }
}

/// <summary>
/// Outputs of a joint network: segmentation logits (N, S, spatial...), class logits (N, K), deep-supervision logits,
/// and for the simple joint network the per-voxel lesion-type logits (N, K, spatial...) that the class is read from.
/// </summary>
public sealed record JointOutput(Tensor SegmentationLogits, Tensor ClassLogits, IReadOnlyList<Tensor> DeepSupervision, Tensor? LesionTypeLogits) : IDisposable
{
    public SegmentationOutput Segmentation => new(SegmentationLogits, DeepSupervision);

    public void Dispose()
    {
        SegmentationLogits.Dispose();
        ClassLogits.Dispose();
        LesionTypeLogits?.Dispose();
        foreach (var t in DeepSupervision) t.Dispose();
    }
}

/// <summary>
/// A network with an <c>encoder</c> (a <see cref="FeatureEncoder"/>). Its encoder levels are named
/// <c>encoder.{LevelName(i)}</c> (e.g. <c>encoder.stages.1</c>), which is what loading a pretrained encoder,
/// freezing the first k levels and per-level parameter groups work on.
/// </summary>
public abstract class EncoderNetwork : Network
{
    public const string EncoderPrefix = "encoder";

    protected EncoderNetwork(NetworkConfig config, FeatureEncoder encoder) : base(config)
    {
        Encoder = RegisterModule(EncoderPrefix, encoder);
    }

    public FeatureEncoder Encoder { get; }

    /// <summary>Full name prefix of encoder level <paramref name="level"/>, e.g. <c>encoder.stages.2</c>.</summary>
    public string EncoderLevelPrefix(int level) => EncoderPrefix + "." + Encoder.LevelName(level);

    /// <summary>Prefixes of all encoder levels, shallowest first.</summary>
    public IReadOnlyList<string> EncoderLevelPrefixes => Enumerable.Range(0, Encoder.Levels).Select(EncoderLevelPrefix).ToArray();

    /// <summary>
    /// Loads the encoder from another model's state dict, mapping <paramref name="sourcePrefix"/> (the source's
    /// encoder, <c>encoder.</c> for every network here) onto <c>encoder.</c>; other keys are reported as ignored.
    /// Strict loading throws unless every encoder key arrives with its shape.
    /// </summary>
    public LoadResult LoadEncoder(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, string sourcePrefix = EncoderPrefix + ".") =>
        LoadStateDict(stateDict, strict, sourcePrefix, EncoderPrefix + ".");

    /// <summary>Freezes the whole encoder (weights and normalisation statistics, as smp's freeze_encoder).</summary>
    public int FreezeEncoder() => Freeze(EncoderPrefix);

    public int UnfreezeEncoder() => Unfreeze(EncoderPrefix);

    /// <summary>Freezes encoder levels 0..<paramref name="count"/>-1 and unfreezes the rest of the encoder. Returns the number of frozen parameters.</summary>
    public int FreezeEncoderLevels(int count)
    {
        if (count < 0 || count > Encoder.Levels)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"level count must be in [0, {Encoder.Levels}]");
        Unfreeze(EncoderPrefix);
        int frozen = 0;
        for (int level = 0; level < count; level++) frozen += Freeze(EncoderLevelPrefix(level));
        return frozen;
    }

    /// <summary>Named parameters of encoder level <paramref name="level"/>.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> EncoderLevelParameters(int level)
    {
        var prefix = EncoderLevelPrefix(level) + ".";
        return NamedParameters().Where(p => p.Name.StartsWith(prefix, StringComparison.Ordinal));
    }

    /// <summary>Named parameters outside the encoder (decoder, heads).</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NonEncoderParameters() =>
        NamedParameters().Where(p => !p.Name.StartsWith(EncoderPrefix + ".", StringComparison.Ordinal));

    /// <summary>
    /// One optimizer group per encoder level (named by its prefix, learning rate <paramref name="encoderLearningRate"/>)
    /// and one group <c>rest</c> for everything else (<paramref name="otherLearningRate"/>); null takes the optimizer's default.
    /// Deepest-first unfreezing schedules change the level groups' learning rates or frozen state.
    /// </summary>
    public IReadOnlyList<ParamGroup> LevelParameterGroups(double? encoderLearningRate = null, double? otherLearningRate = null)
    {
        var groups = Enumerable.Range(0, Encoder.Levels)
            .Select(l => new ParamGroup(EncoderLevelParameters(l).Select(p => p.Parameter), encoderLearningRate, name: EncoderLevelPrefix(l)))
            .ToList();
        groups.Add(new ParamGroup(NonEncoderParameters().Select(p => p.Parameter), otherLearningRate, name: "rest"));
        return groups;
    }
}
