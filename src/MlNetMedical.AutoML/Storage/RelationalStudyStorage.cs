using System.Data;
using System.Data.Common;
using System.Globalization;

namespace MlNetMedical.AutoML;

/// <summary>
/// The SQL shared by the SQLite and PostgreSQL stores. Every write runs in one transaction, retried on the
/// engine's transient errors (SQLite busy, PostgreSQL serialization failure or deadlock). Times are the
/// database clock in Unix milliseconds, so heartbeats from several machines compare on one clock.
/// </summary>
public abstract class RelationalStudyStorage : IStudyStorage
{
    private const int MaxAttempts = 50;

    public abstract string? Directory { get; }

    protected abstract DbConnection OpenConnection();
    /// <summary>Begins a write transaction (SQLite: BEGIN IMMEDIATE, which takes the write lock up front).</summary>
    protected abstract DbTransaction BeginWrite(DbConnection connection);
    /// <summary>SQL locking the study row for the transaction, or null where the write transaction already serialises.</summary>
    protected abstract string? LockStudySql { get; }
    /// <summary>Suffix that locks selected trial rows and skips rows other transactions hold (PostgreSQL), or "".</summary>
    protected abstract string SkipLocked { get; }
    protected abstract string NowMs { get; }
    protected abstract string IdColumn { get; }
    protected abstract string RealType { get; }
    protected abstract bool IsTransient(Exception e);
    /// <summary>Runs before the schema is created (PostgreSQL: an advisory lock so concurrent creators do not race).</summary>
    protected virtual void BeforeSchema(DbConnection c, DbTransaction tx) { }

    protected void CreateSchema()
    {
        string[] ddl =
        {
            $"CREATE TABLE IF NOT EXISTS studies (study_id {IdColumn}, study_name VARCHAR(512) NOT NULL UNIQUE, direction VARCHAR(16) NOT NULL, created_ms BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS study_user_attributes (study_id BIGINT NOT NULL REFERENCES studies(study_id), key VARCHAR(512) NOT NULL, value_json TEXT NOT NULL, PRIMARY KEY (study_id, key))",
            "CREATE TABLE IF NOT EXISTS study_system_attributes (study_id BIGINT NOT NULL REFERENCES studies(study_id), key VARCHAR(512) NOT NULL, value_json TEXT NOT NULL, PRIMARY KEY (study_id, key))",
            $"CREATE TABLE IF NOT EXISTS trials (trial_id {IdColumn}, number INTEGER NOT NULL, study_id BIGINT NOT NULL REFERENCES studies(study_id), state VARCHAR(16) NOT NULL, datetime_start BIGINT, datetime_complete BIGINT, UNIQUE (study_id, number))",
            "CREATE INDEX IF NOT EXISTS ix_trials_study_state ON trials (study_id, state)",
            "CREATE TABLE IF NOT EXISTS trial_params (trial_id BIGINT NOT NULL REFERENCES trials(trial_id), param_name VARCHAR(512) NOT NULL, param_value_json TEXT NOT NULL, PRIMARY KEY (trial_id, param_name))",
            $"CREATE TABLE IF NOT EXISTS trial_values (trial_id BIGINT NOT NULL REFERENCES trials(trial_id), objective INTEGER NOT NULL, value {RealType}, PRIMARY KEY (trial_id, objective))",
            $"CREATE TABLE IF NOT EXISTS trial_intermediate_values (trial_id BIGINT NOT NULL REFERENCES trials(trial_id), step INTEGER NOT NULL, intermediate_value {RealType}, value_type VARCHAR(8) NOT NULL, PRIMARY KEY (trial_id, step))",
            "CREATE TABLE IF NOT EXISTS trial_heartbeats (trial_id BIGINT NOT NULL PRIMARY KEY REFERENCES trials(trial_id), heartbeat BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS trial_user_attributes (trial_id BIGINT NOT NULL REFERENCES trials(trial_id), key VARCHAR(512) NOT NULL, value_json TEXT NOT NULL, PRIMARY KEY (trial_id, key))",
            "CREATE TABLE IF NOT EXISTS trial_system_attributes (trial_id BIGINT NOT NULL REFERENCES trials(trial_id), key VARCHAR(512) NOT NULL, value_json TEXT NOT NULL, PRIMARY KEY (trial_id, key))",
            "CREATE TABLE IF NOT EXISTS version_info (version_info_id INTEGER PRIMARY KEY, schema_version INTEGER NOT NULL)",
        };
        Write((c, tx) =>
        {
            BeforeSchema(c, tx);
            foreach (var sql in ddl) Exec(c, tx, sql);
            Exec(c, tx, "INSERT INTO version_info (version_info_id, schema_version) VALUES (1, 1) ON CONFLICT (version_info_id) DO NOTHING");
            return 0;
        });
    }

    // ---- plumbing ----

    protected T Write<T>(Func<DbConnection, DbTransaction, T> body)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using var c = OpenConnection();
                using var tx = BeginWrite(c);
                var result = body(c, tx);
                tx.Commit();
                return result;
            }
            catch (Exception e) when (attempt < MaxAttempts && IsTransient(e))
            {
                Thread.Sleep(Random.Shared.Next(5, 20 + 10 * attempt));
            }
        }
    }

    protected T Read<T>(Func<DbConnection, T> body)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using var c = OpenConnection();
                return body(c);
            }
            catch (Exception e) when (attempt < MaxAttempts && IsTransient(e))
            {
                Thread.Sleep(Random.Shared.Next(5, 20 + 10 * attempt));
            }
        }
    }

    private static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    protected static int Exec(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    protected static object? Scalar(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    private static List<object?[]> Rows(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    private static long L(object? v) => Convert.ToInt64(v, CultureInfo.InvariantCulture);
    private static string StateText(TrialState s) => s.ToString().ToUpperInvariant();
    private static TrialState ParseState(object? v) => Enum.Parse<TrialState>((string)v!, ignoreCase: true);
    private static DateTime? Time(object? ms) => ms is null ? null : DateTime.UnixEpoch.AddMilliseconds(L(ms));

    // ---- studies ----

    public StudyInfo CreateOrLoadStudy(string name, Direction direction)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var info = Write((c, tx) =>
        {
            Exec(c, tx, $"INSERT INTO studies (study_name, direction, created_ms) VALUES (@n, @d, {NowMs}) ON CONFLICT (study_name) DO NOTHING",
                 ("@n", name), ("@d", direction.ToString().ToUpperInvariant()));
            var row = Rows(c, tx, "SELECT study_id, direction FROM studies WHERE study_name = @n", ("@n", name)).Single();
            return new StudyInfo(L(row[0]), name, Enum.Parse<Direction>((string)row[1]!, ignoreCase: true));
        });
        if (info.Direction != direction)
            throw new ArgumentException($"Study '{name}' already exists with direction {info.Direction}; it cannot be resumed to {direction}.", nameof(direction));
        return info;
    }

    public void SetStudyUserAttribute(long studyId, string key, string value) => Write((c, tx) =>
        Exec(c, tx, "INSERT INTO study_user_attributes (study_id, key, value_json) VALUES (@s, @k, @v) ON CONFLICT (study_id, key) DO UPDATE SET value_json = excluded.value_json",
             ("@s", studyId), ("@k", key), ("@v", value)));

    public IReadOnlyDictionary<string, string> GetStudyUserAttributes(long studyId) => Read(c =>
        Rows(c, null, "SELECT key, value_json FROM study_user_attributes WHERE study_id = @s", ("@s", studyId))
            .ToDictionary(r => (string)r[0]!, r => (string)r[1]!));

    // ---- trials ----

    private void LockStudy(DbConnection c, DbTransaction tx, long studyId)
    {
        if (LockStudySql is { } sql) Scalar(c, tx, sql, ("@s", studyId));
    }

    private const string CountedTrials =
        "SELECT COUNT(*) FROM trials t WHERE t.study_id = @s AND NOT (t.state = 'FAIL' AND EXISTS (SELECT 1 FROM trial_system_attributes a WHERE a.trial_id = t.trial_id AND a.key = 'requeued_as'))";

    private (long Id, int Number) InsertTrial(DbConnection c, DbTransaction tx, long studyId, TrialState state, ParameterSet? parameters, IReadOnlyDictionary<string, string>? attrs)
    {
        int number = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = @s", ("@s", studyId)), CultureInfo.InvariantCulture);
        string start = state == TrialState.Running ? NowMs : "NULL";
        long id = L(Scalar(c, tx, $"INSERT INTO trials (number, study_id, state, datetime_start) VALUES (@n, @s, @st, {start}) RETURNING trial_id",
                           ("@n", number), ("@s", studyId), ("@st", StateText(state))));
        if (state == TrialState.Running) Exec(c, tx, $"INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (@t, {NowMs})", ("@t", id));
        if (parameters is not null) WriteParams(c, tx, id, parameters);
        if (attrs is not null)
            foreach (var (k, v) in attrs) UpsertAttr(c, tx, "trial_system_attributes", id, k, v);
        return (id, number);
    }

    public TrialRecord? CreateTrial(long studyId, TrialState state, ParameterSet? parameters = null, IReadOnlyDictionary<string, string>? systemAttributes = null, int? maxTrials = null)
    {
        if (state is not (TrialState.Running or TrialState.Waiting))
            throw new ArgumentException($"A new trial starts RUNNING or WAITING, not {state}.", nameof(state));
        var created = Write((c, tx) =>
        {
            LockStudy(c, tx, studyId);
            if (maxTrials is { } max && L(Scalar(c, tx, CountedTrials, ("@s", studyId))) >= max) return ((long, int)?)null;
            return InsertTrial(c, tx, studyId, state, parameters, systemAttributes);
        });
        return created is { } t ? GetTrial(t.Item1) : null;
    }

    public TrialRecord? EnqueueTrial(long studyId, ParameterSet parameters, string key, int? maxTrials = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        var created = Write((c, tx) =>
        {
            LockStudy(c, tx, studyId);
            if (Scalar(c, tx, "SELECT 1 FROM trial_system_attributes a JOIN trials t ON t.trial_id = a.trial_id WHERE t.study_id = @s AND a.key = @k AND a.value_json = @v LIMIT 1",
                       ("@s", studyId), ("@k", TrialAttributes.EnqueueKey), ("@v", key)) is not null) return ((long, int)?)null;
            if (maxTrials is { } max && L(Scalar(c, tx, CountedTrials, ("@s", studyId))) >= max) return null;
            return InsertTrial(c, tx, studyId, TrialState.Waiting, parameters, new Dictionary<string, string> { [TrialAttributes.EnqueueKey] = key });
        });
        return created is { } t ? GetTrial(t.Item1) : null;
    }

    public TrialRecord? ClaimWaitingTrial(long studyId)
    {
        var id = Write((c, tx) =>
        {
            var picked = Scalar(c, tx, $"SELECT trial_id FROM trials WHERE study_id = @s AND state = 'WAITING' ORDER BY number LIMIT 1{SkipLocked}", ("@s", studyId));
            if (picked is null) return (long?)null;
            // The state guard makes the claim safe even where rows are not locked.
            if (Exec(c, tx, $"UPDATE trials SET state = 'RUNNING', datetime_start = {NowMs} WHERE trial_id = @t AND state = 'WAITING'", ("@t", L(picked))) != 1) return null;
            Exec(c, tx, $"INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (@t, {NowMs}) ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat", ("@t", L(picked)));
            return L(picked);
        });
        return id is { } t ? GetTrial(t) : null;
    }

    private static void WriteParams(DbConnection c, DbTransaction tx, long trialId, ParameterSet parameters)
    {
        foreach (var (name, value) in parameters.Values)
            Exec(c, tx, "INSERT INTO trial_params (trial_id, param_name, param_value_json) VALUES (@t, @n, @v) ON CONFLICT (trial_id, param_name) DO UPDATE SET param_value_json = excluded.param_value_json",
                 ("@t", trialId), ("@n", name), ("@v", ParameterSet.ToNode(value).ToJsonString()));
    }

    /// <summary>
    /// The fence of the writes a running trial makes: in the write's own transaction, the trial row is read (PostgreSQL: and locked
    /// FOR UPDATE, so a concurrent <see cref="FailStaleTrials"/> skips it or waits) and the write goes ahead only while the trial is
    /// RUNNING (or WAITING, where <paramref name="allowWaiting"/>). A failed attempt never runs again under its id (its retry is a new
    /// trial), so its state is the attempt's version: a worker that was declared dead can no longer write into its old trial.
    /// </summary>
    private void RequireRunning(DbConnection c, DbTransaction tx, long trialId, string what, bool allowWaiting = false)
    {
        var row = Rows(c, tx, "SELECT number, state FROM trials WHERE trial_id = @t" + (LockStudySql is null ? "" : " FOR UPDATE"), ("@t", trialId)).SingleOrDefault()
                  ?? throw new KeyNotFoundException($"No trial with id {trialId}.");
        var state = ParseState(row[1]);
        if (state == TrialState.Running || (allowWaiting && state == TrialState.Waiting)) return;
        throw new TrialNotRunningException(Convert.ToInt32(row[0], CultureInfo.InvariantCulture), state, what);
    }

    public ParameterSet? ConfigureTrial(long studyId, long trialId, Func<IReadOnlyList<TrialRecord>, ParameterSet?> propose)
    {
        ArgumentNullException.ThrowIfNull(propose);
        return Write((c, tx) =>
        {
            LockStudy(c, tx, studyId); // PostgreSQL: other proposals, trial creation and stale checks of the study wait; SQLite: IMMEDIATE did it
            RequireRunning(c, tx, trialId, "its parameters");
            var parameters = propose(GetTrials(studyId)); // committed trials, read on another connection (WAL readers do not wait for the writer)
            if (parameters is not null) WriteParams(c, tx, trialId, parameters);
            return parameters;
        });
    }

    public void SetTrialParameters(long trialId, ParameterSet parameters) => Write((c, tx) =>
    {
        RequireRunning(c, tx, trialId, "its parameters", allowWaiting: true);
        WriteParams(c, tx, trialId, parameters);
        return 0;
    });

    public void ReportIntermediateValue(long trialId, int step, double value)
    {
        // SQLite stores NaN as NULL, so the kind of value travels in value_type, as in Optuna.
        string type = double.IsNaN(value) ? "nan" : double.IsPositiveInfinity(value) ? "inf_pos" : double.IsNegativeInfinity(value) ? "inf_neg" : "finite";
        Write((c, tx) =>
        {
            RequireRunning(c, tx, trialId, $"the value of step {step}");
            return Exec(c, tx,
                "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, value_type) VALUES (@t, @s, @v, @ty) ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value = excluded.intermediate_value, value_type = excluded.value_type",
                ("@t", trialId), ("@s", step), ("@v", type == "finite" ? value : null), ("@ty", type));
        });
    }

    public bool FinishTrial(long trialId, TrialState state, double? value, string? failReason = null)
    {
        if (state is not (TrialState.Complete or TrialState.Pruned or TrialState.Fail))
            throw new ArgumentException($"A trial finishes COMPLETE, PRUNED or FAIL, not {state}.", nameof(state));
        return Write((c, tx) =>
        {
            if (Exec(c, tx, $"UPDATE trials SET state = @st, datetime_complete = {NowMs} WHERE trial_id = @t AND state = 'RUNNING'", ("@st", StateText(state)), ("@t", trialId)) != 1)
                return false;
            if (value is { } v && !double.IsNaN(v))
                Exec(c, tx, "INSERT INTO trial_values (trial_id, objective, value) VALUES (@t, 0, @v) ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value", ("@t", trialId), ("@v", v));
            if (failReason is not null) UpsertAttr(c, tx, "trial_system_attributes", trialId, TrialAttributes.FailReason, failReason);
            return true;
        });
    }

    public void RecordHeartbeat(long trialId) => Write((c, tx) =>
    {
        RequireRunning(c, tx, trialId, "a heartbeat");
        return Exec(c, tx, $"INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (@t, {NowMs}) ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat", ("@t", trialId));
    });

    public IReadOnlyList<TrialRecord> FailStaleTrials(long studyId, TimeSpan grace)
    {
        var ms = (long)grace.TotalMilliseconds;
        string stale = $"SELECT t.trial_id FROM trials t LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id WHERE t.study_id = @s AND t.state = 'RUNNING' AND COALESCE(h.heartbeat, t.datetime_start, 0) < {NowMs} - @g";
        // Cheap read first: most calls find nothing.
        if (Read(c => Scalar(c, null, stale + " LIMIT 1", ("@s", studyId), ("@g", ms))) is null) return Array.Empty<TrialRecord>();
        var failed = Write((c, tx) =>
        {
            LockStudy(c, tx, studyId);
            var ids = Rows(c, tx, stale + (SkipLocked.Length > 0 ? " FOR UPDATE OF t SKIP LOCKED" : ""), ("@s", studyId), ("@g", ms)).Select(r => L(r[0])).ToList();
            var done = new List<long>();
            foreach (var id in ids)
            {
                if (Exec(c, tx, $"UPDATE trials SET state = 'FAIL', datetime_complete = {NowMs} WHERE trial_id = @t AND state = 'RUNNING'", ("@t", id)) != 1) continue;
                UpsertAttr(c, tx, "trial_system_attributes", id, TrialAttributes.FailReason, $"no heartbeat for more than {grace.TotalSeconds:0.###} s: the worker died");
                done.Add(id);
                var paramRows = Rows(c, tx, "SELECT param_name, param_value_json FROM trial_params WHERE trial_id = @t", ("@t", id));
                if (paramRows.Count == 0) continue; // it never got a configuration: nothing to redo
                var parameters = new ParameterSet(paramRows.Select(r => new KeyValuePair<string, object>((string)r[0]!, ParameterSet.FromNode(System.Text.Json.Nodes.JsonNode.Parse((string)r[1]!), (string)r[0]!))));
                int number = Convert.ToInt32(Scalar(c, tx, "SELECT number FROM trials WHERE trial_id = @t", ("@t", id)), CultureInfo.InvariantCulture);
                var retry = InsertTrial(c, tx, studyId, TrialState.Waiting, parameters,
                                        new Dictionary<string, string> { [TrialAttributes.RetryOf] = number.ToString(CultureInfo.InvariantCulture) });
                UpsertAttr(c, tx, "trial_system_attributes", id, TrialAttributes.RequeuedAs, retry.Number.ToString(CultureInfo.InvariantCulture));
            }
            return done;
        });
        return failed.Select(GetTrial).ToList();
    }

    private static void UpsertAttr(DbConnection c, DbTransaction tx, string table, long trialId, string key, string value) =>
        Exec(c, tx, $"INSERT INTO {table} (trial_id, key, value_json) VALUES (@t, @k, @v) ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json",
             ("@t", trialId), ("@k", key), ("@v", value));

    public void SetTrialSystemAttribute(long trialId, string key, string value) => Write((c, tx) => { UpsertAttr(c, tx, "trial_system_attributes", trialId, key, value); return 0; });
    public void SetTrialUserAttribute(long trialId, string key, string value) => Write((c, tx) =>
    {
        RequireRunning(c, tx, trialId, $"its attribute '{key}'");
        UpsertAttr(c, tx, "trial_user_attributes", trialId, key, value);
        return 0;
    });

    public TrialRecord GetTrial(long trialId) =>
        Load(" t.trial_id = @x", trialId).SingleOrDefault() ?? throw new KeyNotFoundException($"No trial with id {trialId}.");

    public IReadOnlyList<TrialRecord> GetTrials(long studyId) => Load(" t.study_id = @x", studyId);

    private List<TrialRecord> Load(string where, long key) => Read(c =>
    {
        string ids = $"SELECT t.trial_id FROM trials t WHERE{where}";
        var trials = Rows(c, null, $"SELECT t.trial_id, t.number, t.state, t.datetime_start, t.datetime_complete FROM trials t WHERE{where} ORDER BY t.number", ("@x", key));
        var parameters = Group(Rows(c, null, $"SELECT trial_id, param_name, param_value_json FROM trial_params WHERE trial_id IN ({ids})", ("@x", key)));
        var values = Rows(c, null, $"SELECT trial_id, value FROM trial_values WHERE objective = 0 AND trial_id IN ({ids})", ("@x", key))
            .ToDictionary(r => L(r[0]), r => r[1] is null ? double.NaN : Convert.ToDouble(r[1], CultureInfo.InvariantCulture));
        var inter = Group(Rows(c, null, $"SELECT trial_id, step, intermediate_value, value_type FROM trial_intermediate_values WHERE trial_id IN ({ids})", ("@x", key)));
        var sys = Group(Rows(c, null, $"SELECT trial_id, key, value_json FROM trial_system_attributes WHERE trial_id IN ({ids})", ("@x", key)));
        var user = Group(Rows(c, null, $"SELECT trial_id, key, value_json FROM trial_user_attributes WHERE trial_id IN ({ids})", ("@x", key)));
        return trials.Select(r =>
        {
            long id = L(r[0]);
            return new TrialRecord
            {
                Id = id,
                Number = Convert.ToInt32(r[1], CultureInfo.InvariantCulture),
                State = ParseState(r[2]),
                Started = Time(r[3]),
                Completed = Time(r[4]),
                Value = values.TryGetValue(id, out var v) ? v : null,
                Parameters = new ParameterSet(parameters.GetValueOrDefault(id, []).Select(p => new KeyValuePair<string, object>((string)p[1]!, ParameterSet.FromNode(System.Text.Json.Nodes.JsonNode.Parse((string)p[2]!), (string)p[1]!)))),
                IntermediateValues = new SortedDictionary<int, double>(inter.GetValueOrDefault(id, []).ToDictionary(
                    p => Convert.ToInt32(p[1], CultureInfo.InvariantCulture),
                    p => (string)p[3]! switch { "nan" => double.NaN, "inf_pos" => double.PositiveInfinity, "inf_neg" => double.NegativeInfinity, _ => Convert.ToDouble(p[2], CultureInfo.InvariantCulture) })),
                SystemAttributes = sys.GetValueOrDefault(id, []).ToDictionary(p => (string)p[1]!, p => (string)p[2]!),
                UserAttributes = user.GetValueOrDefault(id, []).ToDictionary(p => (string)p[1]!, p => (string)p[2]!),
            };
        }).ToList();
    });

    private static Dictionary<long, List<object?[]>> Group(List<object?[]> rows) =>
        rows.GroupBy(r => L(r[0])).ToDictionary(g => g.Key, g => g.ToList());

    public virtual void Dispose() => GC.SuppressFinalize(this);
}
