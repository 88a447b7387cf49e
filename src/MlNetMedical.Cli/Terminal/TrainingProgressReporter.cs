using System.Globalization;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Training;

namespace MlNetMedical.Cli.Terminal;

/// <summary>Shows a trainer's <see cref="TrainingProgress"/> as one task (epochs × steps) and keeps the epoch-end
/// reports as the method's learning curve.</summary>
public sealed class TrainingProgressReporter(ProgressView view, string name) : IProgress<TrainingProgress>
{
    private IProgressTask? _task;
    private int _lastEpochLogged;

    /// <summary>One record per finished epoch, in order.</summary>
    public List<EpochRecord> History { get; } = [];

    public void Report(TrainingProgress value)
    {
        double total = (double)value.Epochs * Math.Max(value.StepsPerEpoch, 1);
        _task ??= view.AddTask(name, total, "steps");
        double done = (double)(value.Epoch - 1) * value.StepsPerEpoch + value.Step;
        var status = string.Create(CultureInfo.InvariantCulture, $"epoch {value.Epoch}/{value.Epochs} loss {value.Loss:F4}");
        if (!value.EpochEnd)
        {
            _task.Update(done, status);
            return;
        }
        var validation = value.Metrics.Where(m => m.Key != "train_loss").ToDictionary(m => m.Key, m => m.Value);
        History.Add(new EpochRecord
        {
            Epoch = value.Epoch,
            TrainLoss = value.Metrics.TryGetValue("train_loss", out var trainLoss) ? trainLoss : value.Loss,
            LearningRate = value.LearningRate,
            Validation = validation,
        });
        var metrics = string.Join(" ", validation.Select(m => string.Create(CultureInfo.InvariantCulture, $"val_{m.Key} {m.Value:F4}")));
        status = string.Create(CultureInfo.InvariantCulture, $"epoch {value.Epoch}/{value.Epochs} train_loss {History[^1].TrainLoss:F4} {metrics}").TrimEnd();
        _task.Update(done, status);
        if (view.Mode == ProgressMode.LogLines && value.Epoch != _lastEpochLogged) view.Log($"{name}: {status}");
        else view.LogFileOnly($"{name}: {status}");
        _lastEpochLogged = value.Epoch;
    }

    /// <summary>Ends the bar (training may stop early, before the last planned epoch).</summary>
    public void Complete(string? summary = null) => (_task ?? view.AddTask(name, 1, "steps")).Complete(summary);
}
