using System.Collections.Concurrent;
using System.Text.Json;
using MlNetMedical.AutoML;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

public class ExperimentTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlnm-exp-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private sealed class RecordingMonitor : IMonitor
    {
        public ConcurrentQueue<string> Events { get; } = new();
        public void TrialStarted(TrialRecord t) => Events.Enqueue($"started {t.Number}");
        public void TrialReported(TrialRecord t, int step, double value) => Events.Enqueue($"reported {t.Number}");
        public void TrialPruned(TrialRecord t) => Events.Enqueue($"pruned {t.Number}");
        public void TrialCompleted(TrialRecord t) => Events.Enqueue($"completed {t.Number}");
        public void TrialFailed(TrialRecord t, Exception? e) => Events.Enqueue($"failed {t.Number}");
        public void BestChanged(TrialRecord t) => Events.Enqueue($"best {t.Number}");
    }

    [Fact]
    public void RunsAStudyRecordsFailuresAndWritesTheLeaderboard()
    {
        var monitor = new RecordingMonitor();
        var space = new SearchSpace().Float("x", -3, 3).Choice("kind", "a", "b");
        var result = new AutoMLExperiment()
            .SetSearchSpace(space)
            .SetMetric("accuracy", Direction.Maximize)
            .SetMaxTrials(20)
            .SetStudy(Path.Combine(_dir, "study.db"), "acc")
            .SetMonitor(monitor)
            .SetTuner(new TpeTuner(1))
            .SetObjective(t =>
            {
                if (t.Number == 3) throw new InvalidOperationException("out of memory (simulated)");
                t.Report(0, 0.1);
                return 1 - Math.Abs(t.Parameters.GetDouble("x") - 1) / 4 - ((string)t.Parameters["kind"] == "b" ? 0.1 : 0);
            })
            .Run();
        Assert.Equal(20, result.Trials.Count);
        var failed = result.Trials.Single(t => t.State == TrialState.Fail);
        Assert.Equal(3, failed.Number);
        Assert.Contains("out of memory (simulated)", failed.Error);
        Assert.Equal(19, result.Leaderboard.Count);
        Assert.Equal(result.Leaderboard.Max(t => t.Value), result.BestTrial!.Value);
        Assert.True(result.Leaderboard.Zip(result.Leaderboard.Skip(1)).All(p => p.First.Value >= p.Second.Value));
        Assert.Contains("failed 3", monitor.Events);
        Assert.Equal(19, monitor.Events.Count(e => e.StartsWith("completed")));
        Assert.Equal(19, monitor.Events.Count(e => e.StartsWith("reported")));
        Assert.Contains($"best {result.BestTrial.Number}", monitor.Events);
        Assert.Equal(Path.Combine(_dir, "acc.leaderboard.csv"), result.LeaderboardCsvPath);
        var csv = File.ReadAllLines(result.LeaderboardCsvPath!);
        Assert.Equal("rank,trial,state,accuracy,duration_s,last_step,x,kind,error", csv[0]);
        Assert.StartsWith($"1,{result.BestTrial.Number},COMPLETE,", csv[1]);
        Assert.Equal(21, csv.Length);
        using var json = JsonDocument.Parse(File.ReadAllText(result.LeaderboardJsonPath!));
        Assert.Equal(result.BestTrial.Number, json.RootElement.GetProperty("best_trial").GetInt32());
        Assert.Equal(20, json.RootElement.GetProperty("trials").GetArrayLength());
    }

    [Fact]
    public void ParallelTrialsOnSqliteRunExactlyTheBudgetAndSeeTheirThreadBudget()
    {
        var running = 0; var maxRunning = 0;
        var budgets = new ConcurrentBag<int>();
        var exp = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize)
            .SetMaxTrials(40)
            .SetParallelism(4)
            .SetStudy(Path.Combine(_dir, "par.db"), "par")
            .SetObjective(t =>
            {
                int now = Interlocked.Increment(ref running);
                int seen;
                while ((seen = maxRunning) < now && Interlocked.CompareExchange(ref maxRunning, now, seen) != seen) { }
                budgets.Add(t.ThreadBudget);
                // Long enough that trials overlap even when the machine is busy with other test assemblies.
                for (int s = 0; s < 3; s++) { Thread.Sleep(20); t.Report(s, t.Parameters.GetDouble("x")); }
                Interlocked.Decrement(ref running);
                return t.Parameters.GetDouble("x");
            });
        var result = exp.Run();
        Assert.Equal(Enumerable.Range(0, 40), result.Trials.Select(t => t.Number));
        Assert.All(result.Trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.True(maxRunning > 1, $"trials never overlapped (max {maxRunning} at once)");
        Assert.True(maxRunning <= 4);
        Assert.All(budgets, b => Assert.Equal(Math.Max(1, Environment.ProcessorCount / 4), b));
    }

    [Fact]
    public void MedianPruningStopsBadCurvesAndRecordsThemPruned()
    {
        var monitor = new RecordingMonitor();
        var result = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("q", 0, 1))
            .SetMetric("loss", Direction.Minimize)
            .SetMaxTrials(30)
            .SetTuner(new RandomTuner(2))
            .SetPruner(new MedianPruner())
            .SetStudy(Path.Combine(_dir, "prune.db"), "prune")
            .SetMonitor(monitor)
            .SetObjective(t =>
            {
                double q = t.Parameters.GetDouble("q");
                for (int epoch = 0; epoch < 10; epoch++) t.ReportOrPrune(epoch, q + 1.0 / (epoch + 1));
                return q;
            })
            .Run();
        var pruned = result.Trials.Where(t => t.State == TrialState.Pruned).ToList();
        Assert.NotEmpty(pruned);
        Assert.All(result.Trials.Take(5), t => Assert.Equal(TrialState.Complete, t.State)); // startup trials
        Assert.All(pruned, t => Assert.True(t.LastStep < 9));
        Assert.All(pruned, t => Assert.Equal(t.IntermediateValues[t.LastStep!.Value], t.Value));
        Assert.Equal(pruned.Count, monitor.Events.Count(e => e.StartsWith("pruned")));
        // Pruned trials are the bad ones: their q is above the median of the completed ones.
        Assert.True(pruned.Average(t => t.Parameters.GetDouble("q")) > result.Leaderboard.Average(t => t.Parameters.GetDouble("q")));
    }

    [Fact]
    public void TimeBudgetStopsTheStudy()
    {
        var result = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize)
            .SetTrainingTimeInSeconds(1.0)
            .SetStudy(Path.Combine(_dir, "time.db"), "time")
            .SetObjective(t => { Task.Delay(150, t.CancellationToken).Wait(); return 0.0; })
            .Run();
        Assert.InRange(result.Trials.Count, 1, 12);
        var last = result.Trials.Last();
        Assert.True(last.State == TrialState.Complete || last.Error!.Contains("time budget"));
    }

    [Fact]
    public void ResumingAStudyWarmStartsTheTunerAndKeepsTheBudget()
    {
        var db = Path.Combine(_dir, "resume.db");
        AutoMLExperiment Make(int max) => new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize).SetMaxTrials(max)
            .SetStudy(db, "r").SetObjective(t => t.Parameters.GetDouble("x"));
        var first = Make(5).Run();
        var second = Make(12).Run();
        Assert.Equal(5, second.WarmStartTrials);
        Assert.Equal(12, second.Trials.Count);
        Assert.Equal(first.Trials.Select(t => t.Value), second.Trials.Take(5).Select(t => t.Value));
        Assert.Contains("direction", Assert.Throws<ArgumentException>(() =>
            new AutoMLExperiment().SetSearchSpace(new SearchSpace().Float("x", 0, 1)).SetMetric("loss", Direction.Maximize).SetMaxTrials(1)
                .SetStudy(db, "r").SetObjective(t => 0.0).Run()).Message);
    }

    [Fact]
    public void AStudyKilledWithSigkillMidTrialResumesOnRerun()
    {
        Directory.CreateDirectory(_dir);
        var db = Path.Combine(_dir, "killed.db");
        var log = Path.Combine(_dir, "killed.log");
        string[] args = { "sqlite:" + db, "k", "6", log, "--step-ms", "150", "--steps", "6", "--heartbeat-ms", "300" };
        var victim = Processes.StartWorker(args);
        // Wait until two trials are done and a third is under way, then kill -9 (SIGKILL) the process.
        var deadline = DateTime.UtcNow.AddSeconds(120);
        string[] lines = Array.Empty<string>();
        while (DateTime.UtcNow < deadline)
        {
            lines = File.Exists($"{log}.{victim.Id}") ? File.ReadAllLines($"{log}.{victim.Id}") : Array.Empty<string>();
            if (lines.Count(l => l.StartsWith("done ")) >= 2 && lines.Last().StartsWith("start ")) break;
            Thread.Sleep(50);
        }
        Assert.True(lines.Last().StartsWith("start "), "the worker never got to a third trial: " + string.Join(" | ", lines));
        victim.Kill(entireProcessTree: true);
        victim.WaitForExit();
        int killedTrial = int.Parse(lines.Last().Split(' ')[1]);
        using (var s = StudyStorage.Sqlite(db))
        {
            var before = s.GetTrials(s.CreateOrLoadStudy("k", Direction.Minimize).Id);
            Assert.Equal(TrialState.Running, before.Single(t => t.Number == killedTrial).State); // a zombie, until the rerun
        }
        var completedBefore = lines.Where(l => l.StartsWith("done ")).Select(l => int.Parse(l.Split(' ')[1])).ToHashSet();

        var rerun = Processes.StartWorker(args);
        Assert.True(rerun.WaitForExit(180_000), "the resumed worker did not finish");
        string output = rerun.StandardOutput.ReadToEnd();
        Assert.True(rerun.ExitCode == 0, output + rerun.StandardError.ReadToEnd());

        using var storage = StudyStorage.Sqlite(db);
        var trials = storage.GetTrials(storage.CreateOrLoadStudy("k", Direction.Minimize).Id);
        Processes.AssertFailedByHeartbeatAndRedone(trials, killedTrial);
        Assert.All(completedBefore, n => Assert.Equal(TrialState.Complete, trials.Single(t => t.Number == n).State));
        Assert.Equal(6, trials.Count(t => t.State == TrialState.Complete));
        Assert.Equal(7, trials.Count);
        // The tuner learned from every trial finished before the rerun (the completed ones and the failed zombie).
        int warm = int.Parse(output.Split('\n').First(l => l.StartsWith("warm-start ")).Split(' ')[1]);
        Assert.InRange(warm, completedBefore.Count, completedBefore.Count + 1);
    }

    [Fact]
    public void SweepableChoiceBuildsTheChosenAlternativeFromItsOwnSpace()
    {
        var head = new SweepableChoice<string>("head")
            .Add("softmax", new SearchSpace().Float("lr", 1e-4, 1e-1, log: true), p => $"softmax(lr={p.GetDouble("lr"):G3})")
            .Add("mlp", new SearchSpace().Float("lr", 1e-4, 1e-1, log: true).Int("hidden", 16, 256, log: true), p => $"mlp({p.GetInt("hidden")})");
        var space = head.Space;
        Assert.Equal(new[] { "head", "head.softmax.lr", "head.mlp.lr", "head.mlp.hidden" }, space.Dimensions.Select(d => d.FullName));
        var seen = new HashSet<string>();
        var result = new AutoMLExperiment().SetSearchSpace(space).SetMetric("loss", Direction.Minimize).SetMaxTrials(25)
            .SetStudy(Path.Combine(_dir, "sweep.db"), "sweep")
            .SetObjective(t =>
            {
                var (label, built) = head.Resolve(t.Parameters);
                lock (seen) seen.Add(label);
                return label == "mlp" ? Math.Abs(Math.Log(t.Parameters.GetInt("head.mlp.hidden") / 64.0)) : 1.0;
            }).Run();
        Assert.Equal(new HashSet<string> { "softmax", "mlp" }, seen);
        Assert.Equal("mlp", result.BestTrial!.Parameters["head"]);
    }

    private sealed class SpyTuner : ITuner
    {
        private readonly RandomTuner _inner = new(3);
        public List<(int Trial, int[] Seen)> Calls { get; } = new();
        public string Name => "spy";
        public ParameterSet? Propose(TuningContext c)
        {
            lock (Calls) Calls.Add((c.TrialNumber, c.Trials.Select(t => t.Number).ToArray()));
            return _inner.Propose(c);
        }
        public void Observe(TrialRecord finished, SearchSpace space, Direction direction) { }
    }

    [Fact]
    public void UnderHyperbandTheTunerSeesOnlyTrialsOfItsOwnBracket()
    {
        var spy = new SpyTuner();
        var hb = new HyperbandPruner(minResource: 1, maxResource: 9, reductionFactor: 3);
        var result = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Float("x", 0, 1))
            .SetMetric("loss", Direction.Minimize).SetMaxTrials(30)
            .SetTuner(spy).SetPruner(hb)
            .SetStudy(Path.Combine(_dir, "hb.db"), "hb")
            .SetObjective(t =>
            {
                for (int s = 0; s < 9; s++) t.ReportOrPrune(s, t.Parameters.GetDouble("x") + 1.0 / (s + 1));
                return t.Parameters.GetDouble("x");
            }).Run();
        Assert.Equal(3, hb.BracketCount);
        Assert.Equal(30, result.Trials.Count);
        Assert.Contains(result.Trials, t => t.State == TrialState.Pruned);
        var filtered = spy.Calls.Where(c => c.Seen.Length > 0).ToList();
        Assert.NotEmpty(filtered);
        foreach (var (trial, seen) in spy.Calls)
            Assert.All(seen, n => Assert.Equal(hb.BracketOf("hb", trial), hb.BracketOf("hb", n)));
        // Brackets differ across the study, so the filter really dropped trials.
        Assert.True(spy.Calls.Any(c => c.Seen.Length < c.Trial), "no proposal saw a filtered history");
    }

    [Fact]
    public void AnExhaustedGridEndsTheStudy()
    {
        var result = new AutoMLExperiment()
            .SetSearchSpace(new SearchSpace().Int("a", 0, 2).Bool("b"))
            .SetMetric("loss", Direction.Minimize).SetMaxTrials(20)
            .SetTuner(new GridTuner(seed: 1))
            .SetStudy(Path.Combine(_dir, "grid.db"), "grid")
            .SetObjective(t => t.Parameters.GetInt("a"))
            .Run();
        Assert.Equal(6, result.Leaderboard.Count);
        Assert.Equal(6, result.Leaderboard.Select(t => t.Parameters).Distinct().Count());
        // The trial opened for a seventh configuration is closed with the reason.
        Assert.Contains("no configuration left", Assert.Single(result.Trials, t => t.State == TrialState.Fail).Error);
    }
}
