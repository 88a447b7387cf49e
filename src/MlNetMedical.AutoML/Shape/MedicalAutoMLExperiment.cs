using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Training;

namespace MlNetMedical.AutoML;

/// <summary>The metrics of ML.NET AutoML's <c>SetMulticlassClassificationMetric</c>.</summary>
public enum MulticlassClassificationMetric { MicroAccuracy, MacroAccuracy, LogLoss, LogLossReduction, TopKAccuracy }

/// <summary>Segmentation metrics a sweep can optimise (<c>ml.Segmentation.Evaluate</c>'s means over classes).</summary>
public enum SegmentationMetric { Dice, IoU, Hausdorff95, MeanSurfaceDistance }

/// <summary>One trial's identity, times and configuration, as ML.NET AutoML's <c>TrialSettings</c>.</summary>
/// <param name="TrialId">The trial's number in the study.</param>
/// <param name="Parameter">Its configuration (ML.NET's <c>Parameter</c>): the pipeline's parameters by full name (<c>e1.l2</c>).</param>
public sealed record TrialSettings(int TrialId, DateTime StartedAtUtc, DateTime? EndedAtUtc, ParameterSet Parameter)
{
    /// <summary>The trial as stored (state, intermediate values, attributes).</summary>
    public TrialRecord? Record { get; init; }

    internal static TrialSettings Of(TrialRecord t) =>
        new(t.Number, t.Started ?? DateTime.UtcNow, t.Completed, t.Parameters) { Record = t };
}

/// <summary>A completed trial with its fitted model, as ML.NET AutoML's <c>TrialResult</c>.</summary>
/// <param name="Model">The model the trial fitted (with folds: the fold that scored best); the best trial's stays alive, others' native weights are freed after the monitor's calls.</param>
/// <param name="Metric">The optimised metric's value.</param>
/// <param name="Loss">The metric as a loss (negated when maximised), as ML.NET's <c>Loss</c>.</param>
/// <param name="Metrics">Every metric the trial computed, by the engine's names.</param>
public sealed record TrialResult(TrialSettings TrialSettings, ITransformer Model, double Metric, double Loss, double DurationInMilliseconds,
                                 IReadOnlyDictionary<string, double> Metrics);

/// <summary>ML.NET AutoML's <c>IMonitor</c>: called from worker threads (serialised by the experiment).</summary>
public interface IAutoMLMonitor
{
    void ReportCompletedTrial(TrialResult result);
    void ReportBestTrial(TrialResult result);
    void ReportFailTrial(TrialSettings settings, Exception? exception = null);
    void ReportRunningTrial(TrialSettings settings);

    /// <summary>Added (ML.NET has no pruning): a trial the pruner stopped at its last reported step.</summary>
    void ReportPrunedTrial(TrialSettings settings) { }
}

/// <summary>
/// The sweep engine (<see cref="AutoMLExperiment"/>) in ML.NET AutoML's shape: <c>ml.MedicalAuto().CreateExperiment()</c>, then
/// <see cref="SetPipeline(SweepablePipeline)"/>, <see cref="SetDataset(IDataView, IDataView, string?)"/>, a metric setter, a stopping
/// rule and a tuner setter, and <see cref="RunAsync"/> for the best trial with its model. What ML.NET lacks (pruners, resumable
/// SQLite/PostgreSQL studies, parallel trials) is set on <see cref="Engine"/> or through the pass-through setters here.
/// </summary>
public sealed class MedicalAutoMLExperiment
{
    private readonly MLContext _ml;
    private readonly MonitorAdapter _adapter;
    private readonly TrialModels _models = new();
    private Func<MLContext, ParameterSet, TrialTraining?, IEstimator<ITransformer>>? _build;
    private SearchSpace? _space;
    private Func<int, ExperimentDataset>? _dataset;
    private MetricSpec _metric = MetricSpec.Multiclass(MulticlassClassificationMetric.MicroAccuracy, DefaultColumnNames.Label, DefaultColumnNames.PredictedLabel, 3);
    private Func<int, int, ITuner>? _tuner;
    private int? _seed;
    private int _parallelism = 1;

    internal MedicalAutoMLExperiment(MLContext ml)
    {
        _ml = ml;
        Engine = new AutoMLExperiment(ml);
        _adapter = new MonitorAdapter(this);
        Engine.SetMonitor(_adapter);
    }

    /// <summary>The engine underneath, for what ML.NET AutoML has no setter for (pruner, study storage, heartbeat, enqueued trials).</summary>
    public AutoMLExperiment Engine { get; }

    /// <summary>The tuner of the last run (default: cost-frugal CFO, as ML.NET's default ECI-CFO).</summary>
    public ITuner? Tuner { get; private set; }

    /// <summary>The engine's result of the last run: every trial, the leaderboard and its files, warm-start count.</summary>
    public ExperimentResult? LastResult { get; private set; }

    public MedicalAutoMLExperiment SetPipeline(SweepablePipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _space = pipeline.SearchSpace;
        _build = (ml, p, t) => pipeline.BuildEstimator(ml, p, t);
        return this;
    }

    public MedicalAutoMLExperiment SetPipeline(SweepableEstimator estimator) => SetPipeline((estimator ?? throw new ArgumentNullException(nameof(estimator))).BuildSweepablePipeline());

    /// <summary>A pipeline whose parameters are its own space's (e.g. <see cref="TransferStrategy"/>: <c>strategy</c>, <c>strategy.finetune.lr</c>, …).</summary>
    public MedicalAutoMLExperiment SetPipeline(ISweepablePipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        if (pipeline is SweepablePipeline s) return SetPipeline(s);
        _space = pipeline.SearchSpace;
        _build = (_, p, t) => pipeline.BuildEstimator(p, t ?? new TrialTraining(null, _metric.EpochMetric, default, null));
        return this;
    }

    /// <summary>Trials fit on <paramref name="train"/> and are scored on <paramref name="validation"/> (ML.NET: <c>SetDataset(train, test)</c>).</summary>
    /// <param name="samplingKeyColumnName">Added: keeps a patient's rows on one side of the network trainers' own per-epoch validation split.</param>
    public MedicalAutoMLExperiment SetDataset(IDataView train, IDataView validation, string? samplingKeyColumnName = null)
    {
        var split = ExperimentDataset.FromSplit(train, validation, samplingKeyColumnName);
        _dataset = _ => split;
        return this;
    }

    public MedicalAutoMLExperiment SetDataset(DataOperationsCatalog.TrainTestData trainTestSplit) =>
        SetDataset(trainTestSplit.TrainSet, trainTestSplit.TestSet);

    /// <summary>Trials are scored by <paramref name="fold"/>-fold cross-validation (ML.NET's <c>ml.Data.CrossValidationSplit</c>, seeded at
    /// <see cref="RunAsync"/> by the experiment's seed, so the order of <see cref="SetSeed"/> and this call does not matter).</summary>
    /// <param name="samplingKeyColumnName">Rows sharing it (a patient) stay in one fold.</param>
    public MedicalAutoMLExperiment SetDataset(IDataView dataset, int fold = 10, string? samplingKeyColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (fold < 2) throw new ArgumentOutOfRangeException(nameof(fold), fold, "Cross-validation needs at least 2 folds.");
        if (samplingKeyColumnName is not null && dataset.Schema.GetColumnOrNull(samplingKeyColumnName) is null)
            throw new ArgumentException($"The sampling key column '{samplingKeyColumnName}' is not in the dataset; its columns: {dataset.Schema.Describe()}.", nameof(samplingKeyColumnName));
        _dataset = seed => ExperimentDataset.FromFolds(_ml, dataset, fold, samplingKeyColumnName, seed);
        return this;
    }

    /// <summary>Scores trials with <c>ml.MulticlassClassification.Evaluate</c> and optimises <paramref name="metric"/>.</summary>
    /// <param name="topKPredictionCount">Added: k of <see cref="MulticlassClassificationMetric.TopKAccuracy"/>.</param>
    public MedicalAutoMLExperiment SetMulticlassClassificationMetric(MulticlassClassificationMetric metric, string labelColumn = DefaultColumnNames.Label,
        string predictedColumn = DefaultColumnNames.PredictedLabel, int topKPredictionCount = 3)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(labelColumn);
        ArgumentException.ThrowIfNullOrWhiteSpace(predictedColumn);
        if (!Enum.IsDefined(metric)) throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown multiclass metric.");
        if (topKPredictionCount < 1) throw new ArgumentOutOfRangeException(nameof(topKPredictionCount), topKPredictionCount, "Top-k needs k >= 1.");
        _metric = MetricSpec.Multiclass(metric, labelColumn, predictedColumn, topKPredictionCount);
        return this;
    }

    /// <summary>Scores trials with <c>ml.Segmentation.Evaluate</c> (mean over classes) and optimises <paramref name="metric"/>
    /// (Dice and IoU maximised, HD95 and mean surface distance minimised).</summary>
    public MedicalAutoMLExperiment SetSegmentationMetric(SegmentationMetric metric, string labelColumn = DefaultColumnNames.Mask,
        string predictedColumn = DefaultColumnNames.PredictedMask)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(labelColumn);
        ArgumentException.ThrowIfNullOrWhiteSpace(predictedColumn);
        if (!Enum.IsDefined(metric)) throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown segmentation metric.");
        _metric = MetricSpec.Segmentation(metric, labelColumn, predictedColumn);
        return this;
    }

    /// <summary>The metric name trials store the optimised value under (the engine's names: <c>accuracy</c>, <c>dice</c>, …).</summary>
    public string MetricName => _metric.Name;

    public MedicalAutoMLExperiment SetTrainingTimeInSeconds(uint trainingTimeInSeconds)
    {
        Engine.SetTrainingTimeInSeconds(trainingTimeInSeconds); return this;
    }

    /// <summary>Trials in the study as a whole (the engine's <see cref="AutoMLExperiment.SetMaxTrials"/>).</summary>
    public MedicalAutoMLExperiment SetMaxModelToExplore(int maxModel)
    {
        if (maxModel < 1) throw new ArgumentOutOfRangeException(nameof(maxModel), maxModel, "Max models to explore must be >= 1.");
        Engine.SetMaxTrials(maxModel); return this;
    }

    /// <summary>Optuna's TPE (constant liar when trials run in parallel).</summary>
    public MedicalAutoMLExperiment SetTpeTuner(TpeOptions? options = null)
    {
        _tuner = (seed, parallelism) => new TpeTuner(seed, options ?? new TpeOptions { ConstantLiar = parallelism > 1 }); return this;
    }

    /// <summary>ML.NET's default tuner; here FLAML's cost-frugal CFO (FLOW2) over the whole pipeline space (no per-trainer cost model).</summary>
    public MedicalAutoMLExperiment SetEciCostFrugalTuner() => SetCostFrugalTuner();

    public MedicalAutoMLExperiment SetCostFrugalTuner()
    {
        _tuner = (seed, _) => new CfoTuner(seed); return this;
    }

    public MedicalAutoMLExperiment SetRandomSearchTuner(int? seed = null)
    {
        _tuner = (s, _) => new RandomTuner(seed ?? s); return this;
    }

    /// <summary>Every grid point: choices and int steps as they are, floats at <paramref name="step"/> points; the study ends when the grid is done.</summary>
    public MedicalAutoMLExperiment SetGridSearchTuner(int step = 10)
    {
        if (step < 2) throw new ArgumentOutOfRangeException(nameof(step), step, "A grid needs at least 2 points per float parameter.");
        _tuner = (seed, _) => new GridTuner(seed, step); return this;
    }

    public MedicalAutoMLExperiment SetTuner(ITuner tuner)
    {
        ArgumentNullException.ThrowIfNull(tuner);
        _tuner = (_, _) => tuner; return this;
    }

    public MedicalAutoMLExperiment SetMonitor(IAutoMLMonitor monitor)
    {
        _adapter.Monitors.Add(monitor ?? throw new ArgumentNullException(nameof(monitor))); return this;
    }

    /// <summary>The engine's finer monitor (reports per epoch, pruned trials, ...).</summary>
    public MedicalAutoMLExperiment SetMonitor(IMonitor monitor) { Engine.SetMonitor(monitor); return this; }

    /// <summary>Tuner and fold seed (default: the context's <c>ml.Medical().Seed</c>).</summary>
    public MedicalAutoMLExperiment SetSeed(int seed) { _seed = seed; Engine.SetSeed(seed); return this; }

    public MedicalAutoMLExperiment SetPruner(IPruner pruner) { Engine.SetPruner(pruner); return this; }

    public MedicalAutoMLExperiment SetParallelism(int trials) { Engine.SetParallelism(trials); _parallelism = trials; return this; }

    public MedicalAutoMLExperiment SetStudy(IStudyStorage storage, string name) { Engine.SetStudy(storage, name); return this; }

    public MedicalAutoMLExperiment SetStudy(string sqlitePath, string name) { Engine.SetStudy(sqlitePath, name); return this; }

    public TrialResult Run(CancellationToken cancellation = default) => RunAsync(cancellation).GetAwaiter().GetResult();

    /// <summary>Runs the study and returns its best trial with its fitted model. When the best trial ran in an earlier run or another
    /// process (a resumed study), its configuration is fitted again on the first fold's training rows.</summary>
    /// <exception cref="InvalidOperationException">No trial completed (the message gives the first failure).</exception>
    public async Task<TrialResult> RunAsync(CancellationToken cancellation = default)
    {
        var build = _build ?? throw new InvalidOperationException("Call SetPipeline before RunAsync.");
        var makeData = _dataset ?? throw new InvalidOperationException("Call SetDataset before RunAsync.");
        int seed = _seed ?? _ml.Medical().Seed;
        var data = makeData(seed);
        var metric = _metric;
        Engine.SetSearchSpace(_space!)
              .SetMetric(metric.Name, metric.Direction)
              .SetTrialRunner(new ShapeTrialRunner(_ml, build, data, metric, _models));
        if (_seed is null) Engine.SetSeed(seed);
        Tuner = _tuner?.Invoke(seed, _parallelism) ?? new CfoTuner(seed);
        Engine.SetTuner(Tuner);
        _adapter.Begin(metric.Direction);
        ExperimentResult result;
        try { result = await Engine.RunAsync(cancellation).ConfigureAwait(false); }
        catch
        {
            if (_adapter.End() is { } held) Models.Dispose(held.Model);
            throw;
        }
        finally { _models.Clear(); }
        LastResult = result;
        var best = result.BestTrial;
        var kept = _adapter.End();
        if (kept is not null && kept.TrialSettings.TrialId == best?.Number) return kept with { TrialSettings = TrialSettings.Of(best!) };
        if (kept is not null) Models.Dispose(kept.Model);
        if (best is null)
        {
            var failure = result.Trials.FirstOrDefault(t => t.Error is not null)?.Error;
            throw new InvalidOperationException($"Study '{result.Study.Name}' has no completed trial ({result.Trials.Count} trials" +
                                                (failure is null ? ")." : $"; first failure: {failure})."));
        }
        // The best trial ran elsewhere (an earlier run or another worker): fit its configuration as a trial would.
        var fold = data.Folds[0];
        var model = build(_ml, _space!.Validate(best.Parameters), new TrialTraining(null, metric.EpochMetric, cancellation, data.GroupColumnName) { ValidationData = fold.Validation }).Fit(fold.Train);
        var metrics = best.UserAttributes.Where(kv => double.TryParse(kv.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
                          .ToDictionary(kv => kv.Key, kv => double.Parse(kv.Value, System.Globalization.CultureInfo.InvariantCulture));
        metrics[metric.Name] = best.Value!.Value;
        return new TrialResult(TrialSettings.Of(best), model, best.Value!.Value, metric.Direction.ToLoss(best.Value!.Value),
                               best.Duration?.TotalMilliseconds ?? 0, metrics);
    }

    /// <summary>Feeds the ML.NET-shaped monitors from the engine's and keeps the best trial's model.</summary>
    private sealed class MonitorAdapter(MedicalAutoMLExperiment owner) : IMonitor
    {
        private readonly object _gate = new();
        private Direction _direction;
        private TrialResult? _best;

        public List<IAutoMLMonitor> Monitors { get; } = new();

        public void Begin(Direction direction) { lock (_gate) { _direction = direction; _best = null; } }

        /// <summary>The best trial of this run with its model (ownership passes to the caller).</summary>
        public TrialResult? End() { lock (_gate) { var b = _best; _best = null; return b; } }

        public void TrialStarted(TrialRecord trial)
        {
            lock (_gate) foreach (var m in Monitors) m.ReportRunningTrial(TrialSettings.Of(trial));
        }

        public void TrialPruned(TrialRecord trial)
        {
            lock (_gate)
            {
                if (owner._models.Take(trial.Number) is { } model) Models.Dispose(model.Model);
                foreach (var m in Monitors) m.ReportPrunedTrial(TrialSettings.Of(trial));
            }
        }

        public void TrialFailed(TrialRecord trial, Exception? error)
        {
            lock (_gate)
            {
                if (owner._models.Take(trial.Number) is { } model) Models.Dispose(model.Model);
                var e = error ?? new InvalidOperationException(trial.Error ?? $"Trial {trial.Number} failed.");
                foreach (var m in Monitors) m.ReportFailTrial(TrialSettings.Of(trial), e);
            }
        }

        public void TrialCompleted(TrialRecord trial)
        {
            lock (_gate)
            {
                if (owner._models.Take(trial.Number) is not { } fitted || trial.Value is not { } value) return;
                var result = new TrialResult(TrialSettings.Of(trial), fitted.Model, value, _direction.ToLoss(value),
                                             trial.Duration?.TotalMilliseconds ?? 0, fitted.Metrics);
                bool better = !double.IsNaN(value) && (_best is null || _direction.IsBetter(value, _best.Metric));
                foreach (var m in Monitors) m.ReportCompletedTrial(result);
                if (better)
                {
                    if (_best is not null) Models.Dispose(_best.Model);
                    _best = result;
                    foreach (var m in Monitors) m.ReportBestTrial(result);
                }
                else Models.Dispose(result.Model);
            }
        }
    }
}

/// <summary>The fitted models of trials between the runner and the monitor adapter, by trial number.</summary>
internal sealed class TrialModels
{
    private readonly Dictionary<int, (ITransformer Model, IReadOnlyDictionary<string, double> Metrics)> _models = new();

    public void Put(int trial, ITransformer model, IReadOnlyDictionary<string, double> metrics)
    {
        lock (_models) _models[trial] = (model, metrics);
    }

    public (ITransformer Model, IReadOnlyDictionary<string, double> Metrics)? Take(int trial)
    {
        lock (_models) return _models.Remove(trial, out var m) ? m : null;
    }

    /// <summary>Frees models no monitor call took (trials cancelled by the time budget).</summary>
    public void Clear()
    {
        lock (_models)
        {
            foreach (var (model, _) in _models.Values) Models.Dispose(model);
            _models.Clear();
        }
    }
}

/// <summary>The optimised metric: its engine name, direction, the trainers' per-epoch stand-in, and how scored rows are evaluated.</summary>
internal sealed record MetricSpec(string Name, Direction Direction, string EpochMetric, Func<MLContext, IDataView, Dictionary<string, double>> Evaluate)
{
    public const string LogLossReduction = "log_loss_reduction", TopKAccuracy = "top_k_accuracy";
    public const string Dice = "dice", IoU = "iou", Hausdorff95 = "hd95", MeanSurfaceDistance = "mean_surface_distance";

    public static MetricSpec Multiclass(MulticlassClassificationMetric metric, string label, string predicted, int topK)
    {
        var (name, direction) = metric switch
        {
            MulticlassClassificationMetric.MicroAccuracy => (SweepMetrics.Accuracy, Direction.Maximize),
            MulticlassClassificationMetric.MacroAccuracy => (SweepMetrics.BalancedAccuracy, Direction.Maximize),
            MulticlassClassificationMetric.LogLoss => (SweepMetrics.LogLoss, Direction.Minimize),
            MulticlassClassificationMetric.LogLossReduction => (LogLossReduction, Direction.Maximize),
            _ => (TopKAccuracy, Direction.Maximize),
        };
        string epoch = metric == MulticlassClassificationMetric.LogLoss ? "loss" : "accuracy";
        return new MetricSpec(name, direction, epoch, (ml, scored) =>
        {
            Require(scored, label, "label"); Require(scored, predicted, "predicted label");
            var m = ml.MulticlassClassification.Evaluate(scored, label, predictedLabelColumnName: predicted, topKPredictionCount: topK);
            var all = SweepMetrics.From(m, ml.MulticlassClassification.EvaluateRoc(scored, label).MacroAuc);
            all[LogLossReduction] = m.LogLossReduction;
            all[TopKAccuracy] = m.TopKAccuracy;
            return all;
        });
    }

    public static MetricSpec Segmentation(SegmentationMetric metric, string label, string predicted)
    {
        var (name, direction) = metric switch
        {
            SegmentationMetric.Dice => (Dice, Direction.Maximize),
            SegmentationMetric.IoU => (IoU, Direction.Maximize),
            SegmentationMetric.Hausdorff95 => (Hausdorff95, Direction.Minimize),
            _ => (MeanSurfaceDistance, Direction.Minimize),
        };
        string epoch = direction == Direction.Maximize ? "dice" : "loss";
        return new MetricSpec(name, direction, epoch, (ml, scored) =>
        {
            Require(scored, label, "true mask"); Require(scored, predicted, "predicted mask");
            var m = ml.Segmentation.Evaluate(scored, label, predicted);
            return new() { [Dice] = m.MeanDice, [IoU] = m.MeanIoU, [Hausdorff95] = m.MeanHausdorff95, [MeanSurfaceDistance] = m.MeanSurfaceDistance };
        });
    }

    private static void Require(IDataView scored, string column, string what)
    {
        if (scored.Schema.GetColumnOrNull(column) is null)
            throw new ArgumentException($"The metric's {what} column '{column}' is not in the model's output; its columns: {scored.Schema.Describe()}.");
    }
}

/// <summary>Fits one configuration per fold (the first fold's epochs go to the pruner), evaluates it with the experiment's metric,
/// keeps the best fold's model for <see cref="MedicalAutoMLExperiment"/> and returns the metrics averaged over folds.</summary>
internal sealed class ShapeTrialRunner(MLContext ml, Func<MLContext, ParameterSet, TrialTraining?, IEstimator<ITransformer>> build,
                                       ExperimentDataset data, MetricSpec metric, TrialModels models) : ITrialRunner
{
    public Task<IReadOnlyDictionary<string, double>> RunAsync(TrialContext trial)
    {
        using var threads = TorchRuntime.ThreadBudget(trial.ThreadBudget);
        var sums = new Dictionary<string, double>();
        int epochs = 0;
        ITransformer? bestModel = null;
        double bestValue = double.NaN;
        try
        {
            foreach (var fold in data.Folds)
            {
                var reporter = new TrialEpochReporter(trial, fold.Index == 0, metric.EpochMetric);
                var model = build(ml, trial.Parameters, new TrialTraining(reporter, metric.EpochMetric, trial.CancellationToken, data.GroupColumnName) { ValidationData = fold.Validation }).Fit(fold.Train);
                epochs += reporter.Epochs;
                if (trial.IsPruned) { Models.Dispose(model); throw new TrialPrunedException(trial.Number, reporter.Epochs - 1); }
                Dictionary<string, double> values;
                try { values = metric.Evaluate(ml, model.Transform(fold.Validation)); }
                catch { Models.Dispose(model); throw; }
                foreach (var (name, v) in values) sums[name] = sums.GetValueOrDefault(name) + v;
                double value = values[metric.Name];
                if (bestModel is null || metric.Direction.IsBetter(value, bestValue)) { if (bestModel is not null) Models.Dispose(bestModel); bestModel = model; bestValue = value; }
                else Models.Dispose(model);
            }
        }
        catch
        {
            if (bestModel is not null) Models.Dispose(bestModel);
            throw;
        }
        if (epochs > 0) trial.SetAttribute(PipelineTrialRunner.EpochsTrainedAttribute, epochs);
        var averages = sums.ToDictionary(kv => kv.Key, kv => kv.Value / data.Folds.Count);
        models.Put(trial.Number, bestModel!, averages);
        return Task.FromResult<IReadOnlyDictionary<string, double>>(averages);
    }
}
