using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.AutoML;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>
/// Correctness under parallel load (issue 18, point 2): proposals see every running trial's parameters, enqueued trials are
/// added once per study and count against the budget, folds do not depend on the order of the setters, and a slow but live
/// worker is not failed as stale while writes to a trial that was failed are rejected.
/// </summary>
public class ParallelLoadTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlnm-par-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    /// <summary>A storage whose writes can be slowed down, standing in for a busy database.</summary>
    private sealed class SlowStorage(IStudyStorage inner) : IStudyStorage
    {
        public TimeSpan ParameterWriteDelay { get; init; }
        public TimeSpan HeartbeatDelay { get; init; }

        public string? Directory => inner.Directory;
        public StudyInfo CreateOrLoadStudy(string name, Direction direction) => inner.CreateOrLoadStudy(name, direction);
        public TrialRecord? CreateTrial(long studyId, TrialState state, ParameterSet? parameters = null, IReadOnlyDictionary<string, string>? systemAttributes = null, int? maxTrials = null) =>
            inner.CreateTrial(studyId, state, parameters, systemAttributes, maxTrials);
        public TrialRecord? ClaimWaitingTrial(long studyId) => inner.ClaimWaitingTrial(studyId);
        public void SetTrialParameters(long trialId, ParameterSet parameters)
        {
            Thread.Sleep(ParameterWriteDelay);
            inner.SetTrialParameters(trialId, parameters);
        }
        public void ReportIntermediateValue(long trialId, int step, double value) => inner.ReportIntermediateValue(trialId, step, value);
        public bool FinishTrial(long trialId, TrialState state, double? value, string? failReason = null) => inner.FinishTrial(trialId, state, value, failReason);
        public void RecordHeartbeat(long trialId)
        {
            Thread.Sleep(HeartbeatDelay);
            inner.RecordHeartbeat(trialId);
        }
        public IReadOnlyList<TrialRecord> FailStaleTrials(long studyId, TimeSpan grace) => inner.FailStaleTrials(studyId, grace);
        public IReadOnlyList<TrialRecord> GetTrials(long studyId) => inner.GetTrials(studyId);
        public TrialRecord GetTrial(long trialId) => inner.GetTrial(trialId);
        public void SetTrialSystemAttribute(long trialId, string key, string value) => inner.SetTrialSystemAttribute(trialId, key, value);
        public void SetTrialUserAttribute(long trialId, string key, string value) => inner.SetTrialUserAttribute(trialId, key, value);
        public void SetStudyUserAttribute(long studyId, string key, string value) => inner.SetStudyUserAttribute(studyId, key, value);
        public IReadOnlyDictionary<string, string> GetStudyUserAttributes(long studyId) => inner.GetStudyUserAttributes(studyId);
        public void Dispose() => inner.Dispose();
    }

    /// <summary>Records, for every proposal, how many running trials with parameters the tuner was shown.</summary>
    private sealed class RecordingTuner(ITuner inner) : ITuner
    {
        public ConcurrentQueue<(int Trial, int RunningWithParameters)> Seen { get; } = new();
        public string Name => inner.Name;
        public ParameterSet? Propose(TuningContext context)
        {
            Seen.Enqueue((context.TrialNumber, context.Trials.Count(t => t.State == TrialState.Running && t.Parameters.Count > 0)));
            return inner.Propose(context);
        }
        public void Observe(TrialRecord finished, SearchSpace space, Direction direction) => inner.Observe(finished, space, direction);
    }

    /// <summary>Enough thread-pool threads that four workers start at once rather than as the pool grows.</summary>
    private sealed class PoolThreads : IDisposable
    {
        private readonly int _workers, _io;
        public PoolThreads(int atLeast)
        {
            ThreadPool.GetMinThreads(out _workers, out _io);
            ThreadPool.SetMinThreads(Math.Max(_workers, atLeast), _io);
        }
        public void Dispose() => ThreadPool.SetMinThreads(_workers, _io);
    }

    /// <summary>Waits (bounded) until <paramref name="gate"/> has been signalled by every trial, so the trials overlap.</summary>
    private static void Overlap(CountdownEvent gate)
    {
        try { gate.Signal(); } catch (InvalidOperationException) { /* more trials than the gate counts */ }
        gate.Wait(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void GridSearchOverFourPointsWithParallelismFourRunsFourDistinctPoints()
    {
        using var threads = new PoolThreads(16);
        using var storage = new SlowStorage(StudyStorage.Sqlite(Path.Combine(_dir, "grid.db"))) { ParameterWriteDelay = TimeSpan.FromMilliseconds(300) };
        using var gate = new CountdownEvent(4);
        var grid = new RecordingTuner(new GridTuner(seed: 3));
        var result = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Choice("x", "a", "b", "c", "d"))
            .SetMetric("loss", Direction.Minimize)
            .SetTuner(grid)
            .SetMaxTrials(4)
            .SetParallelism(4)
            .SetStudy(storage, "grid")
            .SetObjective(t => { Overlap(gate); return 0.0; })
            .Run();
        var points = result.Trials.Where(t => t.State == TrialState.Complete).Select(t => (string)t.Parameters["x"]).OrderBy(x => x).ToList();
        Assert.Equal(new[] { "a", "b", "c", "d" }, points);
    }

    [Fact]
    public void ConstantLiarTpeSeesEveryRunningTrial()
    {
        using var threads = new PoolThreads(16);
        using var storage = new SlowStorage(StudyStorage.Sqlite(Path.Combine(_dir, "liar.db"))) { ParameterWriteDelay = TimeSpan.FromMilliseconds(300) };
        using var gate = new CountdownEvent(4);
        var tuner = new RecordingTuner(new TpeTuner(5, new TpeOptions { ConstantLiar = true, StartupTrials = 0 }));
        new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize)
            .SetTuner(tuner)
            .SetMaxTrials(4)
            .SetParallelism(4)
            .SetStudy(storage, "liar")
            .SetObjective(t => { Overlap(gate); return t.Parameters.GetDouble("x"); })
            .Run();
        // No trial finishes before all four have started, so the k-th proposal must see the k trials configured before it.
        Assert.Equal(new[] { 0, 1, 2, 3 }, tuner.Seen.Select(s => s.RunningWithParameters).OrderBy(n => n));
    }

    /// <summary>A tuner that takes its time, so proposals of workers that do not share a lock would overlap.</summary>
    private sealed class SlowTuner(ITuner inner) : ITuner
    {
        public string Name => inner.Name;
        public ParameterSet? Propose(TuningContext context) { Thread.Sleep(200); return inner.Propose(context); }
        public void Observe(TrialRecord finished, SearchSpace space, Direction direction) => inner.Observe(finished, space, direction);
    }

    /// <summary>Two experiments with their own storage objects (their own connections and locks, as two worker processes) share a
    /// grid study: the storage's study lock makes each proposal see the other worker's configured trials.</summary>
    private static void TwoWorkersRunDistinctGridPoints(Func<IStudyStorage> open)
    {
        using var threads = new PoolThreads(16);
        using var gate = new CountdownEvent(4);
        Task<ExperimentResult> Worker(int seed) => Task.Run(() =>
        {
            using var storage = open();
            return new AutoMLExperiment()
                .SetSearchSpace(new SearchSpace().Choice("x", "a", "b", "c", "d"))
                .SetMetric("loss", Direction.Minimize)
                .SetTuner(new SlowTuner(new GridTuner(seed)))
                .SetMaxTrials(4)
                .SetParallelism(2)
                .SetStudy(storage, "grid2")
                .SetObjective(t => { Overlap(gate); return 0.0; })
                .Run();
        });
        var results = Task.WhenAll(Worker(1), Worker(1)).GetAwaiter().GetResult();
        var trials = results[1].Trials.Count >= results[0].Trials.Count ? results[1].Trials : results[0].Trials;
        Assert.Equal(new[] { "a", "b", "c", "d" }, trials.Where(t => t.State == TrialState.Complete).Select(t => (string)t.Parameters["x"]).OrderBy(x => x));
    }

    [Fact]
    public void TwoSqliteWorkersOfOneGridStudyRunDistinctPoints()
    {
        var db = Path.Combine(_dir, "grid2.db");
        TwoWorkersRunDistinctGridPoints(() => StudyStorage.Sqlite(db));
    }

    [PostgresFact]
    public void TwoPostgresWorkersOfOneGridStudyRunDistinctPoints()
    {
        using var pg = new PostgresServer();
        TwoWorkersRunDistinctGridPoints(() => StudyStorage.Postgres(pg.ConnectionString));
    }

    [Fact]
    public void EnqueuedTrialIsAddedOncePerStudyNotOnEveryResumedRun()
    {
        var db = Path.Combine(_dir, "enq.db");
        var point = new ParameterSet { ["x"] = 0.123 };
        int Run(int maxTrials) => new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize)
            .SetTuner(new RandomTuner(1))
            .SetMaxTrials(maxTrials)
            .SetStudy(db, "enq")
            .Enqueue(point)
            .SetObjective(t => t.Parameters.GetDouble("x"))
            .Run().Trials.Count(t => t.Parameters.TryGet("x", out var x) && (double)x == 0.123);
        Assert.Equal(1, Run(3));
        Assert.Equal(1, Run(6)); // resumed: the study already holds the enqueued trial
        Assert.Equal(1, Run(8));
        using var s = StudyStorage.Sqlite(db);
        Assert.Equal(8, s.GetTrials(s.CreateOrLoadStudy("enq", Direction.Minimize).Id).Count);
    }

    [Fact]
    public void EnqueuedTrialsCountAgainstTheTrialBudget()
    {
        var exp = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize)
            .SetMaxTrials(2)
            .SetParallelism(2)
            .SetStudy(Path.Combine(_dir, "budget.db"), "budget")
            .SetObjective(t => t.Parameters.GetDouble("x"));
        foreach (var x in new[] { 0.1, 0.2, 0.3, 0.4 }) exp.Enqueue(new ParameterSet { ["x"] = x });
        var result = exp.Run();
        Assert.Equal(2, result.Trials.Count);
        Assert.Equal(new[] { 0.1, 0.2 }, result.Trials.Select(t => t.Parameters.GetDouble("x")).OrderBy(x => x));
    }

    private sealed class Row
    {
        public float Id { get; set; }
    }

    [Fact]
    public void FoldAssignmentDoesNotDependOnTheOrderOfSetSeedAndSetDataset()
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 40).Select(i => new Row { Id = i }));
        List<List<float>> Folds(Func<AutoMLExperiment, AutoMLExperiment> configure)
        {
            List<List<float>>? seen = null;
            configure(new AutoMLExperiment()
                    .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
                    .SetMetric("loss", Direction.Minimize)
                    .SetMaxTrials(1)
                    .SetStudy(Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".db"), "folds"))
                .SetObjective(t =>
                {
                    seen = t.Dataset!.Folds.Select(f => f.Validation.GetColumn<float>("Id").OrderBy(v => v).ToList()).ToList();
                    return 0.0;
                })
                .Run();
            return seen!;
        }
        var seedFirst = Folds(e => e.SetSeed(7).SetDataset(data, 3));
        var dataFirst = Folds(e => e.SetDataset(data, 3).SetSeed(7));
        var otherSeed = Folds(e => e.SetSeed(8).SetDataset(data, 3));
        Assert.Equal(3, seedFirst.Count);
        Assert.Equal(40, seedFirst.Sum(f => f.Count));
        Assert.Equal(seedFirst, dataFirst);
        Assert.NotEqual(seedFirst, otherSeed); // the seed does decide the folds
    }

    [Fact]
    public void ASlowButLiveWorkerIsNotFailedAsStale()
    {
        // Every heartbeat write waits 1.5 s (a busy database), far longer than several 100 ms heartbeat intervals; a second
        // worker looks for stale trials all the while. The trial is alive: it must complete, not be failed and redone.
        using var storage = new SlowStorage(StudyStorage.Sqlite(Path.Combine(_dir, "slow.db"))) { HeartbeatDelay = TimeSpan.FromMilliseconds(1500) };
        var result = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize)
            .SetMaxTrials(1)
            .SetParallelism(2)
            .SetHeartbeat(TimeSpan.FromMilliseconds(100))
            .SetStudy(storage, "slow")
            .SetObjective(t => { Thread.Sleep(1200); return 1.0; })
            .Run();
        var trial = Assert.Single(result.Trials);
        Assert.Equal(TrialState.Complete, trial.State);
        Assert.Null(trial.Error);
    }

    [Fact]
    public void TheDefaultGraceOutlastsADatabaseWaitAndSeveralHeartbeats()
    {
        var exp = new AutoMLExperiment();
        Assert.True(exp.HeartbeatGrace > TimeSpan.FromSeconds(60), $"grace {exp.HeartbeatGrace}");
        Assert.True(exp.HeartbeatGrace >= 3 * AutoMLExperiment.DefaultHeartbeat, $"grace {exp.HeartbeatGrace}");
        Assert.True(exp.SetHeartbeat(TimeSpan.FromSeconds(30)).HeartbeatGrace >= TimeSpan.FromSeconds(60) + TimeSpan.FromSeconds(90));
        Assert.Equal(TimeSpan.FromSeconds(2), exp.SetHeartbeat(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2)).HeartbeatGrace);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => exp.SetHeartbeat(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.5)));
        Assert.Equal("grace", e.ParamName);
    }

    [Fact]
    public void ATrialFailedAsStaleIsStoppedAndItsLaterWritesAreRefused()
    {
        // Heartbeat writes never land in time (5 s) and the grace is short: trial 0 is failed as stale by the other worker while it
        // still runs. Its next report is refused, which stops it; nothing it wrote after the failure is in the study, and its
        // re-queued copy completes.
        using var storage = new SlowStorage(StudyStorage.Sqlite(Path.Combine(_dir, "fenced.db"))) { HeartbeatDelay = TimeSpan.FromSeconds(5) };
        var failures = new ConcurrentQueue<Exception?>();
        int reportsAfterRefusal = 0;
        var result = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize)
            .SetMaxTrials(1)
            .SetParallelism(2)
            .SetHeartbeat(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(150))
            .SetStudy(storage, "fenced")
            .SetMonitor(new FailureMonitor(failures))
            .SetObjective(t =>
            {
                if (t.Number > 0) return 0.5; // the retry is quick
                bool refused = false;
                for (int step = 0; step < 100; step++)
                {
                    try { t.Report(step, step); }
                    catch (TrialNotRunningException) { if (refused) Interlocked.Increment(ref reportsAfterRefusal); refused = true; throw; }
                    Thread.Sleep(50);
                }
                return 1.0;
            })
            .Run();
        var first = result.Trials.Single(t => t.Number == 0);
        Assert.Equal(TrialState.Fail, first.State);
        Assert.Contains("heartbeat", first.Error);
        Assert.Null(first.Value);
        Assert.True(first.IntermediateValues.Count < 100, $"{first.IntermediateValues.Count} reports were stored");
        Assert.Contains(failures, e => e is TrialNotRunningException);
        var retry = result.Trials.Single(t => t.SystemAttributes.TryGetValue(TrialAttributes.RetryOf, out var of) && of == "0");
        Assert.Equal(TrialState.Complete, retry.State);
        Assert.Equal(first.Parameters, retry.Parameters);
        Assert.Equal(0, reportsAfterRefusal);
    }

    private sealed class FailureMonitor(ConcurrentQueue<Exception?> failures) : IMonitor
    {
        public void TrialFailed(TrialRecord trial, Exception? error) => failures.Enqueue(error);
    }

    [Fact]
    public void SqliteRejectsWritesToATrialThatWasFailed() => CheckFencing(StudyStorage.Sqlite(Path.Combine(_dir, "fence.db")));

    [PostgresFact]
    public void PostgresRejectsWritesToATrialThatWasFailed()
    {
        using var pg = new PostgresServer();
        CheckFencing(StudyStorage.Postgres(pg.ConnectionString));
    }

    private static void CheckFencing(IStudyStorage s)
    {
        using var _ = s;
        var study = s.CreateOrLoadStudy("fence", Direction.Minimize);
        var t = s.CreateTrial(study.Id, TrialState.Running, new ParameterSet { ["x"] = 0.5 })!;
        s.ReportIntermediateValue(t.Id, 0, 1.0);
        Thread.Sleep(50);
        Assert.Equal(new[] { t.Number }, s.FailStaleTrials(study.Id, TimeSpan.FromMilliseconds(10)).Select(f => f.Number));

        // The worker that ran it does not know yet: each of its writes is refused, with a message naming the trial.
        var e = Assert.ThrowsAny<InvalidOperationException>(() => s.ReportIntermediateValue(t.Id, 1, 0.5));
        Assert.Contains($"trial {t.Number}", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.ThrowsAny<InvalidOperationException>(() => s.SetTrialUserAttribute(t.Id, "auc", "0.9"));
        Assert.ThrowsAny<InvalidOperationException>(() => s.SetTrialParameters(t.Id, new ParameterSet { ["x"] = 0.7 }));
        Assert.ThrowsAny<InvalidOperationException>(() => s.RecordHeartbeat(t.Id));
        Assert.False(s.FinishTrial(t.Id, TrialState.Complete, 0.1));

        var back = s.GetTrial(t.Id);
        Assert.Equal(TrialState.Fail, back.State);
        Assert.Equal(new[] { 0 }, back.IntermediateValues.Keys);
        Assert.Empty(back.UserAttributes);
        Assert.Equal(0.5, back.Parameters.GetDouble("x"));
        Assert.Null(back.Value);
        // Its re-queued copy is a new attempt (a new trial) that takes writes as usual.
        var retry = s.ClaimWaitingTrial(study.Id)!;
        s.ReportIntermediateValue(retry.Id, 0, 0.25);
        s.RecordHeartbeat(retry.Id);
        Assert.True(s.FinishTrial(retry.Id, TrialState.Complete, 0.25));
    }
}
