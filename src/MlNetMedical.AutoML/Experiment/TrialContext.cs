using System.Globalization;

namespace MlNetMedical.AutoML;

/// <summary>Thrown (or raised through <see cref="TrialContext.ReportOrPrune"/>) to stop a trial the pruner gave up on.</summary>
public sealed class TrialPrunedException(int trialNumber, int step) : Exception($"Trial {trialNumber} was pruned at step {step}.")
{
    public int TrialNumber { get; } = trialNumber;
    public int Step { get; } = step;
}

/// <summary>What a running trial sees: its configuration, a way to report per-step values, its cancellation and thread budget.</summary>
public sealed class TrialContext
{
    private readonly Func<int, double, bool> _report;
    private readonly Action<string, string> _setAttribute;

    internal TrialContext(int number, ParameterSet parameters, int threadBudget, CancellationToken cancellation,
                          Func<int, double, bool> report, Action<string, string> setAttribute, string metric = "metric", ExperimentDataset? dataset = null)
    {
        Number = number; Parameters = parameters; ThreadBudget = threadBudget; CancellationToken = cancellation;
        _report = report; _setAttribute = setAttribute; Metric = metric; Dataset = dataset;
    }

    public int Number { get; }
    public ParameterSet Parameters { get; }

    /// <summary>The metric the study optimises (<see cref="AutoMLExperiment.SetMetric"/>).</summary>
    public string Metric { get; }

    /// <summary>The folds to fit and score (<see cref="AutoMLExperiment.SetDataset(IDataView, IDataView, string?)"/>); null without a dataset.</summary>
    public ExperimentDataset? Dataset { get; }

    /// <summary>Threads this trial may use (cores / parallelism, at least 1): apply it to the engine's intra-op threads.</summary>
    public int ThreadBudget { get; }

    /// <summary>Cancelled when the experiment's time budget runs out or the caller cancels.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Whether the pruner has stopped this trial (after a <see cref="Report"/>).</summary>
    public bool IsPruned { get; private set; }

    /// <summary>Records the metric at <paramref name="step"/> (an epoch) and returns true when the trial should stop.</summary>
    public bool Report(int step, double value)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"Trial {Number}: report steps start at 0, got {step}.");
        if (_report(step, value)) IsPruned = true;
        return IsPruned;
    }

    /// <summary>As <see cref="Report"/>, but throws <see cref="TrialPrunedException"/> when the trial should stop.</summary>
    public void ReportOrPrune(int step, double value)
    {
        if (Report(step, value)) throw new TrialPrunedException(Number, step);
    }

    /// <summary>Stores an extra value with the trial (kept in the study as a user attribute).</summary>
    public void SetAttribute(string key, string value) => _setAttribute(key, value);

    public void SetAttribute(string key, double value) => _setAttribute(key, value.ToString("R", CultureInfo.InvariantCulture));
}

/// <summary>
/// Runs one trial and returns its metrics by name. The seam for sweepable pipelines: a pipeline runner builds
/// the estimator from <see cref="TrialContext.Parameters"/>, trains it reporting one value per epoch, and
/// returns the validation metrics.
/// </summary>
public interface ITrialRunner
{
    Task<IReadOnlyDictionary<string, double>> RunAsync(TrialContext trial);
}

/// <summary>Callbacks on the life of trials; implement only what you need. Called from worker threads.</summary>
public interface IMonitor
{
    void TrialStarted(TrialRecord trial) { }
    void TrialReported(TrialRecord trial, int step, double value) { }
    void TrialPruned(TrialRecord trial) { }
    void TrialCompleted(TrialRecord trial) { }
    void TrialFailed(TrialRecord trial, Exception? error) { }
    void BestChanged(TrialRecord best) { }
}
