using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// A network built from a <see cref="NetworkConfig"/>; the config rebuilds it (e.g. when a saved model is loaded).
/// Adds to TorchSharp's module what transfer learning needs: freezing by name prefix (frozen normalisation layers stay in
/// evaluation mode under <c>train()</c>, as smp's freeze_encoder) and a generator for dropout, so a seed decides every
/// random draw of a training run whatever other threads do.
/// </summary>
public abstract class Network : nn.Module<Tensor, Tensor>, IUsesGenerator
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    private readonly HashSet<string> frozenModules = new(StringComparer.Ordinal);

    protected Network(NetworkConfig config) : base(Validated(config).GetType().Name.Replace("Config", ""))
    {
        Config = config;
    }

    private static NetworkConfig Validated(NetworkConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config;
    }

    public NetworkConfig Config { get; }

    /// <summary>Number of parameter elements (trainable or frozen).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Makes every random layer of the network (each submodule that is an <see cref="IUsesGenerator"/>, a user
    /// encoder's own included) draw from <paramref name="generator"/>.</summary>
    public void UseGenerator(Generator? generator)
    {
        foreach (var (_, m) in named_modules())
            if (m is IUsesGenerator random) random.UseGenerator(generator);
    }

    /// <summary>True when the module at <paramref name="path"/> (e.g. <c>encoder.stages.0</c>) is frozen.</summary>
    public bool IsFrozen(string path) => frozenModules.Contains(path);

    /// <summary>Freezes every submodule and parameter whose dotted name equals <paramref name="prefix"/> or lies under it
    /// (<c>"encoder"</c> matches <c>encoder.conv.weight</c>, not <c>encoder2.weight</c>; <c>""</c> is the whole network):
    /// parameters stop requiring gradients and lose theirs, normalisation layers go to evaluation mode and stay there.
    /// Returns how many parameters were frozen.</summary>
    public int Freeze(string prefix) => SetFrozen(prefix, true);

    /// <summary>Undoes <see cref="Freeze"/>. The mode is not changed: call <c>train()</c> afterwards as needed.</summary>
    public int Unfreeze(string prefix) => SetFrozen(prefix, false);

    private int SetFrozen(string prefix, bool frozen)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var trimmed = prefix.TrimEnd('.');
        bool any = trimmed.Length == 0;
        foreach (var (path, m) in named_modules())
            if (UnderPrefix(path, trimmed))
            {
                any = true;
                if (!frozen) frozenModules.Remove(path);
                else
                {
                    frozenModules.Add(path);
                    if (m is NormBase) m.eval();
                }
            }
        int count = 0;
        foreach (var (name, p) in named_parameters())
            if (UnderPrefix(name, trimmed))
            {
                p.requires_grad = !frozen;
                // Optimizers skip a parameter only when its gradient is undefined: a gradient left from before
                // freezing would keep moving it (momentum, Adam moments, weight decay).
                if (frozen) p.grad = null;
                count++;
            }
        if (!any && count == 0)
            throw new ArgumentException($"no module or parameter of {GetType().Name} is named '{prefix}' or lies under it", nameof(prefix));
        return count;
    }

    /// <summary>Sets training mode; frozen normalisation layers stay in evaluation mode.</summary>
    public override void train(bool train = true)
    {
        base.train(train);
        if (!train || frozenModules.Count == 0) return;
        foreach (var (path, m) in named_modules())
            if (m is NormBase && frozenModules.Contains(path)) m.eval();
    }

    internal static bool UnderPrefix(string name, string prefix) =>
        prefix.Length == 0 || name == prefix || (name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length && name[prefix.Length] == '.');
}

/// <summary>A module with random layers (dropout) that can draw from a given generator instead of libtorch's default one.</summary>
public interface IUsesGenerator
{
    /// <summary>Makes every random layer draw from <paramref name="generator"/> (null: libtorch's default generator).</summary>
    void UseGenerator(Generator? generator);
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

/// <summary>Parameters that share an optimizer setting, named after their module prefix (e.g. <c>encoder.stages.2</c>, <c>rest</c>).</summary>
public sealed record NamedParameterGroup(string Name, IReadOnlyList<Parameter> Parameters, double? LearningRate);

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
        ArgumentNullException.ThrowIfNull(encoder);
        Encoder = encoder;
        register_module(EncoderPrefix, encoder);
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
        this.LoadStateDict(stateDict, strict, sourcePrefix, EncoderPrefix + ".");

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
    public IEnumerable<(string Name, Parameter Parameter)> EncoderLevelParameters(int level)
    {
        var prefix = EncoderLevelPrefix(level) + ".";
        return named_parameters().Where(p => p.name.StartsWith(prefix, StringComparison.Ordinal)).Select(p => (p.name, p.parameter));
    }

    /// <summary>Named parameters outside the encoder (decoder, heads).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NonEncoderParameters() =>
        named_parameters().Where(p => !p.name.StartsWith(EncoderPrefix + ".", StringComparison.Ordinal)).Select(p => (p.name, p.parameter));

    /// <summary>
    /// One parameter group per encoder level (named by its prefix, learning rate <paramref name="encoderLearningRate"/>)
    /// and one group <c>rest</c> for everything else (<paramref name="otherLearningRate"/>); null takes the optimizer's default.
    /// Deepest-first unfreezing schedules change the level groups' learning rates or frozen state.
    /// </summary>
    public IReadOnlyList<NamedParameterGroup> LevelParameterGroups(double? encoderLearningRate = null, double? otherLearningRate = null)
    {
        var groups = Enumerable.Range(0, Encoder.Levels)
            .Select(l => new NamedParameterGroup(EncoderLevelPrefix(l), EncoderLevelParameters(l).Select(p => p.Parameter).ToArray(), encoderLearningRate))
            .ToList();
        // Everything outside the level prefixes (the decoder and heads, and any encoder part a user's encoder keeps outside its levels).
        var inLevels = groups.SelectMany(g => g.Parameters).ToHashSet(ReferenceEqualityComparer.Instance);
        groups.Add(new NamedParameterGroup("rest", parameters().Where(p => !inLevels.Contains(p)).ToArray(), otherLearningRate));
        return groups;
    }
}
