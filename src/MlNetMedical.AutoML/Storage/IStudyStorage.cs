namespace MlNetMedical.AutoML;

/// <summary>A study as stored: its id, unique name and direction.</summary>
public sealed record StudyInfo(long Id, string Name, Direction Direction);

/// <summary>
/// Persistent trials, after Optuna's RDB design: studies, trials (number, state, start/complete times),
/// trial_params, trial_values, trial_intermediate_values, trial_heartbeats, and user/system attributes of
/// studies and trials. Safe to share between threads and, for the relational stores, between processes.
/// </summary>
public interface IStudyStorage : IDisposable
{
    /// <summary>Where leaderboards and models go next to the study (null: no natural place, e.g. a server).</summary>
    string? Directory { get; }

    /// <summary>Creates the study, or loads it; an existing study with the other direction is an error.</summary>
    StudyInfo CreateOrLoadStudy(string name, Direction direction);

    /// <summary>
    /// Under a lock on the study row, creates a trial with the next number, unless the study already counts
    /// <paramref name="maxTrials"/> trials (failed trials that were re-queued do not count). Returns null then.
    /// </summary>
    TrialRecord? CreateTrial(long studyId, TrialState state, ParameterSet? parameters = null, IReadOnlyDictionary<string, string>? systemAttributes = null, int? maxTrials = null);

    /// <summary>
    /// Under a lock on the study row, creates a WAITING trial with <paramref name="parameters"/> marked with <paramref name="key"/>
    /// (system attribute <see cref="TrialAttributes.EnqueueKey"/>), unless a trial of the study already carries that key (it was
    /// enqueued by an earlier run or another worker) or the study already counts <paramref name="maxTrials"/> trials. Returns the
    /// new trial, or null when nothing was added.
    /// </summary>
    TrialRecord? EnqueueTrial(long studyId, ParameterSet parameters, string key, int? maxTrials = null)
    {
        // A fallback for other stores; the relational stores do this in one transaction, so concurrent workers add it once.
        if (GetTrials(studyId).Any(t => t.SystemAttributes.TryGetValue(TrialAttributes.EnqueueKey, out var k) && k == key)) return null;
        return CreateTrial(studyId, TrialState.Waiting, parameters, new Dictionary<string, string> { [TrialAttributes.EnqueueKey] = key }, maxTrials);
    }

    /// <summary>Claims the oldest WAITING trial (it becomes RUNNING), or returns null; a trial is claimed by one caller only.</summary>
    TrialRecord? ClaimWaitingTrial(long studyId);

    /// <summary>
    /// Proposes and stores the configuration of RUNNING trial <paramref name="trialId"/> as one step: <paramref name="propose"/> gets the
    /// study's trials and returns the configuration (or null: nothing is written), which is written before any other proposal for
    /// the study can read the trials. The relational stores do it in one write transaction under the study lock, so workers in
    /// other processes wait for it too (SQLite: the write lock is held; <paramref name="propose"/> must not write to the store).
    /// <see cref="TrialNotRunningException"/> when the trial is no longer RUNNING.
    /// </summary>
    ParameterSet? ConfigureTrial(long studyId, long trialId, Func<IReadOnlyList<TrialRecord>, ParameterSet?> propose)
    {
        // A fallback for other stores: atomic only as far as the caller serialises its proposals.
        ArgumentNullException.ThrowIfNull(propose);
        var parameters = propose(GetTrials(studyId));
        if (parameters is not null) SetTrialParameters(trialId, parameters);
        return parameters;
    }

    /// <summary>Stores the configuration of a RUNNING or WAITING trial; <see cref="TrialNotRunningException"/> once it has finished.</summary>
    void SetTrialParameters(long trialId, ParameterSet parameters);

    /// <summary>Stores a per-step value; <see cref="TrialNotRunningException"/> unless the trial is RUNNING (fencing: a worker whose
    /// trial was failed as stale cannot write into it).</summary>
    void ReportIntermediateValue(long trialId, int step, double value);

    /// <summary>Moves a RUNNING trial to a finished state; false if it was no longer RUNNING (e.g. failed as stale).</summary>
    bool FinishTrial(long trialId, TrialState state, double? value, string? failReason = null);

    /// <summary>Records that the trial's worker is alive; <see cref="TrialNotRunningException"/> unless the trial is RUNNING.</summary>
    void RecordHeartbeat(long trialId);

    /// <summary>
    /// Marks RUNNING trials whose last heartbeat (or start) is older than <paramref name="grace"/> as FAIL and,
    /// when they had parameters, re-queues a WAITING copy. Returns the failed trials. Each stale trial is
    /// handled by exactly one caller.
    /// </summary>
    IReadOnlyList<TrialRecord> FailStaleTrials(long studyId, TimeSpan grace);

    IReadOnlyList<TrialRecord> GetTrials(long studyId);

    TrialRecord GetTrial(long trialId);

    void SetTrialSystemAttribute(long trialId, string key, string value);
    /// <summary>Stores a value of a RUNNING trial; <see cref="TrialNotRunningException"/> otherwise.</summary>
    void SetTrialUserAttribute(long trialId, string key, string value);
    void SetStudyUserAttribute(long studyId, string key, string value);
    IReadOnlyDictionary<string, string> GetStudyUserAttributes(long studyId);
}

/// <summary>A write to a trial that is no longer RUNNING was refused: its worker was presumed dead (failed as stale) or it had finished.</summary>
public sealed class TrialNotRunningException(int trialNumber, TrialState state, string what)
    : InvalidOperationException($"Trial {trialNumber} is {state.ToString().ToUpperInvariant()}, no longer RUNNING: {what} was not written " +
                                (state == TrialState.Fail ? "(it was failed, e.g. as stale after its heartbeat lapsed; a re-queued copy runs its configuration)." : "."))
{
    public int TrialNumber { get; } = trialNumber;
    public TrialState State { get; } = state;
}

/// <summary>Opens storages from URLs: "sqlite:PATH", a path ending in .db, or PostgreSQL as "postgres:CONNECTION", a
/// "postgresql://…" URL, libpq keywords ("host=… dbname=…") or an Npgsql string ("Host=…;…") (<see cref="PostgresConnection"/>).</summary>
public static class StudyStorage
{
    public static IStudyStorage Sqlite(string path) => new SqliteStudyStorage(path);

    public static IStudyStorage Postgres(string connectionString) => new PostgresStudyStorage(connectionString);

    public static IStudyStorage Open(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (url.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase)) return Sqlite(url["sqlite:".Length..]);
        if (url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)) return Postgres(url);
        if (url.StartsWith("postgres:", StringComparison.OrdinalIgnoreCase)) return Postgres(url["postgres:".Length..]);
        if (url.Contains("host=", StringComparison.OrdinalIgnoreCase)) return Postgres(url);
        if (url.EndsWith(".db", StringComparison.OrdinalIgnoreCase) || url.EndsWith(".sqlite", StringComparison.OrdinalIgnoreCase)) return Sqlite(url);
        throw new ArgumentException($"Storage '{PostgresConnection.Mask(url)}' is not understood: expected sqlite:PATH, a .db path, or a PostgreSQL URL/connection string.", nameof(url));
    }
}
