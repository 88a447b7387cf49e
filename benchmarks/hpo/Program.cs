// benchmarks/run hpo: random, TPE and CFO on Branin, Hartmann-6 and noisy Hartmann-6 over 20 seeds, then ASHA pruning and
// SetParallelism(2) on the transfer-strategy sweep over synthetic cardiac-level-2d (Pruning.cs).
// Prints tables, then one JSON line. usage: HpoBenchmark [--seeds N] [--max-trials N] [--skip-pruning]
//   [--metric accuracy|log_loss|...] [--size 64] [--train 72] [--validation 54] [--pretrain 120] [--pretrain-epochs 5] [--epochs 10] [--trials 16]
using System.Globalization;
using System.Text.Json;
using MlNetMedical.AutoML;
using MlNetMedical.AutoML.Benchmarks;

string StringOption(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 ? args[i + 1] : fallback; }
int Option(string name, int fallback) { int i = Array.IndexOf(args, name); return i >= 0 ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback; }
int seeds = Option("--seeds", 20), maxTrials = Option("--max-trials", 400);
var tuners = new (string Name, Func<int, ITuner> Make)[] { ("random", s => new RandomTuner(s)), ("tpe", s => new TpeTuner(s)), ("cfo", s => new CfoTuner(s)) };

static double Median(IEnumerable<double> xs)
{
    var v = xs.OrderBy(x => x).ToArray();
    return v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
}

// Other work on a shared machine skews wall clocks: the 1-minute load average goes with the figures.
static double? LoadAverage() => File.Exists("/proc/loadavg") && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var l) ? l : null;

var results = new Dictionary<string, object>();
var trialsToTarget = new Dictionary<(string F, string T), double>();
Console.WriteLine($"Tuners on test functions: {seeds} seeds, up to {maxTrials} trials; trials-to-target counts {maxTrials + 1} when never reached (censored).");
Console.WriteLine($"{"function",-16} {"tuner",-7} {"target",8} {"med trials",10} {"reached",8} {"med regret@50",14} {"med regret@100",15}");
foreach (var f in TestFunctions.All)
{
    var perTuner = new Dictionary<string, object>();
    foreach (var (name, make) in tuners)
    {
        var traces = Enumerable.Range(0, seeds).AsParallel().AsOrdered().Select(s => TestFunctions.RegretTrace(make(s), f, maxTrials, s)).ToList();
        var hits = traces.Select(t => TestFunctions.TrialsToTarget(t, f.TargetRegret)).ToList();
        double med = Median(hits.Select(h => (double)(h ?? maxTrials + 1)));
        double r50 = Median(traces.Select(t => t[49])), r100 = Median(traces.Select(t => t[99]));
        int reached = hits.Count(h => h is not null);
        trialsToTarget[(f.Name, name)] = med;
        Console.WriteLine($"{f.Name,-16} {name,-7} {f.TargetRegret,8:G3} {med,10:0.#} {reached,5}/{seeds,-2} {r50,14:G4} {r100,15:G4}");
        perTuner[name] = new { median_trials_to_target = med, reached_target = reached, median_regret_at_50 = r50, median_regret_at_100 = r100 };
    }
    results[f.Name] = new { target_regret = f.TargetRegret, optimum = f.Optimum, noise_sd = f.NoiseSd, tuners = perTuner };
}
double Ratio(string fn) => trialsToTarget[(fn, "tpe")] / trialsToTarget[(fn, "random")];
var ratios = TestFunctions.All.Select(f => Ratio(f.Name)).ToList();
Console.WriteLine($"TPE/random median trials to target: {string.Join(", ", TestFunctions.All.Select(f => $"{f.Name} {Ratio(f.Name):0.###}"))}");

object? pruning = null;
double? ashaSaving = null, parallelSpeedup = null;
if (!args.Contains("--skip-pruning"))
{
    var settings = new PruningSettings(Option("--size", 64), Option("--train", 72), Option("--validation", 54), Option("--pretrain", 120),
                                       Option("--pretrain-epochs", 5), Option("--epochs", 10), Option("--trials", 16), Option("--pruning-seed", 1),
                                       StringOption("--metric", SweepMetrics.Accuracy));
    Console.WriteLine($"Pruning on cardiac-level-2d {settings.Size}x{settings.Size}: {settings.Train} train / {settings.Validation} validation slices, " +
                      $"{settings.Trials} random transfer-strategy trials of {settings.Epochs} epochs, {Environment.ProcessorCount} cores");
    var (none, asha, parallel, parallelAgain, noneAgain, pretrainSeconds, validationRows) = PruningBenchmark.Run(settings, Console.Out);
    // Equal best: the two studies' best final validation values differ by at most one standard error (binomial, at their mean, on
    // the validation rows). Only then is the epochs ratio a saving at the same result; otherwise it is reported but not as the saving.
    double bestGap = Math.Abs(none.BestValue - asha.BestValue);
    double se = PruningBenchmark.StandardError(settings.Metric, (none.BestValue + asha.BestValue) / 2, validationRows);
    bool? sameBest = double.IsNaN(se) ? null : bestGap <= se;
    double epochRatio = Math.Round((double)none.EpochsSpent / Math.Max(1, asha.EpochsSpent), 4);
    ashaSaving = sameBest == true ? epochRatio : null;
    double serialWall = none.WallSeconds + noneAgain.WallSeconds, parallelWall = parallel.WallSeconds + parallelAgain.WallSeconds;
    parallelSpeedup = Math.Round(serialWall / parallelWall, 4);
    bool reproducible = none.ValuePerTrial.SequenceEqual(noneAgain.ValuePerTrial);
    Console.WriteLine($"best validation {settings.Metric}: no pruning {none.BestValue:0.###}, ASHA {asha.BestValue:0.###} (gap {bestGap:0.###}, one standard error {se:0.###} on {validationRows} rows: " +
                      $"{(sameBest switch { true => "equal best", false => "ASHA's best differs", _ => "no standard error for this metric" })}); " +
                      $"epochs {none.EpochsSpent} vs {asha.EpochsSpent} (ratio {epochRatio}) -> asha_epoch_saving {(ashaSaving is { } v ? v.ToString(CultureInfo.InvariantCulture) : "null (bests differ)")}");
    Console.WriteLine($"SetParallelism(2) vs 1 (two runs each): {serialWall:0.0} s / {parallelWall:0.0} s -> speed-up {parallelSpeedup}; " +
                      $"the repeated unpruned study {(reproducible ? "gave identical trial values" : "gave different trial values")}");
    pruning = new { settings, pretrain_seconds = pretrainSeconds, validation_rows = validationRows, best_no_pruning = none.BestValue, best_asha = asha.BestValue,
                    best_gap = bestGap, standard_error = double.IsNaN(se) ? (double?)null : se, same_best = sameBest,
                    epochs_no_pruning = none.EpochsSpent, epochs_asha = asha.EpochsSpent, epochs_ratio = epochRatio,
                    repeat_identical = reproducible, load_average_1min = LoadAverage(), studies = new[] { none, parallel, asha, parallelAgain, noneAgain } };
}
var summary = new Dictionary<string, object?>
{
    ["benchmark"] = "hpo",
    ["seeds"] = seeds,
    ["max_trials"] = maxTrials,
    ["tpe_vs_random_trials_ratio"] = Math.Round(Median(ratios), 4),
    ["tpe_vs_random_trials_ratio_per_function"] = TestFunctions.All.ToDictionary(f => f.Name, f => Math.Round(Ratio(f.Name), 4)),
    ["functions"] = results,
    ["asha_epoch_saving"] = ashaSaving,
    ["parallel_speedup"] = parallelSpeedup,
    ["pruning"] = pruning,
    ["note"] = "trials-to-target is censored at max_trials+1; asha_epoch_saving = epochs the unpruned study spends / epochs ASHA (reduction factor 4) spends, over the same seeded random configurations, when both studies' best final validation value (--metric, default accuracy; per-epoch values on the same validation rows) is within one binomial standard error, else null (see pruning.same_best, pruning.epochs_ratio); parallel_speedup = wall clock of the unpruned study at SetParallelism(1) / SetParallelism(2)",
};
Console.WriteLine(JsonSerializer.Serialize(summary));
