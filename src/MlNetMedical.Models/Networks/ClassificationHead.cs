using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Image-level classifier over feature maps: global pooling (average, max or both) of the chosen levels,
/// concatenated with optional extra per-image features, then dropout before every linear layer of an MLP
/// (<c>hidden.{i}</c> with ReLU, then <c>output</c>). With no hidden layers it is smp's pool → dropout → linear head.
/// </summary>
public sealed class ClassificationHead : nn.Module<Tensor, Tensor>, IUsesGenerator
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    private readonly int[] levels;
    private readonly PoolingKind pooling;
    private readonly double dropout;

    /// <param name="featureChannels">Channels of every feature map the head will be given.</param>
    /// <param name="config">Levels (negative counts from the deepest), pooling, dropout, hidden units, classes.</param>
    /// <param name="extraFeatures">Width of per-image features appended after pooling (0 for none).</param>
    public ClassificationHead(IReadOnlyList<long> featureChannels, ClassificationHeadConfig config, long extraFeatures = 0) : base(nameof(ClassificationHead))
    {
        ArgumentNullException.ThrowIfNull(featureChannels);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        levels = config.ResolveLevels(featureChannels.Count);
        pooling = config.Pooling;
        dropout = config.Dropout;
        ExtraFeatures = extraFeatures;
        PooledWidth = levels.Sum(l => Layers.PooledWidth(featureChannels[l], pooling));
        Hidden = new ModuleList<Linear>();
        long width = PooledWidth + extraFeatures;
        foreach (var units in config.HiddenUnits)
        {
            Hidden.Add(Layers.Linear(width, units));
            width = units;
        }
        Output = Layers.Linear(width, config.NumClasses);
        register_module("hidden", Hidden);
        register_module("output", Output);
    }

    public ModuleList<Linear> Hidden { get; }
    public Linear Output { get; }

    /// <summary>The generator dropout draws from (null: libtorch's default generator).</summary>
    public Generator? DropoutGenerator { get; private set; }

    /// <inheritdoc/>
    public void UseGenerator(Generator? generator) => DropoutGenerator = generator;

    /// <summary>The feature levels this head reads (resolved to non-negative indices).</summary>
    public IReadOnlyList<int> Levels => levels;

    /// <summary>Width of the pooled feature vector (before extra features).</summary>
    public long PooledWidth { get; }

    public long ExtraFeatures { get; }

    /// <summary>The global pooling of each level (read by the ONNX exporter; dropout is the identity at inference).</summary>
    internal PoolingKind Pooling => pooling;

    /// <summary>Pooled, concatenated features of the chosen levels: (N, <see cref="PooledWidth"/>).</summary>
    public Tensor PooledFeatures(IReadOnlyList<Tensor> features) => Layers.GlobalPool(features, levels, pooling);

    /// <summary>Class logits (N, classes) from the feature maps and, when the head has them, extra features (N, extra).</summary>
    public Tensor Forward(IReadOnlyList<Tensor> features, Tensor? extra = null)
    {
        if ((extra is null) != (ExtraFeatures == 0))
            throw new ArgumentException($"this head expects {ExtraFeatures} extra feature(s) per image", nameof(extra));
        using var scope = torch.NewDisposeScope();
        var x = PooledFeatures(features);
        if (extra is not null) x = torch.cat([x, extra], 1);
        foreach (var layer in Hidden)
            x = nn.functional.relu(layer.call(Layers.Dropout(x, dropout, training, DropoutGenerator)));
        return scope.MoveToOuter(Output.call(Layers.Dropout(x, dropout, training, DropoutGenerator)));
    }

    public override Tensor forward(Tensor input) => Forward([input]);
}
