namespace MlNetMedical.Cli.Pipelines;

/// <summary>
/// Why a run or sweep stopped early (Ctrl+C, SIGTERM): what was running and what had finished. metrics.json carries it as
/// its "interrupted" object (RunReport itself is the report's shared contract, so the marker sits beside it); the report's
/// title says "interrupted".
/// </summary>
/// <param name="During">What was running when the cancel came (a stage's name, "trials", "refit").</param>
/// <param name="Completed">What finished and is kept (stage names, or "trial N" for a sweep).</param>
public sealed record Interruption(string During, IReadOnlyList<string> Completed)
{
    public DateTimeOffset Utc { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>A result and, when the work was cancelled, the interruption that cut it short.</summary>
public sealed record Outcome<T>(T Value, Interruption? Interrupted);
