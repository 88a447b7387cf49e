namespace MlNetMedical.AutoML;

/// <summary>Whether the study's metric is to be made small or large.</summary>
public enum Direction { Minimize, Maximize }

/// <summary>Trial life cycle, as in Optuna's RDB storage.</summary>
public enum TrialState { Running, Complete, Pruned, Fail, Waiting }

public static class DirectionExtensions
{
    /// <summary>True when <paramref name="a"/> is strictly better than <paramref name="b"/> (NaN is never better).</summary>
    public static bool IsBetter(this Direction direction, double a, double b) =>
        direction == Direction.Minimize ? a < b : a > b;

    /// <summary>The value turned into a loss (smaller is better).</summary>
    public static double ToLoss(this Direction direction, double value) =>
        direction == Direction.Minimize ? value : -value;
}

/// <summary>Well-known system attribute keys.</summary>
public static class TrialAttributes
{
    public const string FailReason = "fail_reason";
    public const string RetryOf = "retry_of";
    public const string RequeuedAs = "requeued_as";
    public const string Worker = "worker";
    /// <summary>Marks a trial added by <see cref="AutoMLExperiment.Enqueue"/>: the configuration's key, so a resumed run does not add it again.</summary>
    public const string EnqueueKey = "enqueued";
    public static string CompletedRung(int rung) => $"completed_rung_{rung}";
}

/// <summary>A snapshot of one trial as stored.</summary>
public sealed record TrialRecord
{
    public required long Id { get; init; }
    public required int Number { get; init; }
    public required TrialState State { get; init; }
    public ParameterSet Parameters { get; init; } = new();
    /// <summary>The objective value (complete trials; pruned trials carry their last reported value).</summary>
    public double? Value { get; init; }
    public IReadOnlyDictionary<int, double> IntermediateValues { get; init; } = new SortedDictionary<int, double>();
    public DateTime? Started { get; init; }
    public DateTime? Completed { get; init; }
    public IReadOnlyDictionary<string, string> UserAttributes { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> SystemAttributes { get; init; } = new Dictionary<string, string>();

    public bool IsFinished => State is TrialState.Complete or TrialState.Pruned or TrialState.Fail;
    public int? LastStep => IntermediateValues.Count == 0 ? null : IntermediateValues.Keys.Max();
    public string? Error => SystemAttributes.TryGetValue(TrialAttributes.FailReason, out var e) ? e : null;
    public TimeSpan? Duration => Started is { } s && Completed is { } c ? c - s : null;
}
