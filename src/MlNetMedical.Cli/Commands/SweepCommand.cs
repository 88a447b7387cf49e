using System.CommandLine;
using System.Globalization;
using MlNetMedical.AutoML;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Sweeps;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm sweep SWEEP.yaml [--storage sqlite:PATH|postgres:CONNECTION|postgresql://URL] [--parallel N] [--resume] [--out DIR] [--set k=v]
/// [--seed N] [--threads N] [--force] [--record-machine] [--quiet] [--json]`.</summary>
public sealed class SweepCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var file = new Argument<string>("SWEEP.yaml") { Description = "The sweep file (schema: pipelines/README.md, section Sweeps)." };
        var storage = new Option<string?>("--storage")
        {
            HelpName = "STORAGE",
            Description = "Where the study lives: sqlite:PATH (default OUT/study.db), or PostgreSQL, which several machines can share: "
                          + "postgresql://USER@HOST:PORT/DATABASE?sslmode=require&... or postgres:\"host=... dbname=... sslmode=...\". "
                          + $"Default: ${SweepStorage.EnvironmentVariable}. Keep passwords off the command line (ps shows it): PGPASSWORD, ~/.pgpass or ${SweepStorage.EnvironmentVariable}.",
        };
        var parallel = new Option<int?>("--parallel") { Description = "Trials run at once (overrides sweep.parallel); each gets cores/N torch threads." };
        var resume = new Option<bool>("--resume") { Description = "Continue a study that already has trials (a killed run: its stale trial is re-queued)." };
        var options = new RunOptions("runs/NAME-sweep under the current folder", "sweep.max_trials=5",
            "the summary", "metrics.json (trials, best model's test metrics)", forceAlternative: "--resume continues the folder's study instead");
        var command = options.AddTo(new Command("sweep", """
            Run an AutoML study over the transfer-strategy space (frozen features + softmax/MLP, fine-tuning, joint, scratch):
            segmentation pretraining once, then trials tuned (TPE, random, grid, CFO), pruned per epoch (ASHA, median, Hyperband),
            run N at a time and stored in SQLite or PostgreSQL; the best configuration is refitted on the train split and scored on
            the test split. Writes OUT/study.db, STUDY.leaderboard.csv/.json, STUDY.best-model.zip, models/pretrain.zip,
            config.resolved.yaml, sweep.log, metrics.json and report.html; the last line printed is the report's path.
            """ + Interruptible.Help + " The trials it cut short are re-queued: --resume runs them first.") { file, storage, parallel, resume })
            .WithExamples(
                "mlnm sweep pipelines/sweep-transfer.yaml --out runs/sweep",
                "mlnm sweep pipelines/sweep-transfer.yaml --out runs/sweep --resume --parallel 2",
                "mlnm sweep pipelines/sweep-transfer.yaml --storage 'postgresql://mlnm@db:5432/studies?sslmode=require' --out runs/worker1 --resume",
                "mlnm sweep pipelines/sweep-transfer.yaml --set sweep.max_trials=4 --set sweep.epochs=3 --quiet");
        command.SetInterruptibleAction((parse, cancellation) =>
        {
            var path = parse.GetValue(file)!;
            if (!File.Exists(path)) throw new CliUserException($"sweep file '{path}' does not exist");
            if (parse.GetValue(parallel) is < 1) throw new CliUserException("--parallel must be ≥ 1");
            var config = PipelineExecution.Read<SweepConfig>(PipelineExecution.ReadText(path), path, options.Overrides(parse));
            var outDir = Path.GetFullPath(options.OutDir(parse, Path.Combine("runs", config.Name + "-sweep")));
            var (storageText, storageSource) = SweepStorage.Choose(parse.GetValue(storage));
            var choices = options.Choices(parse);
            var outcome = Run(context, config, Path.GetDirectoryName(Path.GetFullPath(path))!, outDir,
                new SweepRunOptions(storageText, parse.GetValue(parallel), parse.GetValue(resume), storageSource, choices.RecordMachine), choices, cancellation);
            return Interruptible.ExitCode(outcome.Interrupted);
        });
        return command;
    }

    /// <summary>Runs the sweep into <paramref name="outDir"/> and prints the leaderboard (or metrics.json) and the report's path;
    /// cancelled, it still writes metrics.json and report.html for the finished trials, marked as interrupted. A folder with
    /// earlier results (without --resume or --force) and a study with trials (without --resume) are refused before anything is written.</summary>
    public static Outcome<string> Run(CliContext context, SweepConfig config, string configDirectory, string outDir, SweepRunOptions options, OutputChoices choices,
        CancellationToken cancellation = default)
    {
        if (!options.Resume) OutputFolder.EnsureFree(outDir, choices.Force, alternative: "pass --resume to continue its study");
        using var study = SweepRunner.OpenStudy(config, Path.GetFullPath(outDir), options, context.Error.WriteLine);
        using var folder = OutputFolder.Open(context, config, outDir, "sweep.log", appendLog: options.Resume, choices.Quiet, choices.Json);
        var outcome = folder.Run(view => new SweepRunner(view).Run(config, configDirectory, folder.Path, study, options, cancellation));
        var refits = outcome.Report.Methods.Where(m => m.Kind != "segmentation-pretrain")
            .Select(m => $"{m.Name} ({m.Kind}) refitted, on the test split: {PipelineRunner.Summary(m)}; model {m.ModelPath}");
        var leaderboard = outcome.Result is { } result ? Leaderboard(result, 10) : [];
        return new(folder.Finish(outcome.Report, [.. leaderboard, .. refits], writeHtml: true, outcome.Interrupted), outcome.Interrupted);
    }

    /// <summary>The best <paramref name="rows"/> completed trials: rank, trial, value, strategy, epochs, seconds.</summary>
    public static IReadOnlyList<string> Leaderboard(ExperimentResult result, int rows)
    {
        var lines = new List<string> { $"{"rank",4}  {"trial",5}  {"value",8}  {"strategy",-15}  {"epochs",6}  {"seconds",8}" };
        foreach (var (t, i) in result.Leaderboard.Take(rows).Select((t, i) => (t, i)))
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{i + 1,4}  {t.Number,5}  {t.Value,8:F4}  {t.Parameters.GetString(TransferStrategy.ChoiceName),-15}  {t.IntermediateValues.Count,6}  {t.Duration?.TotalSeconds ?? 0,8:F1}"));
        lines.Add($"{result.Trials.Count} trials: {result.Leaderboard.Count} completed, {result.Trials.Count(t => t.State == TrialState.Pruned)} pruned, " +
                  $"{result.Trials.Count(t => t.State == TrialState.Fail)} failed; leaderboard {result.LeaderboardCsvPath}");
        return lines;
    }
}
