using System.Diagnostics;
using MlNetMedical.AutoML;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>Several worker processes on one study: SQLite on one machine, PostgreSQL with a worker killed mid-trial.</summary>
public class MultiProcessTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlnm-mp-" + Guid.NewGuid().ToString("N"));

    public MultiProcessTests() => Directory.CreateDirectory(_dir);
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private static void WaitAll(IEnumerable<Process> workers)
    {
        foreach (var w in workers)
        {
            Assert.True(w.WaitForExit(240_000), "a worker did not finish in 240 s");
            Assert.True(w.ExitCode == 0, $"worker exited {w.ExitCode}: {w.StandardError.ReadToEnd()}");
        }
    }

    private static List<(string Kind, int Number, string Pid)> Events(string log) =>
        Processes.WorkerLog(log).Select(l => l.Split(' ')).Select(p => (p[0], int.Parse(p[1]), p[2])).ToList();

    [Fact]
    public void ThreeProcessesShareOneSqliteStudyWithoutLockErrors()
    {
        var db = Path.Combine(_dir, "mp.db");
        var log = Path.Combine(_dir, "mp.log");
        var workers = Enumerable.Range(0, 3).Select(_ => Processes.StartWorker("sqlite:" + db, "mp", "30", log, "--step-ms", "5", "--steps", "3", "--heartbeat-ms", "2000")).ToList();
        WaitAll(workers);
        var events = Events(log);
        Assert.Equal(Enumerable.Range(0, 30), events.Where(e => e.Kind == "start").Select(e => e.Number).OrderBy(n => n));
        Assert.Equal(Enumerable.Range(0, 30), events.Where(e => e.Kind == "done").Select(e => e.Number).OrderBy(n => n));
        using var s = StudyStorage.Sqlite(db);
        Assert.All(s.GetTrials(s.CreateOrLoadStudy("mp", Direction.Minimize).Id), t => Assert.Equal(TrialState.Complete, t.State));
    }

    [PostgresFact]
    public void AWorkerKilledMidTrialHasItsTrialFailedByHeartbeatAndRedoneByTheOthers()
    {
        using var pg = new PostgresServer();
        var log = Path.Combine(_dir, "pgkill.log");
        string[] Args(int stepMs) => new[] { pg.ConnectionString, "pgkill", "12", log, "--step-ms", stepMs.ToString(), "--steps", "5", "--heartbeat-ms", "1000" };
        var victim = Processes.StartWorker(Args(400)); // 2 s per trial: easy to catch mid-trial
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline && !Processes.WorkerLog(log).Any(l => l.StartsWith("start "))) Thread.Sleep(50);
        Thread.Sleep(300);
        victim.Kill(entireProcessTree: true);
        victim.WaitForExit();
        var killedNumber = Events(log).Single(e => e.Kind == "start").Number;

        var others = Enumerable.Range(0, 2).Select(_ => Processes.StartWorker(Args(10))).ToList();
        WaitAll(others);

        using var storage = StudyStorage.Postgres(pg.ConnectionString);
        var trials = storage.GetTrials(storage.CreateOrLoadStudy("pgkill", Direction.Minimize).Id);
        Processes.AssertFailedByHeartbeatAndRedone(trials, killedNumber);
        Assert.Equal(12, trials.Count(t => t.State == TrialState.Complete));
        Assert.Equal(13, trials.Count);
        var runs = Events(log).Where(e => e.Kind == "start").GroupBy(e => e.Number).ToList();
        Assert.All(runs, g => Assert.True(g.Count() == 1, $"trial {g.Key} ran {g.Count()} times"));
    }

    /// <summary>
    /// Optuna's RDB model on several machines: three worker processes on one PostgreSQL study, one killed with SIGKILL in the middle
    /// of a trial. Its heartbeat stops, a survivor fails the trial as stale (grace = 3 × the 400 ms heartbeat, the test worker's --grace-ms default) and re-queues its
    /// configuration, a survivor runs that copy, and the study reaches its budget of 12 completed trials with no trial number run twice.
    /// </summary>
    [PostgresFact]
    public void ThreeWorkersOnOnePostgresStudyOneKilledMidTrialReachTheBudgetAndRunNoTrialTwice()
    {
        using var pg = new PostgresServer();
        var log = Path.Combine(_dir, "pg3.log");
        string[] Args(int stepMs) => [pg.ConnectionString, "pg3", "12", log, "--step-ms", stepMs.ToString(), "--steps", "5", "--heartbeat-ms", "400"];
        // The victim's trials take 5 × 2 s, so it is certainly mid-trial when killed; the survivors' take 5 × 150 ms.
        var victim = Processes.StartWorker(Args(2000));
        var workers = new List<Process> { victim };
        try
        {
            var victimPid = victim.Id.ToString();
            bool VictimStarted() => Events(log).Any(e => e.Kind == "start" && e.Pid == victimPid);
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (DateTime.UtcNow < deadline && !VictimStarted()) Thread.Sleep(20);
            Assert.True(VictimStarted(), "the first worker started no trial in 120 s");
            var survivors = Enumerable.Range(0, 2).Select(_ => Processes.StartWorker(Args(150))).ToList();
            workers.AddRange(survivors);
            // Kill as soon as both survivors run trials beside it (all three on the study at once), or 6 s into its 10 s trial.
            var killBy = DateTime.UtcNow.AddSeconds(6);
            while (DateTime.UtcNow < killBy && Events(log).Where(e => e.Kind == "start").Select(e => e.Pid).Distinct().Count() < 3) Thread.Sleep(20);
            victim.Kill(); // SIGKILL on Unix: no cleanup, no final write, the heartbeat just stops
            victim.WaitForExit();
            var victimEvents = Events(log).Where(e => e.Pid == victimPid).ToList();
            var killedNumber = Assert.Single(victimEvents.Where(e => e.Kind == "start")).Number;
            Assert.DoesNotContain(victimEvents, e => e.Kind == "done");

            WaitAll(survivors);
            using var storage = StudyStorage.Postgres(pg.ConnectionString);
            var trials = storage.GetTrials(storage.CreateOrLoadStudy("pg3", Direction.Minimize).Id);
            Processes.AssertFailedByHeartbeatAndRedone(trials, killedNumber);
            Assert.Equal(12, trials.Count(t => t.State == TrialState.Complete));     // the budget
            Assert.Equal(13, trials.Count);                                           // plus the killed one, failed
            var events = Events(log);
            var starts = events.Where(e => e.Kind == "start").GroupBy(e => e.Number).ToList();
            Assert.All(starts, g => Assert.True(g.Count() == 1, $"trial {g.Key} ran {g.Count()} times"));
            Assert.Equal(trials.Select(t => t.Number).OrderBy(n => n), starts.Select(g => g.Key).OrderBy(n => n));
            Assert.Equal(trials.Where(t => t.State == TrialState.Complete).Select(t => t.Number).OrderBy(n => n),
                         events.Where(e => e.Kind == "done").Select(e => e.Number).OrderBy(n => n));
            Assert.True(survivors.All(w => events.Any(e => e.Kind == "start" && e.Pid == w.Id.ToString())),
                        "each surviving worker should have run trials; one never took any");
        }
        finally
        {
            foreach (var w in workers.Where(w => !w.HasExited)) w.Kill();
        }
    }
}
