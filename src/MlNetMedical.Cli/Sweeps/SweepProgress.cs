using System.Globalization;
using MlNetMedical.AutoML;
using MlNetMedical.Cli.Terminal;

namespace MlNetMedical.Cli.Sweeps;

/// <summary>
/// Shows a study live: one "trials" task whose status says how many trials run, completed, were pruned or failed, and the best
/// so far; each trial's start and end is a log line (on screen with bars or log lines, in the log file only with --quiet/--json).
/// </summary>
public sealed class SweepProgress : IMonitor
{
    private readonly ProgressView _view;
    private readonly string _metric;
    private readonly Direction _direction;
    private readonly IProgressTask _task;
    private readonly object _gate = new();
    private int _running, _completed, _pruned, _failed, _finished;
    private TrialRecord? _best;

    public SweepProgress(ProgressView view, int maxTrials, string metric, Direction direction, int alreadyFinished)
    {
        _view = view; _metric = metric; _direction = direction;
        _finished = alreadyFinished;
        _task = view.AddTask("trials", maxTrials, "trials");
        _task.Update(_finished, Status());
    }

    private static string F(double? v) => v is { } x ? x.ToString("0.####", CultureInfo.InvariantCulture) : "-";

    private string Status() => $"running {_running} · completed {_completed} · pruned {_pruned} · failed {_failed} · best {_metric} " +
                               (_best is null ? "-" : $"{F(_best.Value)} (trial {_best.Number})");

    private void Line(string line)
    {
        if (_view.Mode == ProgressMode.Quiet) _view.LogFileOnly(line);
        else _view.Log(line);
    }

    private void Change(Action update, string? line)
    {
        lock (_gate)
        {
            update();
            _task.Update(_finished, Status());
        }
        if (line is not null) Line(line);
    }

    private static string Describe(TrialRecord t) =>
        string.Join(" ", t.Parameters.Values.Select(kv => $"{kv.Key.Replace(TransferStrategy.ChoiceName + ".", "")}={(kv.Value is double d ? d.ToString("G3", CultureInfo.InvariantCulture) : Convert.ToString(kv.Value, CultureInfo.InvariantCulture))}"));

    public void TrialStarted(TrialRecord trial) => Change(() => _running++, $"trial {trial.Number} started: {Describe(trial)}");

    public void TrialPruned(TrialRecord trial) =>
        Change(() => { _running--; _pruned++; _finished++; }, $"trial {trial.Number} pruned after epoch {(trial.LastStep ?? -1) + 1} ({_metric} per epoch {F(trial.Value)})");

    public void TrialCompleted(TrialRecord trial) =>
        Change(() => { _running--; _completed++; _finished++; }, $"trial {trial.Number} completed: {_metric} {F(trial.Value)} in {trial.Duration?.TotalSeconds ?? 0:F1} s");

    public void TrialFailed(TrialRecord trial, Exception? error) =>
        Change(() => { _running = Math.Max(0, _running - 1); _failed++; _finished++; }, $"trial {trial.Number} failed: {trial.Error ?? error?.Message}");

    public void BestChanged(TrialRecord best) => Change(() => _best = best, $"best so far: trial {best.Number}, {_metric} {F(best.Value)} ({_direction.ToString().ToLowerInvariant()})");

    public void Complete(ExperimentResult result) =>
        _task.Complete($"{result.Trials.Count} trials: {result.Trials.Count(t => t.State == TrialState.Complete)} completed, " +
                       $"{result.Trials.Count(t => t.State == TrialState.Pruned)} pruned, {result.Trials.Count(t => t.State == TrialState.Fail)} failed; " +
                       $"best {_metric} {F(result.BestTrial?.Value)}" + (result.BestTrial is { } b ? $" (trial {b.Number})" : ""));
}
