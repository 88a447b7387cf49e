using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MlNetMedical.Cli;
using MlNetMedical.Cli.Commands;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Cli.Terminal;
using MlNetMedical.Imaging.Synthetic;

namespace MlNetMedical.Benchmarks.Replicate;

/// <summary>What to run: training seeds, the data seed, the profile, where the results go, which tasks.</summary>
public sealed record SuiteOptions
{
    public IReadOnlyList<int> Seeds { get; init; } = [1, 2, 3, 4, 5];
    public long DataSeed { get; init; } = 1;
    public Profile Profile { get; init; } = Profile.Default;
    /// <summary>Folder of replicate.json and replicate.html.</summary>
    public string Out { get; init; } = "benchmarks/results";
    /// <summary>Folder of the generated data and each run's metrics.json.</summary>
    public string Work { get; init; } = "artifacts/bench/replicate";
    public IReadOnlyList<string>? Tasks { get; init; }
    /// <summary>Torch threads (null = every core).</summary>
    public int? Threads { get; init; }
    /// <summary>Progress on stderr; false in tests.</summary>
    public bool Progress { get; init; } = true;
}

/// <summary>One trained method on one task and training seed: its test figures.</summary>
public sealed record RunRow(string Task, string Method, int Seed, double Accuracy, double BalancedAccuracy, double MacroF1, double? Dice,
    int EpochsRun, int? BestValidationEpoch, double Seconds, bool ReusedFromFirstSeed);

/// <summary>Runs the suite: per task, the data once (from the data seed), then per training seed one pipeline with every
/// method's stage, trained and scored by the CLI's <see cref="PipelineRunner"/> (the code `mlnm run` uses).</summary>
public sealed class Suite(SuiteOptions options, CliContext context)
{
    /// <summary>Relative cost of one training seed of each task in the default profile (measured; used only for the ETA).</summary>
    private static readonly Dictionary<string, double> Cost = new() { [Tasks.Cardiac] = 1.0, [Tasks.Brain] = 1.3, [Tasks.Liver] = 1.4 };

    public ReplicateResult Run()
    {
        var clock = Stopwatch.StartNew();
        var facts = Provenance.Collect(options.Threads);
        var epochs = Plans.Epochs(options.Profile);
        var tasks = Plans.Tasks(options.Profile).Where(t => options.Tasks is null || options.Tasks.Contains(t.Task)).ToList();
        var unknown = options.Tasks?.Except(Plans.Tasks(options.Profile).Select(t => t.Task)).ToList();
        if (unknown is { Count: > 0 }) throw new ArgumentException($"--tasks: unknown task(s) {string.Join(", ", unknown)}; known: {string.Join(", ", Plans.Tasks(options.Profile).Select(t => t.Task))}");
        var available = Methods.All.ToDictionary(m => m.Id, m => StageAvailable(m));
        var unavailable = available.Where(a => a.Value is not null).ToDictionary(a => a.Key, a => a.Value!);
        var view = new ProgressView(context, options.Progress ? ProgressView.ChooseMode(context, quiet: false) : ProgressMode.Quiet);
        var rows = new List<RunRow>();
        var pretrainDice = new List<(string Task, int Seed, double Dice, int Epochs)>();
        var configs = new Dictionary<string, string>();
        var timings = new List<(string Task, int Seed, double Wall, double Cpu)>();

        view.Run(() =>
        {
            double total = tasks.Sum(t => Cost[t.Task] * options.Seeds.Count), done = 0;
            var suite = view.AddTask("replicate", total, "task-seed units");
            foreach (var task in tasks)
            {
                var methods = Methods.All.Where(m => available[m.Id] is null && !(m.TwoDOnly && task.SpatialDims == 3) && (task.Joint || m.StageKind != "joint")).ToList();
                var dataDir = Path.GetFullPath(Path.Combine(options.Work, "data", $"{task.Task}-d{options.DataSeed}-{task.Size}"));
                if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
                DatasetsCommand.Make(view, task.Task, dataDir, new SyntheticOptions
                {
                    Seed = options.DataSeed, Train = task.Train, Test = task.Test, Pretrain = task.Pretrain, Size = task.Size, Channels = task.Channels,
                });
                var manifest = Path.Combine(dataDir, "manifest.csv");
                var perSeed = methods.Where(m => !m.SeedIndependent).ToList();
                var once = methods.Where(m => m.SeedIndependent).ToList();
                for (int i = 0; i < options.Seeds.Count; i++)
                {
                    int seed = options.Seeds[i];
                    suite.Update(done, $"{task.Task} seed {seed} ({i + 1}/{options.Seeds.Count})");
                    var stages = i == 0 ? [.. once, .. perSeed] : perSeed;
                    var yaml = Plans.PipelineYaml(task, epochs, stages, manifest, seed, options.Threads);
                    if (i == 0) configs[task.Task] = yaml;
                    var (wall, cpu) = (Stopwatch.StartNew(), Process.GetCurrentProcess().TotalProcessorTime);
                    var report = RunPipeline(view, yaml, task, seed);
                    timings.Add((task.Task, seed, wall.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds));
                    foreach (var m in report.Methods)
                    {
                        if (m.Name == Methods.Pretrain)
                        {
                            pretrainDice.Add((task.Task, seed, m.Segmentation?.MeanDice ?? double.NaN, m.History.Count));
                            continue;
                        }
                        var c = m.Classification ?? throw new InvalidOperationException($"{task.Task} seed {seed}: stage {m.Name} has no classification metrics");
                        var row = new RunRow(task.Task, m.Name, seed, c.Accuracy, c.BalancedAccuracy, c.MacroF1, m.Segmentation?.MeanDice,
                            m.History.Count, BestEpoch(m), m.TrainingSeconds, false);
                        rows.Add(row);
                        // A seed-independent method is trained once; its figure stands for every seed (marked so in the rows).
                        if (once.Any(o => o.Id == m.Name))
                            rows.AddRange(options.Seeds.Skip(1).Select(s => row with { Seed = s, Seconds = 0, ReusedFromFirstSeed = true }));
                    }
                    done += Cost[task.Task];
                    suite.Update(done, $"{task.Task} seed {seed} done");
                    view.Log(string.Create(CultureInfo.InvariantCulture,
                        $"replicate: {task.Task} seed {seed} finished; {clock.Elapsed.TotalMinutes:F1} min elapsed, ETA {Math.Max(0, total - done) * clock.Elapsed.TotalMinutes / Math.Max(done, 1e-9):F1} min"));
                }
            }
            suite.Complete($"{tasks.Count} task(s) × {options.Seeds.Count} seed(s) in {clock.Elapsed.TotalMinutes:F1} min");
        });

        facts.Finish();
        return ReplicateResult.Build(options, tasks, epochs, rows, pretrainDice, unavailable, configs, timings, facts, clock.Elapsed.TotalMinutes);
    }

    private RunReport RunPipeline(ProgressView view, string yaml, TaskPlan task, int seed)
    {
        var config = PipelineExecution.Read(yaml, $"replicate:{task.Task}", []);
        var runDir = Path.GetFullPath(Path.Combine(options.Work, "runs", $"{task.Task}-d{options.DataSeed}", $"seed{seed}"));
        Directory.CreateDirectory(runDir);
        AtomicFile.WriteAllText(Path.Combine(runDir, "pipeline.yaml"), yaml);
        var (report, interrupted) = new PipelineRunner(view).Run(config, runDir, runDir);
        if (interrupted is not null) throw new OperationCanceledException($"{task.Task} seed {seed} was interrupted");
        AtomicFile.WriteAllText(Path.Combine(runDir, "metrics.json"), JsonSerializer.Serialize(report, PipelineExecution.MetricsJson));
        return report;
    }

    /// <summary>The epoch with the lowest validation loss (the loop's early-stopping metric here), 1-based; null without validation.</summary>
    private static int? BestEpoch(MethodResult m)
    {
        var withLoss = m.History.Where(e => e.Validation.ContainsKey("loss")).ToList();
        return withLoss.Count == 0 ? null : withLoss.MinBy(e => e.Validation["loss"])!.Epoch;
    }

    /// <summary>Null when this build's pipelines have the method's stage kind; otherwise why the method is left out. A kind the
    /// reader knows but whose entry it rejects is an error (the method table is out of step with the stage: fix its line).</summary>
    public static string? StageAvailable(MethodSpec method)
    {
        var task = Plans.Tasks(Profile.Toy)[0];
        var yaml = Plans.PipelineYaml(task, Plans.Epochs(Profile.Toy), [method], "probe/manifest.csv", 1, null);
        try
        {
            PipelineExecution.Read(yaml, "replicate-probe", []);
            return null;
        }
        catch (CliUserException e) when (e.Message.Contains($"'{method.StageKind}'", StringComparison.Ordinal) && e.Message.Contains("unknown key", StringComparison.Ordinal))
        {
            return $"this build of mlnm has no '{method.StageKind}' pipeline stage";
        }
    }
}
