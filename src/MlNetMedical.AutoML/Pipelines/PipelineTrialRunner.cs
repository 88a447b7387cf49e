using MlNetMedical.Catalogs;
using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;
using MlNetMedical.Training;
using MlNetMedical.Models;

namespace MlNetMedical.AutoML;

/// <summary>What the trial runner hands a pipeline's trainers: where to report each epoch, when to stop, and the group column.</summary>
/// <param name="EpochMetric">The per-epoch validation metric the pruner watches; trainers also pick their best epoch by it.</param>
public sealed record TrialTraining(IEpochMetricsCallback? EpochCallback, string EpochMetric, CancellationToken CancellationToken, string? GroupColumnName)
{
    /// <summary>The rows the trial is scored on (the experiment's validation rows, or the fold's): network trainers score them after
    /// each epoch (<see cref="TrainingOptions.ValidationData"/>), so the pruner sees the values trials are ranked by and every
    /// training row trains. Null = each trainer holds out a share of its training groups instead.</summary>
    public IDataView? ValidationData { get; init; }
}

/// <summary>
/// A pipeline whose configuration is a point of <see cref="SearchSpace"/>; <see cref="BuildEstimator"/> makes the estimator of
/// one configuration. The experiment fits it per trial (reporting epochs to the pruner) and refits the best one.
/// </summary>
public interface ISweepablePipeline
{
    SearchSpace SearchSpace { get; }

    /// <summary>The estimator for <paramref name="parameters"/>; its network trainers take <paramref name="training"/>'s callback,
    /// cancellation and group column.</summary>
    IEstimator<ITransformer> BuildEstimator(ParameterSet parameters, TrialTraining training);
}

/// <summary>The classification metrics a sweep can optimise, as trials return them, and the per-epoch value that stands for each.</summary>
public static class SweepMetrics
{
    public const string Accuracy = "accuracy", BalancedAccuracy = "balanced_accuracy", MacroF1 = "macro_f1", LogLoss = "log_loss", Auc = "auc";

    public static IReadOnlyList<string> Names { get; } = [Accuracy, BalancedAccuracy, MacroF1, LogLoss, Auc];

    public static Direction DirectionOf(string metric) => Check(metric) == LogLoss ? Direction.Minimize : Direction.Maximize;

    /// <summary>The trainers' per-epoch validation metric reported to the pruner: "loss" for log-loss, else "accuracy".</summary>
    public static string EpochMetricOf(string metric) => Check(metric) == LogLoss ? "loss" : "accuracy";

    /// <summary>The sweep metrics of ML.NET's evaluation of a model's validation rows: micro accuracy, macro accuracy (balanced
    /// accuracy), macro F1 from the per-class precision and recall, log-loss, and <paramref name="macroAuc"/> (ML.NET has no
    /// multiclass AUC: pass <c>ml.MulticlassClassification.EvaluateRoc(...).MacroAuc</c>; NaN when not given).</summary>
    public static Dictionary<string, double> From(MulticlassClassificationMetrics m, double macroAuc = double.NaN)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new()
        {
            [Accuracy] = m.MicroAccuracy, [BalancedAccuracy] = m.MacroAccuracy, [MacroF1] = MacroF1Of(m), [LogLoss] = m.LogLoss, [Auc] = macroAuc,
        };
    }

    /// <summary>Mean over the classes present in the labels or the predictions of F1 = 2PR/(P+R) = 2TP/(2TP+FP+FN), from ML.NET's
    /// confusion matrix (rows: true class, columns: predicted); NaN when no row was scored.</summary>
    public static double MacroF1Of(MulticlassClassificationMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var counts = m.ConfusionMatrix.Counts;
        int k = counts.Count;
        double sum = 0;
        int present = 0;
        for (int c = 0; c < k; c++)
        {
            double tp = counts[c][c], fn = counts[c].Sum() - tp, fp = 0;
            for (int r = 0; r < k; r++) if (r != c) fp += counts[r][c];
            if (tp + fp + fn == 0) continue;
            sum += 2 * tp / (2 * tp + fp + fn);
            present++;
        }
        return present == 0 ? double.NaN : sum / present;
    }

    public static string Check(string metric) => Names.Contains(metric) ? metric
        : throw new ArgumentException($"Unknown sweep metric '{metric}'; allowed: {string.Join(", ", Names)}.", nameof(metric));
}

/// <summary>
/// Runs a <see cref="ISweepablePipeline"/> trial: on each fold, fits the configuration (network trainers score the fold's validation
/// rows after every epoch; the first fold's per-epoch values are reported to the pruner), scores the validation rows, and returns the
/// metrics averaged over folds. Training runs on the calling thread under the
/// trial's torch thread budget.
/// </summary>
internal sealed class PipelineTrialRunner(ISweepablePipeline pipeline, MLContext ml, ExperimentDataset data) : ITrialRunner
{
    public const string EpochsTrainedAttribute = "epochs_trained";

    public Task<IReadOnlyDictionary<string, double>> RunAsync(TrialContext trial)
    {
        using var threads = TorchRuntime.ThreadBudget(trial.ThreadBudget);
        var sums = new Dictionary<string, double>();
        int epochs = 0;
        foreach (var fold in data.Folds)
        {
            string epochMetric = SweepMetrics.EpochMetricOf(trial.Metric);
            var reporter = new TrialEpochReporter(trial, fold.Index == 0, epochMetric);
            var model = pipeline.BuildEstimator(trial.Parameters, new TrialTraining(reporter, epochMetric, trial.CancellationToken, data.GroupColumnName) { ValidationData = fold.Validation }).Fit(fold.Train);
            try
            {
                epochs += reporter.Epochs;
                if (trial.IsPruned) throw new TrialPrunedException(trial.Number, reporter.Epochs - 1);
                var scored = model.Transform(fold.Validation);
                var metrics = ml.MulticlassClassification.Evaluate(scored);
                foreach (var (name, value) in SweepMetrics.From(metrics, ml.MulticlassClassification.EvaluateRoc(scored).MacroAuc))
                    sums[name] = sums.GetValueOrDefault(name) + value;
            }
            finally { Models.Dispose(model); }
        }
        trial.SetAttribute(EpochsTrainedAttribute, epochs);
        return Task.FromResult<IReadOnlyDictionary<string, double>>(sums.ToDictionary(kv => kv.Key, kv => kv.Value / data.Folds.Count));
    }
}

/// <summary>Counts epochs and, on the reporting fold, hands the epoch's validation metric to the pruner (false = stop).</summary>
internal sealed class TrialEpochReporter(TrialContext trial, bool report, string metric) : IEpochMetricsCallback
{
    public int Epochs { get; private set; }

    public bool OnEpoch(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        Epochs = epoch + 1;
        if (!report) return true;
        if (!metrics.TryGetValue(metric, out var value))
            throw new InvalidOperationException($"Trial {trial.Number}: the trainer reported [{string.Join(", ", metrics.Keys)}] without '{metric}'; give it a validation fraction > 0.");
        return !trial.Report(epoch, value);
    }
}

/// <summary>Finding and freeing the network stages of fitted models.</summary>
internal static class Models
{
    // ML.NET's TransformerChain enumerates its stages (and has no public list of them).
    private static IEnumerable<ITransformer>? Stages(ITransformer model) => model as IEnumerable<ITransformer>;

    /// <summary>The model itself when it is a network, else the last network stage of its chain; null when there is none.</summary>
    public static ImageNetworkTransformer? FindNetwork(ITransformer model) =>
        model as ImageNetworkTransformer ?? Stages(model)?.Select(FindNetwork).LastOrDefault(n => n is not null);

    /// <summary>Frees the native weights a fitted model holds (its disposable stages, in a chain or alone).</summary>
    public static void Dispose(ITransformer model)
    {
        if (Stages(model) is { } stages) foreach (var t in stages) Dispose(t);
        else (model as IDisposable)?.Dispose();
    }
}
