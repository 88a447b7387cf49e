using MlNetMedical.Models;
using MlNetMedical.AutoML;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Yaml;

namespace MlNetMedical.Cli.Sweeps;

// The sweep YAML schema (pipelines/README.md, section "Sweeps"). name, seed, threads, data, preprocessing, augmentation and
// network are the pipeline schema's (ExperimentConfig); pretrain is the pipeline's pretrain stage; sweep holds the study's settings.

/// <summary>An AutoML study over the transfer-strategy space: the data, the segmentation pretraining it transfers from, and the study.</summary>
/// <remarks>threads: is the budget of loading and pretraining; parallel trials split it between them (SweepRunner).</remarks>
public sealed class SweepConfig : ExperimentConfig
{
    /// <summary>Segmentation pretraining on the pretrain split, run once before the study; null = no transfer (scratch only).</summary>
    public PretrainStage? Pretrain { get; set; }
    public SweepSettings Sweep { get; set; } = new();
    public EvaluationSettings Evaluation { get; set; } = new();

    public override void Validate(YamlValidation check)
    {
        base.Validate(check);
        check.Check(Pretrain is not null || Sweep.Strategies is null || !Sweep.Strategies.Any(TransferStrategy.NeedsPretrainedModel), this, nameof(Pretrain),
            $"is required by the strategies [{string.Join(", ", Sweep.Strategies ?? [])}]: only scratch, imagenet-features and imagenet-fine-tune run without a pretrained encoder");
    }
}

public enum SweepTuner { Tpe, Random, Grid, Cfo }

public enum SweepPruner { None, Median, Asha, Hyperband }

/// <summary>The study: which strategies, what to optimise, how trials are scored, budget, tuner, pruner, parallelism.</summary>
public sealed class SweepSettings : IYamlValidated
{
    /// <summary>Study name in the storage; null = the sweep's name.</summary>
    public string? Study { get; set; }
    /// <summary>Branches of the transfer-strategy space; null = all that the data and pretraining allow except imagenet-features and imagenet-fine-tune
    /// (<see cref="TransferStrategy.DefaultStrategies"/>).</summary>
    public List<string>? Strategies { get; set; }
    /// <summary>accuracy, balanced_accuracy, macro_f1, log_loss (minimised) or auc.</summary>
    public string Metric { get; set; } = SweepMetrics.Accuracy;
    /// <summary>Epochs of every trial (the pruner's steps).</summary>
    public int Epochs { get; set; } = 15;
    public int BatchSize { get; set; } = 16;
    /// <summary>No longer used by trials: each scores the holdout (or its fold) after every epoch, which is what the pruner sees.
    /// Accepted so older sweep files load.</summary>
    public double ValidationFraction { get; set; } = 0.2;
    public int EarlyStoppingPatience { get; set; }
    /// <summary>Share of the train split's groups held out to score trials (when folds is 0): their final value and each epoch's
    /// value the pruner sees.</summary>
    public double HoldoutFraction { get; set; } = 0.25;
    /// <summary>k ≥ 2 scores trials by k-fold cross-validation over the train split instead of a holdout.</summary>
    public int Folds { get; set; }
    public int MaxTrials { get; set; } = 20;
    /// <summary>Wall-clock budget of the study in seconds; null = none (max_trials stops it).</summary>
    public double? TimeLimitSeconds { get; set; }
    public SweepTuner Tuner { get; set; } = SweepTuner.Tpe;
    public SweepPruner Pruner { get; set; } = SweepPruner.Asha;
    /// <summary>Trials run at once (each gets cores / parallel torch threads); --parallel overrides it.</summary>
    public int Parallel { get; set; } = 1;
    /// <summary>Height and width each slice is resized to in the imagenet-fine-tune branch (as the imagenet_fine_tune stage's input_size).</summary>
    public int ImagenetInputSize { get; set; } = ImageNetEncoderConfig.DefaultInputSize;

    public void Validate(YamlValidation check)
    {
        check.Check(Study is null || SafeName.IsValid(Study), this, nameof(Study), SafeName.Problem(Study, "the leaderboard and best-model files, STUDY.*"));
        if (Strategies is not null)
            foreach (var s in Strategies)
                check.Check(TransferStrategy.AllStrategies.Contains(s), this, nameof(Strategies), $"lists '{s}'; allowed values: {string.Join(", ", TransferStrategy.AllStrategies)}");
        check.Check(Strategies is null || Strategies.Count > 0, this, nameof(Strategies), "must list at least one strategy (or be left out for all)");
        check.Check(SweepMetrics.Names.Contains(Metric), this, nameof(Metric), $"is '{Metric}'; allowed values: {string.Join(", ", SweepMetrics.Names)}");
        check.Check(Epochs >= 1, this, nameof(Epochs), "must be ≥ 1");
        check.Check(BatchSize >= 0, this, nameof(BatchSize), "must be ≥ 0 (0 = full batch)");
        check.Check(ValidationFraction is > 0 and < 1, this, nameof(ValidationFraction), "must be in (0, 1)");
        check.Check(EarlyStoppingPatience >= 0, this, nameof(EarlyStoppingPatience), "must be ≥ 0");
        check.Check(HoldoutFraction is > 0 and < 1, this, nameof(HoldoutFraction), "must be in (0, 1)");
        check.Check(Folds == 0 || Folds >= 2, this, nameof(Folds), "must be 0 (holdout) or ≥ 2");
        check.Check(MaxTrials >= 1, this, nameof(MaxTrials), "must be ≥ 1");
        check.Check(TimeLimitSeconds is null or > 0, this, nameof(TimeLimitSeconds), "must be > 0 (or null for none)");
        check.Check(Parallel >= 1, this, nameof(Parallel), "must be ≥ 1");
        check.Check(ImagenetInputSize is >= 64 and <= 1024, this, nameof(ImagenetInputSize), "must be in 64..1024 pixels (ResNet18's deepest map is the size/32)");
    }
}
