using System.Globalization;
using Microsoft.ML.Trainers;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;
using MlNetMedical.Training;

namespace MlNetMedical.AutoML;

/// <summary>Settings every branch of the transfer-strategy sweep shares (the budget of one trial).</summary>
public sealed record TransferStrategyOptions
{
    /// <summary>Epochs per trial, the same for every branch so the pruner compares like with like.</summary>
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 16;
    /// <summary>Share of the training groups each trainer holds out for its per-epoch validation when the trial brings no validation
    /// rows (<see cref="TrialTraining.ValidationData"/>; an <c>AutoMLExperiment</c> always brings its validation split or fold).</summary>
    public double ValidationFraction { get; init; } = 0.2;
    /// <summary>Epochs without improvement before a trial stops by itself (0 = never).</summary>
    public int EarlyStoppingPatience { get; init; }
    /// <summary>The branches to sweep (<see cref="TransferStrategy.AllStrategies"/>); null = every one of
    /// <see cref="TransferStrategy.DefaultStrategies"/> the data and the pretrained model allow (<c>imagenet-features</c> only when listed).</summary>
    public IReadOnlyList<string>? Strategies { get; init; }
    public ImageColumns Columns { get; init; } = new();
    /// <summary>Augmentation of training images, usually the library's <c>Augmentations.From(config, seed)</c> (fine-tune, joint and
    /// scratch branches; the frozen branches train on fixed features). Null = none.</summary>
    public SampleAugmenter? Augmentation { get; init; }
    /// <summary>Image dimensionality and channels for the scratch CNN when there is no pretrained model to take them from.</summary>
    public int SpatialDims { get; init; } = 2;
    public int InChannels { get; init; } = 1;
    /// <summary>The folder of the ResNet18 ONNX models the <c>imagenet-features</c> branch runs (see <c>ml.Transforms.ImageNetFeatures</c>);
    /// null = the <c>DnnImageModels</c> folder the <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> package copies next to the application.</summary>
    public string? ImageNetModelDirectory { get; init; }
    /// <summary>Height and width slices are resized to in the <c>imagenet-fine-tune</c> branch (see <see cref="ImageNetEncoderConfig.InputSize"/>).</summary>
    public int ImageNetInputSize { get; init; } = ImageNetEncoderConfig.DefaultInputSize;
}

/// <summary>
/// The built-in "transfer strategy" sweep over the core trainers, with ranges around the papers' settings so a sweep needs no
/// configuration. One choice, <c>strategy</c>, picks the branch; each branch has its own parameters (<c>strategy.finetune.lr</c>):
/// <list type="bullet">
/// <item><c>frozen-softmax</c>, <c>frozen-mlp</c>: the pretrained encoder's pooled features (<c>levels</c>, <c>pooling</c>) and
/// ML.NET's <c>LbfgsMaximumEntropy</c> on the standardised features (<c>l2</c>; L-BFGS has no epochs, so this branch reports
/// nothing to the pruner) or an MLP (<c>lr</c>, <c>hidden</c>, <c>dropout</c>);</item>
/// <item><c>finetune</c>: the encoder plus a head trained end to end (<c>freeze</c> mode, <c>lr</c>, <c>encoder_lr_factor</c>, head <c>levels</c>, <c>dropout</c>);</item>
/// <item><c>joint</c>: segmentation + classification from the pretrained U-Net (<c>topology</c>, λ = <c>lambda</c>, <c>lr</c>,
/// <c>encoder_lr_factor</c>, <c>freeze</c>), only when the rows have masks;</item>
/// <item><c>scratch</c>: a plain CNN (<c>lr</c>, <c>base_channels</c>, <c>dropout</c>);</item>
/// <item><c>imagenet-features</c>: ImageNet-pretrained ResNet18 features (<c>ml.Transforms.ImageNetFeatures</c>, 512 per image) and
/// the same L-BFGS softmax regression as <c>frozen-softmax</c> (<c>l2</c>); needs no pretrained model, and is swept only when
/// <see cref="TransferStrategyOptions.Strategies"/> lists it (it is not in <see cref="DefaultStrategies"/>);</item>
/// <item><c>imagenet-fine-tune</c>: ImageNet's ResNet18 fine-tuned end to end (<c>ml.MulticlassClassification.Trainers.ImageNetFineTuned</c>
/// at <see cref="TransferStrategyOptions.ImageNetInputSize"/>²; <c>freeze</c>, <c>lr</c>, <c>encoder_lr_factor</c>, <c>dropout</c>); needs
/// no pretrained model, and is swept only when listed.</item>
/// </list>
/// Without a pretrained model only <c>scratch</c> (and the two ImageNet branches, when listed) remains.
/// </summary>
public sealed class TransferStrategy : ISweepablePipeline
{
    public const string FrozenSoftmax = "frozen-softmax", FrozenMlp = "frozen-mlp", FineTune = "finetune", Joint = "joint", Scratch = "scratch",
        ImageNetFeatures = "imagenet-features", ImageNetFineTune = "imagenet-fine-tune";
    public const string ChoiceName = "strategy";

    /// <summary>Every branch name <see cref="TransferStrategyOptions.Strategies"/> may list.</summary>
    public static IReadOnlyList<string> AllStrategies { get; } = [FrozenSoftmax, FrozenMlp, FineTune, Joint, Scratch, ImageNetFeatures, ImageNetFineTune];

    /// <summary>The branches swept when <see cref="TransferStrategyOptions.Strategies"/> is null (those the data and the pretrained
    /// model allow): all but <c>imagenet-features</c>, which runs ResNet18 on every 224² image of every trial (about 0.1 s an image
    /// on one CPU core), and <c>imagenet-fine-tune</c>, which trains ResNet18 (about 1.5 GFLOP an image and epoch at 112²); each is
    /// swept only when listed.</summary>
    public static IReadOnlyList<string> DefaultStrategies { get; } = [FrozenSoftmax, FrozenMlp, FineTune, Joint, Scratch];

    /// <summary>Whether a branch transfers from the pretrained segmentation model (all but <c>scratch</c> and the ImageNet branches).</summary>
    public static bool NeedsPretrainedModel(string strategy) => strategy is not (Scratch or ImageNetFeatures or ImageNetFineTune);

    private static readonly string[] LevelChoices = ["-1", "-1,-2", "-1,-2,-3"];
    private static readonly string[] PoolingChoices = ["average", "max", "averagemax"];

    private readonly MLContext _ml;
    private readonly ImageNetworkTransformer? _pretrained;
    private readonly TransferStrategyOptions _options;
    private readonly SweepableChoice<Func<TrialTraining, IEstimator<ITransformer>>> _choice = new(ChoiceName);

    /// <param name="ml">The context whose catalogs build the trainers (seed, device, progress: <c>ml.Medical()</c>). Leave its
    /// <c>ml.Medical().Threads</c> unset for parallel trials: each trial then trains under its share of the cores.</param>
    /// <param name="pretrained">A segmentation U-Net (or a model ending in one, or an image classifier) whose encoder is transferred; null = scratch only.</param>
    /// <param name="trainSchema">The training rows' columns: the joint branch needs the mask column.</param>
    public TransferStrategy(MLContext ml, ITransformer? pretrained, DataViewSchema trainSchema, TransferStrategyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(trainSchema);
        _ml = ml;
        _options = options ?? new TransferStrategyOptions();
        _pretrained = pretrained is null ? null : Models.FindNetwork(pretrained)
            ?? throw new ArgumentException($"The pretrained model ({pretrained.GetType().Name}) has no network stage to transfer.", nameof(pretrained));
        var wanted = _options.Strategies ?? DefaultStrategies;
        foreach (var s in wanted)
            if (!AllStrategies.Contains(s)) throw new ArgumentException($"Unknown transfer strategy '{s}'; allowed: {string.Join(", ", AllStrategies)}.", nameof(options));
        bool hasMasks = trainSchema.GetColumnOrNull(_options.Columns.Mask)?.Type is VolumeDataViewType { Kind: VolumeKind.Mask };
        var available = AllStrategies.Where(s => !NeedsPretrainedModel(s) || (_pretrained is not null && (s != Joint || (hasMasks && PretrainedUNet is not null)))).ToList();
        Strategies = wanted.Where(available.Contains).ToList();
        if (Strategies.Count == 0)
            throw new ArgumentException($"None of the transfer strategies [{string.Join(", ", wanted)}] can run here: available are {string.Join(", ", available)} " +
                                        $"({(_pretrained is null ? "no pretrained model" : hasMasks ? "a pretrained model" : "no mask column")}).", nameof(options));
        foreach (var s in Strategies) AddBranch(s);
    }

    /// <summary>The branches in this sweep.</summary>
    public IReadOnlyList<string> Strategies { get; }

    public SearchSpace SearchSpace => _choice.Space;

    public IEstimator<ITransformer> BuildEstimator(ParameterSet parameters, TrialTraining training) => _choice.Resolve(parameters).Value(training);

    private UNetConfig? PretrainedUNet => _pretrained?.Network.Config as UNetConfig;

    private void AddBranch(string strategy)
    {
        switch (strategy)
        {
            case FrozenSoftmax:
                _choice.Add(FrozenSoftmax, FeatureSpace().Float("l2", 1e-5, 1e-1, log: true, defaultValue: 1e-2),
                    p => _ => SoftmaxRegression(Features(p), p.GetDouble("l2")));
                break;
            case ImageNetFeatures:
                // The CLI's imagenet_features stage's recipe (PipelineRunner.FitFeatureClassifier). ResNet18 runs in ONNX Runtime with
                // its own thread settings, not the trial's torch thread budget.
                _choice.Add(ImageNetFeatures, new SearchSpace().Float("l2", 1e-5, 1e-1, log: true, defaultValue: 1e-2),
                    p => _ => SoftmaxRegression(_ml.Transforms.ImageNetFeatures(DefaultColumnNames.Features, _options.Columns.Image, _options.ImageNetModelDirectory), p.GetDouble("l2")));
                break;
            case ImageNetFineTune:
                _choice.Add(ImageNetFineTune, new SearchSpace()
                        .Choice("freeze", "none", "first-level", "whole-encoder", "hierarchical")
                        .Float("lr", 1e-4, 1e-2, log: true, defaultValue: 1e-3).Float("encoder_lr_factor", 0.01, 1, log: true, defaultValue: 0.1)
                        .Float("dropout", 0, 0.5, defaultValue: 0),
                    p => t => _ml.MulticlassClassification.Trainers.ImageNetFineTuned(ImageNetNetwork(p), Transfer(p), ImageTraining(t, p.GetDouble("lr")),
                        _options.Columns, _options.ImageNetModelDirectory));
                break;
            case FrozenMlp:
                _choice.Add(FrozenMlp, FeatureSpace().Float("lr", 1e-4, 1e-2, log: true, defaultValue: 1e-3).Int("hidden", 16, 256, log: true, defaultValue: 64)
                                                     .Float("dropout", 0, 0.5, defaultValue: 0),
                    p => t =>
                    {
                        // The MLP reads features: the trial's validation rows go through the (frozen, fit-free) feature stage first.
                        var features = Features(p);
                        var validation = t.ValidationData is { } v ? features.Fit(v).Transform(v) : null;
                        return features.Append(_ml.MulticlassClassification.Trainers.Mlp([p.GetInt("hidden")], p.GetDouble("dropout"),
                            Training(t, p.GetDouble("lr")) with { ValidationData = validation }, _options.Columns.Label));
                    });
                break;
            case FineTune:
                _choice.Add(FineTune, new SearchSpace()
                        .Choice("freeze", "none", "first-level", "whole-encoder", "hierarchical")
                        .Float("lr", 1e-4, 1e-2, log: true, defaultValue: 1e-3).Float("encoder_lr_factor", 0.01, 1, log: true, defaultValue: 0.1)
                        .Choice("levels", LevelChoices[..2]).Choice("pooling", PoolingChoices).Float("dropout", 0, 0.5, defaultValue: 0),
                    p => t => _ml.MulticlassClassification.Trainers.FineTunedEncoder(FineTuneNetwork(p), _pretrained, Transfer(p), ImageTraining(t, p.GetDouble("lr")), _options.Columns));
                break;
            case Joint:
                _choice.Add(Joint, new SearchSpace()
                        .Choice("topology", "simple", "ynet").Float("lambda", 0.1, 10, log: true, defaultValue: 1)
                        .Float("lr", 1e-4, 1e-2, log: true, defaultValue: 1e-3).Float("encoder_lr_factor", 0.01, 1, log: true, defaultValue: 0.1)
                        .Choice("freeze", "none", "hierarchical"),
                    p => t => _ml.MulticlassClassification.Trainers.JointSegmentationClassifier(p.GetString("topology") == "ynet" ? JointTopology.YNet : JointTopology.Simple, p.GetDouble("lambda"),
                        _pretrained, transfer: Transfer(p), training: ImageTraining(t, p.GetDouble("lr")), columns: _options.Columns));
                break;
            default:
                _choice.Add(Scratch, new SearchSpace().Float("lr", 1e-4, 1e-2, log: true, defaultValue: 1e-3).Choice("base_channels", 8, 16).Float("dropout", 0, 0.5, defaultValue: 0),
                    p => t => _ml.MulticlassClassification.Trainers.ImageCnn(ScratchNetwork(p), ImageTraining(t, p.GetDouble("lr")), _options.Columns));
                break;
        }
    }

    /// <summary>ML.NET's L-BFGS softmax regression on standardised <c>Features</c>. The cache keeps L-BFGS from rerunning the
    /// featuriser every iteration; fixZero: false standardises (ML.NET's default only rescales) and L1 = 0 keeps the features
    /// (ML.NET's default L1 of 1 drops most of them).</summary>
    private IEstimator<ITransformer> SoftmaxRegression<TFeatures>(IEstimator<TFeatures> features, double l2) where TFeatures : class, ITransformer =>
        features.AppendCacheCheckpoint(_ml).Append(_ml.Transforms.NormalizeMeanVariance(DefaultColumnNames.Features, fixZero: false))
            .Append(_ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
            {
                LabelColumnName = _options.Columns.Label, FeatureColumnName = DefaultColumnNames.Features,
                L2Regularization = (float)l2,
                L1Regularization = 0,
                // One thread: the same sums in the same order whatever runs beside it, within any trial's budget.
                NumberOfThreads = 1,
            }));

    private static SearchSpace FeatureSpace() => new SearchSpace().Choice("levels", LevelChoices).Choice("pooling", PoolingChoices);

    private static int[] Levels(ParameterSet p) => p.GetString("levels").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    private static PoolingKind Pooling(ParameterSet p) => Enum.Parse<PoolingKind>(p.GetString("pooling"), ignoreCase: true);

    private IEstimator<ITransformer> Features(ParameterSet p) =>
        _ml.Transforms.SegmentationEncoderFeatures(_pretrained!, Levels(p), Pooling(p), imageColumnName: _options.Columns.Image);

    private EncoderConfig PretrainedEncoder => _pretrained!.Network.Config switch
    {
        UNetConfig u => u.Encoder,
        EncoderClassifierConfig c => c.Encoder,
        YNetConfig y => y.UNet.Encoder,
        SimpleJointConfig s => s.UNet.Encoder,
        var other => throw new InvalidOperationException($"The pretrained {other.GetType().Name} has no encoder to fine-tune."),
    };

    private EncoderClassifierConfig FineTuneNetwork(ParameterSet p) => new()
    {
        Encoder = PretrainedEncoder,
        Head = new ClassificationHeadConfig { Levels = Levels(p), Pooling = Pooling(p), Dropout = p.GetDouble("dropout") },
    };

    private EncoderClassifierConfig ScratchNetwork(ParameterSet p)
    {
        var (dims, channels) = ImageShape;
        return EncoderClassifierConfig.PlainCnn(dims, channels, numClasses: 2, depth: 4, baseChannels: p.GetInt("base_channels"), dropout: p.GetDouble("dropout"));
    }

    private EncoderClassifierConfig ImageNetNetwork(ParameterSet p)
    {
        var (dims, channels) = ImageShape;
        return EncoderClassifierConfig.ImageNetResNet18(dims, channels, numClasses: 2, _options.ImageNetInputSize, p.GetDouble("dropout"));
    }

    /// <summary>Image dims and channels: the pretrained encoder's, else the options'.</summary>
    private (int Dims, int Channels) ImageShape => _pretrained is null ? (_options.SpatialDims, _options.InChannels) : (PretrainedEncoder.SpatialDims, PretrainedEncoder.InChannels);

    private static FineTuneSettings Transfer(ParameterSet p) => new()
    {
        Freeze = p.GetString("freeze") switch
        {
            "first-level" => FreezeMode.FirstLevels,
            "whole-encoder" => FreezeMode.WholeEncoder,
            "hierarchical" => FreezeMode.HierarchicalUnfreezing,
            _ => FreezeMode.None,
        },
        FrozenLevels = 1,
        EncoderLearningRateFactor = p.GetDouble("encoder_lr_factor"),
    };

    private TrainingOptions ImageTraining(TrialTraining trial, double learningRate) => Training(trial, learningRate) with { Augmentation = _options.Augmentation };

    private TrainingOptions Training(TrialTraining trial, double learningRate) => new()
    {
        Epochs = _options.Epochs,
        BatchSize = _options.BatchSize,
        LearningRate = learningRate,
        ValidationFraction = _options.ValidationFraction,
        ValidationData = trial.ValidationData,
        GroupColumnName = trial.GroupColumnName,
        EarlyStoppingMetric = trial.EpochMetric,
        EarlyStoppingPatience = _options.EarlyStoppingPatience,
        EpochCallback = trial.EpochCallback,
        CancellationToken = trial.CancellationToken,
    };
}
