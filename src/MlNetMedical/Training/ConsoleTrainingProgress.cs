namespace MlNetMedical.Training;

/// <summary>
/// Writes one line per epoch (stage, epoch, loss, validation metrics, time left) to a text writer: the default training
/// progress of console apps (<see cref="MedicalSettings.Progress"/>).
/// </summary>
public sealed class ConsoleTrainingProgress(TextWriter writer) : IProgress<TrainingProgress>
{
    /// <summary>Progress on the console's error stream when it is a terminal (so piped output and test runs stay quiet), else null.</summary>
    public static IProgress<TrainingProgress>? WhenInteractive() =>
        Console.IsErrorRedirected || Environment.GetEnvironmentVariable("MLNM_QUIET") == "1" ? null : new ConsoleTrainingProgress(Console.Error);

    /// <inheritdoc/>
    public void Report(TrainingProgress value)
    {
        if (!value.EpochEnd) return;
        // Metrics other than train_loss are the validation split's.
        var metrics = string.Join(", ", value.Metrics.Where(m => m.Key != "train_loss").Select(m => $"validation {m.Key} {m.Value:0.###}"));
        var left = value.Remaining is { } r ? $", about {Format(r)} left" : "";
        lock (writer)
            writer.WriteLine($"{value.Stage}: epoch {value.Epoch}/{value.Epochs}, training loss {value.Loss:0.####}{(metrics.Length > 0 ? ", " + metrics : "")}, {Format(value.Elapsed)} so far{left}");
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:00}s" : $"{t.TotalSeconds:0.0}s";
}
