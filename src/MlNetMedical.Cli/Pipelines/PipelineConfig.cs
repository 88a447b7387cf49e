using System.Reflection;
using MlNetMedical.Cli.Yaml;
using MlNetMedical.Imaging.Augmentation;
using MlNetMedical.Transforms;
using MlNetMedical.Imaging.Synthetic;
using MlNetMedical.Models;
using MlNetMedical.Trainers;
using MlNetMedical.Training;

namespace MlNetMedical.Cli.Pipelines;

// The pipeline YAML schema (pipelines/README.md documents every key; a test keeps the two in step).
// Keys are the snake_case property names, enum values kebab-case (see Yaml/YamlNaming).

/// <summary>What a run and a sweep share: name, seed, threads, data, preprocessing, augmentation and the U-Net.</summary>
public abstract class ExperimentConfig : IYamlValidated
{
    /// <summary>Short name: the default output folder (and a sweep's study) is named after it.</summary>
    public string Name { get; set; } = "";
    public int Seed { get; set; } = 1;
    /// <summary>Torch threads for training and inference (the context's per-thread budget); null = every core.</summary>
    public int? Threads { get; set; }
    public DataConfig Data { get; set; } = new();
    public List<PreprocessingStep> Preprocessing { get; set; } = [];
    /// <summary>The library's augmentation settings; keys are its property names in snake_case.</summary>
    public AugmentationConfig Augmentation { get; set; } = new();
    public UNetSettings Network { get; set; } = new();

    public virtual void Validate(YamlValidation check)
    {
        check.Check(Name.Length > 0, this, nameof(Name), "is required (a short name; the output folder is named after it)");
        check.Check(SafeName.IsValid(Name), this, nameof(Name), SafeName.Problem(Name, "the default output folder"));
        check.Check(Threads is null or >= 1, this, nameof(Threads), "must be ≥ 1 (or null for every core)");
        AugmentationChecks.Validate(check, Augmentation);
    }

    /// <summary>The context every stage trains in: ML.NET's seed and the framework's (<c>ml.Medical().Seed</c>, which the
    /// framework's trainers use) both set to <see cref="Seed"/>, so runs repeat and codegen's program matches; and the thread budget.</summary>
    public MLContext CreateContext() => CreateContext(Seed, Threads);

    /// <summary>An ML.NET context with this seed (ML.NET's and the framework's) and thread budget.</summary>
    public static MLContext CreateContext(int seed, int? threads)
    {
        var ml = new MLContext(seed: seed);
        var medical = ml.Medical();
        medical.Seed = seed;
        medical.Threads = threads;
        return ml;
    }

    /// <summary>The training loop's augmentation hook; null when every probability is 0 (augmentation off).</summary>
    public SampleAugmenter? CreateAugmenter() => AugmentationChecks.IsOff(Augmentation) ? null : Augmentations.From(Augmentation, Seed);
}

/// <summary>A whole run: data, preprocessing, augmentation, the shared U-Net, stages, evaluation and outputs.</summary>
public sealed class PipelineConfig : ExperimentConfig
{
    public List<StageConfig> Stages { get; set; } = [];
    public EvaluationSettings Evaluation { get; set; } = new();
    public OutputSettings Outputs { get; set; } = new();

    public override void Validate(YamlValidation check)
    {
        base.Validate(check);
        check.Check(Stages.Count > 0, this, nameof(Stages), "must list at least one stage (pretrain, featurize, imagenet_features, fine_tune, imagenet_fine_tune, scratch, joint)");
        var names = new HashSet<string>();
        var pretrained = new List<string>();
        foreach (var stage in Stages)
        {
            var body = stage.Body!;
            check.Check(SafeName.IsValid(stage.Name), body, nameof(StageBody.Name), SafeName.Problem(stage.Name, "its model file, models/NAME.zip"));
            check.Check(names.Add(stage.Name), body, nameof(StageBody.Name), $"'{stage.Name}' is used by two stages; stage names must be unique");
            if (body is ITransferStage { From: { } from })
                check.Check(pretrained.Contains(from), body, nameof(ITransferStage.From),
                    $"is '{from}', which is not an earlier pretrain or joint stage; earlier ones: {(pretrained.Count == 0 ? "none" : string.Join(", ", pretrained))}");
            if (body is PretrainStage or JointStage) pretrained.Add(stage.Name);
        }
        foreach (var stage in Stages)
            if (stage.Body is FeaturizeStage or FineTuneStage && ((ITransferStage)stage.Body).From is null)
                check.Check(Stages.Any(s => s.Body is PretrainStage), stage.Body, nameof(ITransferStage.From), "is not set and the pipeline has no pretrain stage to default to");
    }
}

/// <summary>Where the cases come from: exactly one of manifest, decathlon, synthetic.</summary>
public sealed class DataConfig : IYamlValidated
{
    /// <summary>A manifest.csv (id,image,mask,label,group,split); relative paths are relative to the pipeline file.</summary>
    public string? Manifest { get; set; }
    /// <summary>A Medical Segmentation Decathlon folder (dataset.json).</summary>
    public string? Decathlon { get; set; }
    /// <summary>A synthetic task generated into OUT/data.</summary>
    public SyntheticData? Synthetic { get; set; }
    /// <summary>Default split of pretrain stages.</summary>
    public string PretrainSplit { get; set; } = "pretrain";
    public string TrainSplit { get; set; } = "train";
    public string TestSplit { get; set; } = "test";
    /// <summary>Folder for preprocessed volumes (null = none).</summary>
    public string? CacheFolder { get; set; }

    public void Validate(YamlValidation check)
    {
        int sources = (Manifest is null ? 0 : 1) + (Decathlon is null ? 0 : 1) + (Synthetic is null ? 0 : 1);
        check.Check(sources == 1, this, sources == 0 ? nameof(Synthetic) : nameof(Manifest), "set exactly one data source: manifest, decathlon or synthetic");
    }
}

public sealed class SyntheticData : IYamlValidated
{
    /// <summary>One of the tasks `mlnm datasets list` shows.</summary>
    public string Task { get; set; } = "";
    public int? Train { get; set; }
    public int? Test { get; set; }
    public int? Pretrain { get; set; }
    public int? Size { get; set; }
    public long Seed { get; set; } = 1;
    public int Channels { get; set; } = 1;

    public void Validate(YamlValidation check)
    {
        var names = SyntheticTask.All.Select(t => t.Name).ToList();
        check.Check(names.Contains(Task), this, nameof(Task), $"is '{Task}'; allowed values: {string.Join(", ", names)}");
    }
}

/// <summary>One preprocessing transform, applied to every case when it is loaded: exactly one key.</summary>
[YamlOneOf]
public sealed class PreprocessingStep : IYamlValidated
{
    public EmptySettings? ToCanonical { get; set; }
    public ZScoreSettings? Zscore { get; set; }
    public PercentileClipSettings? PercentileClip { get; set; }
    public CtWindowSettings? CtWindow { get; set; }
    public SizeSettings? PadOrCrop { get; set; }
    public SizeSettings? CenterCrop { get; set; }

    public void Validate(YamlValidation check) => OneOf.Check(check, this);
}

/// <summary>A transform without settings (<c>- to_canonical: {}</c>).</summary>
public sealed class EmptySettings;

public enum ZScoreMask { None, Nonzero, Label }

public sealed class ZScoreSettings
{
    public ZScoreMask Mask { get; set; } = ZScoreMask.None;
    public bool ZeroOutside { get; set; }
}

public sealed class PercentileClipSettings
{
    public double Lower { get; set; } = 0.5;
    public double Upper { get; set; } = 99.5;
}

public sealed class CtWindowSettings
{
    public double Center { get; set; } = 40;
    public double Width { get; set; } = 400;
    public bool Rescale { get; set; } = true;
}

public sealed class SizeSettings : IYamlValidated
{
    /// <summary>Voxels per axis (i, j[, k]).</summary>
    public int[] Size { get; set; } = [];
    public void Validate(YamlValidation check) => check.Check(Size.Length is 2 or 3 && Size.All(s => s > 0), this, nameof(Size), "must list 2 or 3 positive sizes");
}

/// <summary>Range checks of the augmentation: mapping (the library's <see cref="AugmentationConfig"/>, read as YAML).</summary>
internal static class AugmentationChecks
{
    private static IEnumerable<PropertyInfo> Properties(string suffix) =>
        typeof(AugmentationConfig).GetProperties().Where(p => p.PropertyType == typeof(double) && p.Name.EndsWith(suffix, StringComparison.Ordinal));

    public static bool IsOff(AugmentationConfig a) => Properties("Probability").All(p => (double)p.GetValue(a)! <= 0);

    public static void Validate(YamlValidation check, AugmentationConfig a)
    {
        foreach (var p in Properties("Probability"))
            check.Check((double)p.GetValue(a)! is >= 0 and <= 1, a, p.Name, "must be a probability in [0, 1]");
        foreach (var p in typeof(AugmentationConfig).GetProperties().Where(p => p.PropertyType == typeof(double) && !p.Name.EndsWith("Probability", StringComparison.Ordinal)))
            check.Check((double)p.GetValue(a)! >= 0, a, p.Name, "must be ≥ 0");
        check.Check(a.ElasticControlPoints >= 2, a, nameof(AugmentationConfig.ElasticControlPoints), "must be ≥ 2");
    }
}

/// <summary>The U-Net shared by pretraining, fine-tuning (its encoder) and joint training.</summary>
public sealed class UNetSettings : IYamlValidated
{
    /// <summary>2 or 3; null = from the images (3 when they have more than one slice).</summary>
    public int? SpatialDims { get; set; }
    /// <summary>Image channels; null = from the images.</summary>
    public int? InChannels { get; set; }
    /// <summary>Segmentation classes with background; null = the largest mask label + 1.</summary>
    public int? SegmentationClasses { get; set; }
    public int Depth { get; set; } = 4;
    public int BaseChannels { get; set; } = 16;
    public NormKind Norm { get; set; } = NormKind.Batch;
    public BlockKind Block { get; set; } = BlockKind.Plain;

    public void Validate(YamlValidation check)
    {
        check.Check(SpatialDims is null or 2 or 3, this, nameof(SpatialDims), "must be 2 or 3 (or null to read it from the images)");
        check.Check(InChannels is null or >= 1, this, nameof(InChannels), "must be ≥ 1");
        check.Check(SegmentationClasses is null or >= 2, this, nameof(SegmentationClasses), "must be ≥ 2 (background included)");
        check.Check(Depth is >= 2 and <= 8, this, nameof(Depth), "must be in 2..8");
        check.Check(BaseChannels is >= 1 and <= 1024, this, nameof(BaseChannels), "must be in 1..1024");
    }
}

/// <summary>Settings of the shared training loop for one stage (defaults depend on the stage).</summary>
public sealed class TrainingSettings : IYamlValidated
{
    public int Epochs { get; set; } = 30;
    /// <summary>0 = the whole training set in one batch.</summary>
    public int BatchSize { get; set; } = 8;
    public double LearningRate { get; set; } = 1e-3;
    public double WeightDecay { get; set; }
    /// <summary>Fraction of patients (groups) held out for validation and early stopping; 0 = none.</summary>
    public double ValidationFraction { get; set; } = 0.2;
    /// <summary>Epochs without improvement before stopping (0 = never; the best epoch is restored anyway).</summary>
    public int EarlyStoppingPatience { get; set; }
    /// <summary>"loss", "accuracy", "dice"...; null = the trainer's default.</summary>
    public string? EarlyStoppingMetric { get; set; }
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Constant;
    public ClassBalancing ClassBalancing { get; set; } = ClassBalancing.None;
    public double? GradientClipNorm { get; set; }

    public void Validate(YamlValidation check)
    {
        check.Check(Epochs >= 1, this, nameof(Epochs), "must be ≥ 1");
        check.Check(BatchSize >= 0, this, nameof(BatchSize), "must be ≥ 0 (0 = full batch)");
        check.Check(LearningRate > 0, this, nameof(LearningRate), "must be > 0");
        check.Check(WeightDecay >= 0, this, nameof(WeightDecay), "must be ≥ 0");
        check.Check(ValidationFraction is >= 0 and < 1, this, nameof(ValidationFraction), "must be in [0, 1)");
        check.Check(EarlyStoppingPatience >= 0, this, nameof(EarlyStoppingPatience), "must be ≥ 0");
        check.Check(GradientClipNorm is null or > 0, this, nameof(GradientClipNorm), "must be > 0 (or null for no clipping)");
    }
}

/// <summary>One stage of the run: exactly one key, which says what it trains.</summary>
[YamlOneOf]
public sealed class StageConfig : IYamlValidated
{
    public PretrainStage? Pretrain { get; set; }
    public FeaturizeStage? Featurize { get; set; }
    public ImagenetFeaturesStage? ImagenetFeatures { get; set; }
    public FineTuneStage? FineTune { get; set; }
    public ImagenetFineTuneStage? ImagenetFineTune { get; set; }
    public ScratchStage? Scratch { get; set; }
    public JointStage? Joint { get; set; }

    [YamlSkip] public StageBody? Body => (StageBody?)Pretrain ?? (StageBody?)Featurize ?? (StageBody?)ImagenetFeatures ?? (StageBody?)FineTune ?? (StageBody?)ImagenetFineTune ?? (StageBody?)Scratch ?? Joint;
    [YamlSkip] public string Name => Body!.Name ?? YamlNaming.Key(Body.GetType().Name.Replace("Stage", ""));

    public void Validate(YamlValidation check) => OneOf.Check(check, this);
}

/// <summary>What every stage has: an optional display name and its training settings.</summary>
public abstract class StageBody
{
    /// <summary>Unique name (model file, report); null = the stage kind.</summary>
    public string? Name { get; set; }
    public TrainingSettings Training { get; set; } = new();
}

/// <summary>A stage that starts from an earlier pretrain or joint stage.</summary>
public interface ITransferStage
{
    /// <summary>Name of the earlier stage; null = the first pretrain stage.</summary>
    string? From { get; }
}

/// <summary>Segmentation pretraining of the U-Net (Dice + cross-entropy) on the pretrain split.</summary>
public sealed class PretrainStage : StageBody
{
    /// <summary>The split whose masks it trains on; null = data.pretrain_split.</summary>
    public string? Split { get; set; }
    public PretrainStage() => Training = new TrainingSettings { Epochs = 20, BatchSize = 8, LearningRate = 1e-3, EarlyStoppingPatience = 5 };
}

/// <summary>The featurize stage's classifier: softmax-regression is ML.NET's LbfgsMaximumEntropy (multinomial logistic regression,
/// on standardised features); mlp is the framework's <c>Mlp</c>.</summary>
public enum FeatureClassifier { SoftmaxRegression, Mlp }

/// <summary>A stage that trains a small classifier on fixed feature vectors (featurize, imagenet_features).</summary>
public interface IFeatureClassifierStage
{
    FeatureClassifier Classifier { get; }
    double L2 { get; }
    int[] HiddenUnits { get; }
    double Dropout { get; }
    TrainingSettings Training { get; }
}

/// <summary>The frozen encoder as a feature extractor (pooled levels) plus a small classifier on the features.</summary>
public sealed class FeaturizeStage : StageBody, ITransferStage, IFeatureClassifierStage, IYamlValidated
{
    public string? From { get; set; }
    /// <summary>Encoder levels pooled (negative = from the deepest).</summary>
    public int[] Levels { get; set; } = [-1];
    public PoolingKind Pooling { get; set; } = PoolingKind.Average;
    public FeatureClassifier Classifier { get; set; } = FeatureClassifier.SoftmaxRegression;
    /// <summary>L2 penalty: LbfgsMaximumEntropy's l2Regularization (softmax-regression), the weight decay of mlp.</summary>
    public double L2 { get; set; } = 1e-3;
    /// <summary>Hidden layer widths (mlp).</summary>
    public int[] HiddenUnits { get; set; } = [64];
    public double Dropout { get; set; }
    public FeaturizeStage() => Training = new TrainingSettings { Epochs = 200, BatchSize = 0, LearningRate = 0.05, ValidationFraction = 0 };

    public void Validate(YamlValidation check)
    {
        check.Check(Levels.Length > 0, this, nameof(Levels), "must name at least one level");
        check.Check(L2 >= 0, this, nameof(L2), "must be ≥ 0");
        check.Check(Dropout is >= 0 and < 1, this, nameof(Dropout), "must be in [0, 1)");
        check.Check(HiddenUnits.All(h => h > 0), this, nameof(HiddenUnits), "must be positive widths");
    }
}

/// <summary>The ImageNet baseline: ML.NET's ImageNet-trained ResNet18 (<c>ml.Transforms.ImageNetFeatures</c>: each slice, or a
/// volume's middle slice, min–max scaled to 0..255, grey replicated to R, G, B, resized to 224×224) gives 512 features per image,
/// and a small classifier is trained on them, as in the featurize stage. Needs no pretrain stage.</summary>
public sealed class ImagenetFeaturesStage : StageBody, IFeatureClassifierStage, IYamlValidated
{
    public FeatureClassifier Classifier { get; set; } = FeatureClassifier.SoftmaxRegression;
    /// <summary>L2 penalty: LbfgsMaximumEntropy's l2Regularization (softmax-regression), the weight decay of mlp.</summary>
    public double L2 { get; set; } = 1e-3;
    /// <summary>Hidden layer widths (mlp).</summary>
    public int[] HiddenUnits { get; set; } = [64];
    public double Dropout { get; set; }
    public ImagenetFeaturesStage() => Training = new TrainingSettings { Epochs = 200, BatchSize = 0, LearningRate = 0.05, ValidationFraction = 0 };

    public void Validate(YamlValidation check)
    {
        check.Check(L2 >= 0, this, nameof(L2), "must be ≥ 0");
        check.Check(Dropout is >= 0 and < 1, this, nameof(Dropout), "must be in [0, 1)");
        check.Check(HiddenUnits.All(h => h > 0), this, nameof(HiddenUnits), "must be positive widths");
    }
}

/// <summary>Classification head on encoder levels (fine-tune, scratch).</summary>
public sealed class HeadSettings : IYamlValidated
{
    public int[] Levels { get; set; } = [-1];
    public PoolingKind Pooling { get; set; } = PoolingKind.Average;
    public double Dropout { get; set; }
    public int[] HiddenUnits { get; set; } = [];

    public void Validate(YamlValidation check)
    {
        check.Check(Levels.Length > 0, this, nameof(Levels), "must name at least one level");
        check.Check(Dropout is >= 0 and < 1, this, nameof(Dropout), "must be in [0, 1)");
        check.Check(HiddenUnits.All(h => h > 0), this, nameof(HiddenUnits), "must be positive widths");
    }
}

/// <summary>Freezing and encoder learning rate when starting from a pretrained encoder.</summary>
public sealed class TransferSettings : IYamlValidated
{
    public FreezeMode Freeze { get; set; } = FreezeMode.None;
    /// <summary>Levels frozen with first-levels.</summary>
    public int FrozenLevels { get; set; } = 1;
    /// <summary>Epochs between unfreezing steps with hierarchical-unfreezing.</summary>
    public int EpochsPerUnfreeze { get; set; } = 2;
    /// <summary>Encoder learning rate; null = 0.1 × the stage's learning_rate.</summary>
    public double? EncoderLearningRate { get; set; }

    public void Validate(YamlValidation check)
    {
        check.Check(FrozenLevels >= 0, this, nameof(FrozenLevels), "must be ≥ 0");
        check.Check(EpochsPerUnfreeze >= 1, this, nameof(EpochsPerUnfreeze), "must be ≥ 1");
        check.Check(EncoderLearningRate is null or > 0, this, nameof(EncoderLearningRate), "must be > 0");
    }

    public FineTuneSettings ToLibrary(double headLearningRate) => new()
    {
        Freeze = Freeze, FrozenLevels = FrozenLevels, EpochsPerUnfreeze = EpochsPerUnfreeze,
        EncoderLearningRateFactor = (EncoderLearningRate ?? 0.1 * headLearningRate) / headLearningRate,
    };
}

/// <summary>Fine-tuning: the pretrained encoder plus a classification head, trained end to end.</summary>
public sealed class FineTuneStage : StageBody, ITransferStage
{
    public string? From { get; set; }
    public TransferSettings Transfer { get; set; } = new();
    public HeadSettings Head { get; set; } = new();
    public FineTuneStage() => Training = new TrainingSettings { Epochs = 20, BatchSize = 8, LearningRate = 1e-3 };
}

/// <summary>The ImageNet fine-tuned baseline: ImageNet's ResNet18 (weights from ML.NET's <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>
/// package, <c>ml.MulticlassClassification.Trainers.ImageNetFineTuned</c>) plus a classification head, trained end to end like fine_tune.
/// Each slice (a volume's middle k slice) is min–max scaled to 0..255, copied to three channels, resized bilinearly to
/// <see cref="InputSize"/>² and has the ImageNet mean image subtracted, inside the network. Needs no pretrain stage.</summary>
public sealed class ImagenetFineTuneStage : StageBody, IYamlValidated
{
    /// <summary>Height and width each slice is resized to; default 112 (a quarter of 224²'s cost, see ImageNetEncoderConfig.DefaultInputSize).</summary>
    public int InputSize { get; set; } = ImageNetEncoderConfig.DefaultInputSize;
    public TransferSettings Transfer { get; set; } = new();
    public HeadSettings Head { get; set; } = new();
    public ImagenetFineTuneStage() => Training = new TrainingSettings { Epochs = 20, BatchSize = 8, LearningRate = 1e-3 };

    public void Validate(YamlValidation check) => check.Check(InputSize is >= 64 and <= 1024, this, nameof(InputSize), "must be in 64..1024 pixels (ResNet18's deepest map is input_size/32)");
}

public enum ScratchNetwork { UnetEncoder, PlainCnn, Resnet }

/// <summary>The baseline: a classifier trained from random weights.</summary>
public sealed class ScratchStage : StageBody, IYamlValidated
{
    /// <summary>unet-encoder = the same encoder as network:, untrained.</summary>
    public ScratchNetwork Network { get; set; } = ScratchNetwork.UnetEncoder;
    /// <summary>Levels of plain-cnn.</summary>
    public int Depth { get; set; } = 4;
    /// <summary>Width of plain-cnn and resnet's first level.</summary>
    public int BaseChannels { get; set; } = 16;
    public HeadSettings Head { get; set; } = new();
    public ScratchStage() => Training = new TrainingSettings { Epochs = 20, BatchSize = 8, LearningRate = 1e-3 };

    public void Validate(YamlValidation check)
    {
        check.Check(Depth is >= 1 and <= 8, this, nameof(Depth), "must be in 1..8");
        check.Check(BaseChannels is >= 1 and <= 1024, this, nameof(BaseChannels), "must be in 1..1024");
    }
}

/// <summary>Joint segmentation + classification (loss = Dice+CE + λ·CE), optionally from a pretrained U-Net.</summary>
public sealed class JointStage : StageBody, ITransferStage, IYamlValidated
{
    /// <summary>The pretrain stage whose U-Net it starts from; null = random weights.</summary>
    public string? From { get; set; }
    public JointTopology Topology { get; set; } = JointTopology.Simple;
    /// <summary>λ, the weight of the classification loss.</summary>
    public double ClassificationWeight { get; set; } = 1.0;
    public TransferSettings Transfer { get; set; } = new();
    public JointStage() => Training = new TrainingSettings { Epochs = 20, BatchSize = 8, LearningRate = 1e-3 };

    public void Validate(YamlValidation check) => check.Check(ClassificationWeight >= 0, this, nameof(ClassificationWeight), "(λ) must be ≥ 0");
}

public sealed class EvaluationSettings : IYamlValidated
{
    /// <summary>Test cases shown in the report with true and predicted masks.</summary>
    public int Samples { get; set; } = 4;
    public void Validate(YamlValidation check) => check.Check(Samples is >= 0 and <= 64, this, nameof(Samples), "must be in 0..64");
}

public sealed class OutputSettings
{
    /// <summary>Write models/STAGE.zip.</summary>
    public bool SaveModels { get; set; } = true;
    /// <summary>Write report.html.</summary>
    public bool Report { get; set; } = true;
}

/// <summary>Names that become file or folder names (the run's, a stage's, a study's): checked when the YAML is read, so a
/// name like 'a/b' or '..' fails at once instead of after a stage has trained.</summary>
public static class SafeName
{
    public const int MaxLength = 64;

    /// <summary>1–64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    public static bool IsValid(string? name) =>
        name is { Length: > 0 and <= MaxLength } && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>The message for a bad name; <paramref name="names"/> says what it names.</summary>
    public static string Problem(string? name, string names) =>
        $"is '{Printable(name ?? "")}'; it names {names}, so it may hold only letters, digits, '.', '_' and '-' (ASCII), "
        + $"start with a letter or digit and have at most {MaxLength} characters";

    /// <summary>Control and non-ASCII characters as \uXXXX, so a message never carries a raw line break or escape sequence.</summary>
    public static string Printable(string text) =>
        string.Concat(text.Take(80).Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:X4}")) + (text.Length > 80 ? "…" : "");
}

/// <summary>"Exactly one key" checks for union-like mappings (stages, preprocessing steps).</summary>
internal static class OneOf
{
    public static void Check(YamlValidation check, object owner)
    {
        var keys = YamlNaming.Keys(owner.GetType());
        var set = keys.Where(k => k.Property.GetValue(owner) is not null).ToList();
        if (set.Count != 1)
            check.Fail(owner, set.Count == 0 ? keys[0].Property.Name : set[1].Property.Name,
                $"— each entry takes exactly one of: {string.Join(", ", keys.Select(k => k.Key))} (found {(set.Count == 0 ? "none" : string.Join(", ", set.Select(k => k.Key)))})");
    }
}
