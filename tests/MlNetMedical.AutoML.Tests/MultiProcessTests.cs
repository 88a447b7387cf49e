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
}
