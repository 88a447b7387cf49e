using MlNetMedical.Data;

namespace MlNetMedical.Training;

/// <summary>How classes are balanced during training.</summary>
public enum ClassBalancing
{
    /// <summary>Plain shuffled epochs, unweighted loss.</summary>
    None,
    /// <summary>Cross-entropy weighted by inverse class frequency (normalised to mean 1).</summary>
    InverseFrequencyWeights,
    /// <summary>Each epoch draws classes equally often (with replacement), same epoch length.</summary>
    BalancedSampler,
}

/// <summary>Learning-rate schedule over epochs.</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant rate.</summary>
    Constant,
    /// <summary>Cosine annealing to 0 over the epochs.</summary>
    Cosine,
    /// <summary>×0.1 every third of the epochs.</summary>
    Step,
}

/// <summary>Settings of the shared training loop (every network trainer has them).</summary>
public sealed record TrainingOptions
{
    /// <summary>Maximum epochs.</summary>
    public int Epochs { get; init; } = 30;
    /// <summary>Mini-batch size (0 = the whole training set, full-batch).</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Base learning rate (the head's, for trainers with an encoder group).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>L2 weight decay (Adam's).</summary>
    public double WeightDecay { get; init; }
    /// <summary>Class weighting or class-balanced sampling.</summary>
    public ClassBalancing ClassBalancing { get; init; } = ClassBalancing.None;
    /// <summary>
    /// Fraction of groups held out for validation (0 = no validation: no early stopping, last epoch kept). The split is
    /// patient-safe by default: group-aware by <see cref="GroupColumnName"/> and stratified by the label (each group joins the
    /// stratum of its most frequent label, and each stratum is split on its own), seeded by <see cref="Seed"/>.
    /// </summary>
    public double ValidationFraction { get; init; } = 0.2;
    /// <summary>
    /// Rows scored after each epoch (early stopping, best epoch, the values <see cref="EpochCallback"/> receives) instead of a
    /// held-out share of the training rows; null = hold out <see cref="ValidationFraction"/>. When set, every training row trains
    /// and <see cref="ValidationFraction"/> is ignored. The rows need the columns the trainer reads from its own input (image,
    /// label, mask), so for a trainer after feature stages pass them through those stages first. AutoML trials set it to the
    /// experiment's validation rows (or the fold's), so the pruner sees the values the trials are ranked by.
    /// </summary>
    public IDataView? ValidationData { get; init; }
    /// <summary>
    /// Group column of the internal validation split (early stopping, best epoch, pruning values): rows that share a value
    /// (a patient) land on the same side, so near-duplicate slices of one patient never score the epoch they trained.
    /// Default <c>GroupId</c> (<see cref="DefaultColumnNames.GroupId"/>, written by the manifest and Decathlon loaders), used when
    /// the input has it; when it has not, each row is its own group (a log message says so). A name other than the default
    /// must exist. Null: each row its own group, deliberately.
    /// </summary>
    public string? GroupColumnName { get; init; } = DefaultColumnNames.GroupId;
    /// <summary>The validation metric early stopping and best-epoch selection watch ("loss", "accuracy", "dice"); null = the trainer's default.</summary>
    public string? EarlyStoppingMetric { get; init; }
    /// <summary>Epochs without improvement before stopping (0 = never stop early; the best epoch is still restored).</summary>
    public int EarlyStoppingPatience { get; init; }
    /// <summary>Learning-rate schedule.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;
    /// <summary>Gradient clipping by total L2 norm (null = off).</summary>
    public double? GradientClipNorm { get; init; }
    /// <summary>Folder for a checkpoint written atomically after every epoch (null = none).</summary>
    public string? CheckpointDirectory { get; init; }
    /// <summary>Continue from the checkpoint in <see cref="CheckpointDirectory"/> when there is one.</summary>
    public bool ResumeFromCheckpoint { get; init; } = true;
    /// <summary>Augmentation applied to each training sample each epoch.</summary>
    public SampleAugmenter? Augmentation { get; init; }
    /// <summary>Progress reports (per step and per epoch); null = the context's (<see cref="MedicalSettings.Progress"/>: epoch lines
    /// with time left on the console when it is a terminal).</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }
    /// <summary>Per-epoch metric callback (AutoML pruning).</summary>
    public IEpochMetricsCallback? EpochCallback { get; init; }
    /// <summary>Cancels training between steps (throws <see cref="OperationCanceledException"/>).</summary>
    public CancellationToken CancellationToken { get; init; }
    /// <summary>Seed of data order, augmentation, dropout and weight init; null = the context's.</summary>
    public int? Seed { get; init; }

    /// <summary>The group column to read from <paramref name="schema"/>: <see cref="GroupColumnName"/> when present; null when it is
    /// the default and absent (each row its own group). Throws when a non-default name is missing.</summary>
    internal string? ResolveGroupColumn(DataViewSchema schema, string stage, Action<string>? log = null)
    {
        if (GroupColumnName is null) return null;
        if (schema.GetColumnOrNull(GroupColumnName) is { IsHidden: false }) return GroupColumnName;
        if (GroupColumnName != DefaultColumnNames.GroupId)
            throw new ArgumentException($"{stage}: TrainingOptions.GroupColumnName is '{GroupColumnName}', but the data has no such column; columns: {schema.Describe()}",
                nameof(GroupColumnName));
        if (ValidationFraction > 0 && ValidationData is null)
            log?.Invoke($"the data has no '{DefaultColumnNames.GroupId}' column: the validation split treats each row as its own group " +
                        "(rows of one patient may land on both sides; set TrainingOptions.GroupColumnName to the patient column)");
        return null;
    }

    internal void Validate(string stage)
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, $"{stage}: Epochs must be ≥ 1");
        if (BatchSize < 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"{stage}: BatchSize must be ≥ 0 (0 = full batch)");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, $"{stage}: LearningRate must be > 0");
        if (ValidationFraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, $"{stage}: ValidationFraction must be in [0, 1)");
        if (EarlyStoppingPatience < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, $"{stage}: EarlyStoppingPatience must be ≥ 0");
        if (GradientClipNorm is { } c && !(c > 0)) throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), c, $"{stage}: GradientClipNorm must be > 0");
    }
}

/// <summary>A progress report: per step (<see cref="Metrics"/> empty) and at the end of each epoch.</summary>
public sealed record TrainingProgress(string Stage, int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss,
    IReadOnlyDictionary<string, double> Metrics, double LearningRate, TimeSpan Elapsed, TimeSpan? Remaining, bool EpochEnd);

/// <summary>Receives one validation metric value per epoch (AutoML pruners); returning false stops training.</summary>
public interface IEpochMetricsCallback
{
    /// <summary>Called after each epoch with its validation metrics; return false to stop (prune) the run.</summary>
    bool OnEpoch(int epoch, IReadOnlyDictionary<string, double> metrics);
}

/// <summary>What a finished run did: per-epoch metrics, the restored best epoch, whether it stopped early.</summary>
public sealed record TrainingHistory(IReadOnlyList<IReadOnlyDictionary<string, double>> Epochs, int BestEpoch, string Metric, bool StoppedEarly);
