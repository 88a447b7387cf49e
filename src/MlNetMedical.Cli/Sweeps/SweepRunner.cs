using System.Diagnostics;
using System.Globalization;
using MlNetMedical.AutoML;
using MlNetMedical.Catalogs;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Cli.Terminal;
using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using MlNetMedical.Training;

namespace MlNetMedical.Cli.Sweeps;

/// <summary>Command-line choices that override or complete the sweep file.</summary>
/// <param name="Storage">"sqlite:PATH", "postgres:CONNECTION" or a postgresql:// URL; null = OUT/study.db.</param>
/// <param name="StorageSource">Where <paramref name="Storage"/> came from, for messages ("--storage" or "MLNM_STORAGE").</param>
/// <param name="RecordMachine">Put the host name in the report.</param>
public sealed record SweepRunOptions(string? Storage, int? Parallel, bool Resume, string StorageSource = "--storage", bool RecordMachine = false);

/// <summary>The study a sweep runs in, opened (and checked) before anything is written to the output folder.</summary>
public sealed record SweepStudy(IStudyStorage Storage, string StorageDescription, string Name, StudyInfo Info, int ExistingTrials) : IDisposable
{
    public void Dispose() => Storage.Dispose();
}

/// <summary>The outcome of a sweep: what the report shows, the study's own result (null when interrupted before the trials), and
/// the interruption when Ctrl+C or SIGTERM cut it short.</summary>
public sealed record SweepOutcome(RunReport Report, ExperimentResult? Result, string StorageDescription, Interruption? Interrupted = null);

/// <summary>
/// Runs a <see cref="SweepConfig"/>: loads the data and pretrains the U-Net as `mlnm run` does, runs the AutoML study over the
/// transfer-strategy space (trials scored on a holdout of the train split or by k folds), refits the best configuration on the
/// whole train split, scores it on the test split and fills a <see cref="RunReport"/> with the trials.
/// </summary>
public sealed class SweepRunner(ProgressView view)
{
    public const string PretrainModel = "models/pretrain.zip";

    /// <summary>Opens the storage and the study, and refuses a study that already has trials unless resumed: called before the
    /// output folder is touched, so a refusal changes nothing.</summary>
    public static SweepStudy OpenStudy(SweepConfig config, string outDir, SweepRunOptions options, Action<string> warn)
    {
        var (storage, description) = SweepStorage.Open(options.Storage, options.StorageSource, outDir, warn);
        try
        {
            string name = config.Sweep.Study ?? config.Name;
            var study = storage.CreateOrLoadStudy(name, SweepMetrics.DirectionOf(config.Sweep.Metric));
            int existing = storage.GetTrials(study.Id).Count;
            if (existing > 0 && !options.Resume)
                throw new CliUserException($"study '{name}' in {description} already has {existing} trials; pass --resume to continue it, or use another --out or --storage");
            return new SweepStudy(storage, description, name, study, existing);
        }
        catch (Exception e)
        {
            storage.Dispose();
            if (e is ArgumentException) throw new CliUserException($"{options.StorageSource}: {e.Message}"); // e.g. the study exists with the other direction
            throw;
        }
    }

    /// <summary>Runs the study until done or <paramref name="cancellation"/> is cancelled. Cancelled, the running trials fail as
    /// "cancelled" and get a WAITING copy, so `--resume` reruns their configurations; finished trials stay; no refit.</summary>
    public SweepOutcome Run(SweepConfig config, string configDirectory, string outDir, SweepStudy sweepStudy, SweepRunOptions options,
        CancellationToken cancellation = default)
    {
        var settings = config.Sweep;
        int parallel = options.Parallel ?? settings.Parallel;
        var ml = config.CreateContext();
        var report = PipelineRunner.NewReport(config, ml, $"{config.Name} (sweep)", options.RecordMachine);

        var (storage, storageDescription, studyName, study, existing) = (sweepStudy.Storage, sweepStudy.StorageDescription, sweepStudy.Name, sweepStudy.Info, sweepStudy.ExistingTrials);
        var direction = SweepMetrics.DirectionOf(settings.Metric);

        var data = new PipelineRunner(view).LoadData(ml, config, configDirectory, outDir);
        PipelineRunner.CheckSplits(data, new[] { ("data.train_split", config.Data.TrainSplit), ("data.test_split", config.Data.TestSplit) }
            .Concat(config.Pretrain is { } p ? [(p.Split is null ? "data.pretrain_split" : "pretrain.split", p.Split ?? config.Data.PretrainSplit)] : []));
        var train = ml.Data.CacheInMemory(ml.Data.FilterBySplit(data, config.Data.TrainSplit));
        var test = ml.Data.CacheInMemory(ml.Data.FilterBySplit(data, config.Data.TestSplit));
        view.Log($"data: {train.CountRows()} train, {test.CountRows()} test cases");
        var augmenter = config.CreateAugmenter();
        ITransformer? pretrained;
        try { pretrained = Pretrain(ml, config, data, outDir, options.Resume, augmenter, report, cancellation); }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return new SweepOutcome(report, null, storageDescription, new Interruption("pretrain", []));
        }

        // Trials run `parallel` at a time: with threads set, each gets its share (the context's budget applies inside every fit);
        // without, the experiment gives each cores / parallel.
        var trialContext = config.Threads is { } threads && parallel > 1 ? ExperimentConfig.CreateContext(config.Seed, Math.Max(1, threads / parallel)) : ml;
        var strategy = new TransferStrategy(trialContext, pretrained, train.Schema, new TransferStrategyOptions
        {
            Epochs = settings.Epochs, BatchSize = settings.BatchSize, ValidationFraction = settings.ValidationFraction,
            EarlyStoppingPatience = settings.EarlyStoppingPatience, Strategies = settings.Strategies,
            Augmentation = augmenter, ImageNetInputSize = settings.ImagenetInputSize,
        });
        var experiment = new AutoMLExperiment(trialContext)
            .SetPipeline(strategy)
            .SetMetric(settings.Metric, direction)
            .SetMaxTrials(settings.MaxTrials)
            .SetParallelism(parallel)
            .SetSeed(config.Seed)
            .SetTuner(Tuner(settings.Tuner, config.Seed, parallel))
            .SetPruner(Pruner(settings.Pruner, settings.Epochs))
            .SetStudy(storage, studyName)
            .SetOutputFolder(outDir);
        if (settings.TimeLimitSeconds is { } seconds) experiment.SetTrainingTimeInSeconds(seconds);
        if (settings.Folds >= 2) experiment.SetDataset(train, settings.Folds, DefaultColumnNames.GroupId);
        else
        {
            // ML.NET's split keeps each patient (GroupId) on one side; cached, so trials do not re-hash the groups every epoch.
            var holdout = ml.Data.TrainTestSplit(train, testFraction: settings.HoldoutFraction, samplingKeyColumnName: DefaultColumnNames.GroupId, seed: config.Seed);
            experiment.SetDataset(ml.Data.CacheInMemory(holdout.TrainSet), ml.Data.CacheInMemory(holdout.TestSet), DefaultColumnNames.GroupId);
        }
        view.Log($"study '{studyName}' in {storageDescription}: {string.Join(", ", strategy.Strategies)}; {settings.Metric} ({direction.ToString().ToLowerInvariant()}), " +
                 $"{settings.MaxTrials} trials of {settings.Epochs} epochs, tuner {settings.Tuner.ToString().ToLowerInvariant()}, pruner {settings.Pruner.ToString().ToLowerInvariant()}, {parallel} at a time" +
                 (existing > 0 ? $", resuming after {existing} trials" : ""));

        var monitor = new SweepProgress(view, settings.MaxTrials, settings.Metric, direction, existing);
        var failedBefore = storage.GetTrials(study.Id).Where(t => t.State == TrialState.Fail).Select(t => t.Id).ToHashSet();
        var result = experiment.SetMonitor(monitor).Run(cancellation);
        Interruption? interrupted = null;
        if (cancellation.IsCancellationRequested)
        {
            // Only trials the cancel cut short ("cancelled: ..." is how the experiment fails them), not ones that failed on their own.
            Requeue(storage, study.Id, result.Trials.Where(t => t.State == TrialState.Fail && !failedBefore.Contains(t.Id)
                                                                && t.Error?.StartsWith("cancelled", StringComparison.Ordinal) == true));
            result = result with { Trials = storage.GetTrials(study.Id) };
            interrupted = new Interruption("trials", result.Leaderboard.Select(t => $"trial {t.Number}").ToList());
        }
        monitor.Complete(result);
        report.Sweep = Summary(studyName, settings.Metric, direction, result);
        if (interrupted is null && result.BestTrial is { } best)
        {
            try { report.Methods.Add(RefitAndScore(ml, experiment, result, best, test, outDir, cancellation)); }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                interrupted = new Interruption("refit", result.Leaderboard.Select(t => $"trial {t.Number}").ToList());
            }
        }
        (pretrained as IDisposable)?.Dispose();
        return new SweepOutcome(report, result, storageDescription, interrupted);
    }

    /// <summary>Gives each trial the cancel cut short (failed with its configuration) a WAITING copy that `--resume` runs first,
    /// marked as storage marks re-queued stale trials (retry_of / requeued_as), so the failed one does not count against max_trials.</summary>
    private void Requeue(IStudyStorage storage, long studyId, IEnumerable<TrialRecord> interrupted)
    {
        foreach (var trial in interrupted)
        {
            if (trial.Parameters.Count == 0 || trial.SystemAttributes.ContainsKey(TrialAttributes.RequeuedAs)) continue;
            var retry = storage.CreateTrial(studyId, TrialState.Waiting, trial.Parameters,
                new Dictionary<string, string> { [TrialAttributes.RetryOf] = trial.Number.ToString(CultureInfo.InvariantCulture) });
            if (retry is null) continue;
            storage.SetTrialSystemAttribute(trial.Id, TrialAttributes.RequeuedAs, retry.Number.ToString(CultureInfo.InvariantCulture));
            view.Log($"trial {trial.Number} interrupted: re-queued as trial {retry.Number} (--resume runs it)");
        }
    }

    /// <summary>Pretrains the U-Net once (a resumed sweep reuses OUT/models/pretrain.zip, so its trials transfer the same encoder).</summary>
    private ITransformer? Pretrain(MLContext ml, SweepConfig config, IDataView data, string outDir, bool resume, SampleAugmenter? augmenter, RunReport report,
        CancellationToken cancellation)
    {
        if (config.Pretrain is not { } pretrain) return null;
        var path = Path.Combine(outDir, PretrainModel);
        if (resume && File.Exists(path))
        {
            view.Log($"pretrain: reusing {path}");
            try
            {
                return ml.Model.LoadMedical(path, out _);
            }
            catch (InvalidDataException e)
            {
                throw new CliUserException($"cannot reuse the pretrained model for --resume: {e.Message}; delete '{path}' to pretrain again");
            }
        }
        var progress = new TrainingProgressReporter(view, "pretrain");
        var clock = Stopwatch.StartNew();
        var model = PipelineRunner.Pretrain(ml, config, pretrain, data, PipelineRunner.ResolveUNet(config, data), progress, augmenter, cancellation);
        progress.Complete($"trained in {clock.Elapsed.TotalSeconds:F1} s");
        ml.Model.SaveMedical(model, data.Schema, path);
        report.Methods.Add(new MethodResult
        {
            Name = "pretrain", Kind = "segmentation-pretrain", History = progress.History, ModelPath = PretrainModel, TrainingSeconds = clock.Elapsed.TotalSeconds,
        });
        return model;
    }

    private static ITuner Tuner(SweepTuner tuner, int seed, int parallel) => tuner switch
    {
        SweepTuner.Random => new RandomTuner(seed),
        SweepTuner.Grid => new GridTuner(seed),
        SweepTuner.Cfo => new CfoTuner(seed),
        _ => new TpeTuner(seed, new TpeOptions { ConstantLiar = parallel > 1 }),
    };

    private static IPruner Pruner(SweepPruner pruner, int epochs) => pruner switch
    {
        SweepPruner.None => new NoPruner(),
        SweepPruner.Median => new MedianPruner(),
        SweepPruner.Hyperband => new HyperbandPruner(maxResource: epochs),
        _ => new SuccessiveHalvingPruner(),
    };

    /// <summary>The report's kind of a transfer strategy.</summary>
    private static string Kind(string strategy) => strategy switch
    {
        TransferStrategy.FrozenSoftmax or TransferStrategy.FrozenMlp => "frozen-features",
        TransferStrategy.FineTune => "fine-tune",
        _ => strategy,
    };

    /// <summary>Refits the best trial's configuration on the whole train split (saved next to the leaderboard) and scores it on the test split.</summary>
    private MethodResult RefitAndScore(MLContext ml, AutoMLExperiment experiment, ExperimentResult result, TrialRecord best, IDataView test, string outDir,
        CancellationToken cancellation)
    {
        string strategy = best.Parameters.GetString(TransferStrategy.ChoiceName);
        var task = view.AddTask($"refit trial {best.Number} ({strategy})", 1, "fits");
        var clock = Stopwatch.StartNew();
        var refit = experiment.RefitBest(result, cancellation);
        task.Complete($"refitted in {clock.Elapsed.TotalSeconds:F1} s");
        try
        {
            var metrics = ReportMetrics.Classification(ml, refit.Model.Transform(test));
            var method = new MethodResult
            {
                Name = $"best-trial-{best.Number}", Kind = Kind(strategy), Classification = metrics,
                ModelPath = refit.ModelPath is null ? null : Path.GetRelativePath(outDir, refit.ModelPath), TrainingSeconds = clock.Elapsed.TotalSeconds,
            };
            view.Log($"best trial {best.Number} ({strategy}), refitted on the train split: test {PipelineRunner.Summary(method)}");
            return method;
        }
        finally { (refit.Model as IDisposable)?.Dispose(); }
    }

    private static SweepSummary Summary(string studyName, string metric, Direction direction, ExperimentResult result) => new()
    {
        StudyName = studyName, Metric = metric, Direction = direction.ToString().ToLowerInvariant(),
        // WAITING trials (re-queued by an interrupt, for --resume) have not run: they are no rows of the report.
        Trials = result.Trials.Where(t => t.State != TrialState.Waiting).OrderBy(t => t.Number).Select(t => new TrialSummary
        {
            Number = t.Number,
            State = t.State switch { TrialState.Complete => "complete", TrialState.Pruned => "pruned", TrialState.Fail => "failed", _ => "running" },
            Value = t.Value is { } v && double.IsFinite(v) ? v : null,
            Parameters = t.Parameters.Values.ToDictionary(kv => kv.Key, kv => kv.Value is string or bool ? (object)Convert.ToString(kv.Value, CultureInfo.InvariantCulture)! : Convert.ToDouble(kv.Value, CultureInfo.InvariantCulture)),
            IntermediateValues = t.IntermediateValues.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList(),
            Seconds = t.Duration?.TotalSeconds ?? 0,
            Error = t.Error,
        }).ToList(),
    };
}
