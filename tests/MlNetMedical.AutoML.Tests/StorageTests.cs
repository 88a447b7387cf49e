using MlNetMedical.AutoML;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>The storage contract, run against SQLite and against a real PostgreSQL server.</summary>
public class StorageTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlnm-storage-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    [Fact]
    public void SqliteHonoursTheContract()
    {
        using var s = StudyStorage.Sqlite(Path.Combine(_dir, "s.db"));
        CheckContract(s);
    }

    [PostgresFact]
    public void PostgresHonoursTheContract()
    {
        using var pg = new PostgresServer();
        using var s = StudyStorage.Postgres(pg.ConnectionString);
        CheckContract(s);
    }

    private static void CheckContract(IStudyStorage s)
    {
        var study = s.CreateOrLoadStudy("c", Direction.Maximize);
        Assert.Equal(study, s.CreateOrLoadStudy("c", Direction.Maximize));
        Assert.Contains("Maximize", Assert.Throws<ArgumentException>(() => s.CreateOrLoadStudy("c", Direction.Minimize)).Message);

        var t0 = s.CreateTrial(study.Id, TrialState.Running)!;
        var t1 = s.CreateTrial(study.Id, TrialState.Waiting, new ParameterSet { ["x"] = 0.25, ["k"] = 3, ["c"] = "a", ["b"] = true })!;
        Assert.Equal((0, 1), (t0.Number, t1.Number));
        Assert.Equal(TrialState.Waiting, t1.State);
        Assert.Null(s.CreateTrial(study.Id, TrialState.Running, maxTrials: 2));

        var claimed = s.ClaimWaitingTrial(study.Id)!;
        Assert.Equal(1, claimed.Number);
        Assert.Equal(TrialState.Running, claimed.State);
        Assert.Equal(new ParameterSet { ["x"] = 0.25, ["k"] = 3, ["c"] = "a", ["b"] = true }, claimed.Parameters);
        Assert.Null(s.ClaimWaitingTrial(study.Id));

        s.ReportIntermediateValue(t0.Id, 0, 0.5);
        s.ReportIntermediateValue(t0.Id, 1, double.NaN);
        s.ReportIntermediateValue(t0.Id, 2, double.PositiveInfinity);
        s.SetTrialSystemAttribute(t0.Id, "completed_rung_0", "0.5");
        s.SetTrialUserAttribute(t0.Id, "auc", "0.9");
        Assert.True(s.FinishTrial(t0.Id, TrialState.Complete, 0.75));
        Assert.False(s.FinishTrial(t0.Id, TrialState.Fail, null)); // only RUNNING trials finish
        var back = s.GetTrial(t0.Id);
        Assert.Equal(TrialState.Complete, back.State);
        Assert.Equal(0.75, back.Value);
        Assert.Equal(0.5, back.IntermediateValues[0]);
        Assert.True(double.IsNaN(back.IntermediateValues[1]));
        Assert.True(double.IsPositiveInfinity(back.IntermediateValues[2]));
        Assert.Equal("0.5", back.SystemAttributes["completed_rung_0"]);
        Assert.Equal("0.9", back.UserAttributes["auc"]);
        Assert.NotNull(back.Started);
        Assert.True(back.Completed >= back.Started);

        // Trial 1 stops beating: it is failed once and re-queued with its parameters.
        Thread.Sleep(400);
        Assert.Empty(s.FailStaleTrials(study.Id, TimeSpan.FromSeconds(30)));
        var stale = s.FailStaleTrials(study.Id, TimeSpan.FromMilliseconds(200));
        Assert.Equal(new[] { 1 }, stale.Select(t => t.Number));
        Assert.Empty(s.FailStaleTrials(study.Id, TimeSpan.FromMilliseconds(200)));
        var trials = s.GetTrials(study.Id);
        Assert.Equal(TrialState.Fail, trials[1].State);
        Assert.Contains("heartbeat", trials[1].Error);
        var retry = trials.Single(t => t.SystemAttributes.TryGetValue(TrialAttributes.RetryOf, out var of) && of == "1");
        Assert.Equal(TrialState.Waiting, retry.State);
        Assert.Equal(claimed.Parameters, retry.Parameters);
        Assert.Equal(retry.Number.ToString(), trials[1].SystemAttributes[TrialAttributes.RequeuedAs]);
        // The failed original no longer counts against the budget; its retry does.
        Assert.Null(s.CreateTrial(study.Id, TrialState.Running, maxTrials: 2));
        Assert.NotNull(s.CreateTrial(study.Id, TrialState.Running, maxTrials: 4));

        s.SetStudyUserAttribute(study.Id, "note", "hello");
        Assert.Equal("hello", s.GetStudyUserAttributes(study.Id)["note"]);
    }

    [Fact]
    public void SqliteTakesConcurrentWritersWithoutLockErrors()
    {
        var path = Path.Combine(_dir, "busy.db");
        using var s = StudyStorage.Sqlite(path);
        var study = s.CreateOrLoadStudy("busy", Direction.Minimize);
        // 8 threads, each with its own storage object (own connections), hammer the same file.
        var numbers = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, w =>
        {
            using var mine = StudyStorage.Sqlite(path);
            for (int i = 0; i < 25; i++)
            {
                var t = mine.CreateTrial(study.Id, TrialState.Running, new ParameterSet { ["w"] = w, ["i"] = i })!;
                mine.ReportIntermediateValue(t.Id, 0, i);
                mine.RecordHeartbeat(t.Id);
                Assert.True(mine.FinishTrial(t.Id, TrialState.Complete, i));
                numbers.Add(t.Number);
            }
        });
        Assert.Equal(Enumerable.Range(0, 200), numbers.OrderBy(n => n));
        Assert.All(s.GetTrials(study.Id), t => Assert.Equal(TrialState.Complete, t.State));
    }

    [PostgresFact]
    public void FourWorkerProcessesShareOnePostgresStudyWithoutRunningATrialTwiceOrLosingOne()
    {
        using var pg = new PostgresServer();
        using var storage = StudyStorage.Postgres(pg.ConnectionString);
        var study = storage.CreateOrLoadStudy("shared", Direction.Minimize);
        // Eight queued configurations plus sixteen the workers' tuners propose.
        for (int i = 0; i < 8; i++) storage.CreateTrial(study.Id, TrialState.Waiting, new ParameterSet { ["x"] = -1.5 + i * 0.25, ["k"] = i % 5 });
        var log = Path.Combine(_dir, "pg-workers.log");
        Directory.CreateDirectory(_dir);
        var workers = Enumerable.Range(0, 4).Select(_ => Processes.StartWorker(pg.ConnectionString, "shared", "24", log, "--step-ms", "15", "--steps", "4", "--heartbeat-ms", "2000")).ToList();
        foreach (var w in workers)
        {
            Assert.True(w.WaitForExit(240_000), "a worker did not finish in 240 s");
            Assert.True(w.ExitCode == 0, $"worker exited {w.ExitCode}: {w.StandardError.ReadToEnd()}");
        }
        var lines = Processes.WorkerLog(log);
        var starts = lines.Where(l => l.StartsWith("start ")).Select(l => int.Parse(l.Split(' ')[1])).ToList();
        var dones = lines.Where(l => l.StartsWith("done ")).Select(l => int.Parse(l.Split(' ')[1])).ToList();
        Assert.Equal(24, starts.Count);
        Assert.Equal(Enumerable.Range(0, 24), starts.OrderBy(n => n));    // every trial ran, none twice
        Assert.Equal(Enumerable.Range(0, 24), dones.OrderBy(n => n));
        var trials = storage.GetTrials(study.Id);
        Assert.Equal(24, trials.Count);
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
        for (int i = 0; i < 8; i++) Assert.Equal(-1.5 + i * 0.25, trials[i].Parameters.GetDouble("x"), 12);
        int pids = lines.Where(l => l.StartsWith("start ")).Select(l => l.Split(' ')[2]).Distinct().Count();
        Assert.True(pids >= 2, $"only {pids} worker process(es) took trials");
    }
}
