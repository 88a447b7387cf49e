// Test worker: runs one AutoMLExperiment on a shared study and logs every trial it starts and finishes.
// usage: Worker STORAGE STUDY MAX_TRIALS LOG_PREFIX [--step-ms N] [--steps N] [--heartbeat-ms N] [--grace-ms N (default 3 heartbeats)] [--parallelism N]
// The log goes to LOG_PREFIX.PID: appends from several processes to one file could interleave.
using System.Globalization;
using MlNetMedical.AutoML;

var storageUrl = args[0];
var studyName = args[1];
int maxTrials = int.Parse(args[2], CultureInfo.InvariantCulture);
var logPath = $"{args[3]}.{Environment.ProcessId}";
int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
int stepMs = Option("--step-ms", 20), steps = Option("--steps", 5), heartbeatMs = Option("--heartbeat-ms", 500), parallelism = Option("--parallelism", 1);
int graceMs = Option("--grace-ms", 3 * heartbeatMs); // short, so the tests see a killed worker's trial re-queued quickly
int pid = Environment.ProcessId;
var gate = new object();
void Log(string line)
{
    lock (gate)
    {
        using var w = new StreamWriter(logPath, append: true);
        w.WriteLine(line);
        w.Flush();
    }
}

using var storage = StudyStorage.Open(storageUrl);
var space = new SearchSpace().Float("x", -2, 2).Int("k", 0, 4);
var result = new AutoMLExperiment()
    .SetSearchSpace(space)
    .SetMetric("loss", Direction.Minimize)
    .SetMaxTrials(maxTrials)
    .SetParallelism(parallelism)
    .SetHeartbeat(TimeSpan.FromMilliseconds(heartbeatMs), TimeSpan.FromMilliseconds(graceMs))
    .SetStudy(storage, studyName)
    .SetTuner(new TpeTuner(pid, new TpeOptions { ConstantLiar = true, StartupTrials = 4 }))
    .SetObjective(t =>
    {
        Log($"start {t.Number} {pid} {t.Parameters.ToJson()}");
        double loss = Math.Pow(t.Parameters.GetDouble("x") - 0.5, 2) + t.Parameters.GetInt("k");
        for (int s = 0; s < steps; s++)
        {
            Thread.Sleep(stepMs);
            t.Report(s, loss + (steps - s));
        }
        Log($"done {t.Number} {pid}");
        return loss;
    })
    .Run();
Console.WriteLine($"warm-start {result.WarmStartTrials}");
Console.WriteLine($"best {result.BestTrial?.Number} {result.BestTrial?.Value?.ToString("R", CultureInfo.InvariantCulture)}");
