using System.Text.Json;
using System.Text.Json.Nodes;
using MlNetMedical.AutoML;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Reporting;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>Ctrl+C / SIGTERM: the token System.CommandLine cancels on a signal is cancelled here in-process, as a signal would.</summary>
[Collection(TrainingCollection.Name)]
public sealed class CancellationTests
{
    private const string Pipeline = """
        name: toy-cancel
        data:
          synthetic: {task: cardiac-level-2d, train: 9, test: 6, pretrain: 6, size: 32}
        network: {depth: 2, base_channels: 4}
        stages:
          - pretrain:
              training: {epochs: 1, validation_fraction: 0}
          - fine_tune:
              name: fine
              training: {epochs: 50, batch_size: 2, validation_fraction: 0}
        evaluation: {samples: 1}
        """;

    /// <summary>stderr that cancels <see cref="Source"/> when a line containing <paramref name="trigger"/> is written.</summary>
    private sealed class CancelOnLine(string trigger) : StringWriter
    {
        public CancellationTokenSource Source { get; } = new();

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(trigger, StringComparison.Ordinal)) Source.Cancel();
        }
    }

    private const string Sweep = """
        name: toy-cancel-sweep
        seed: 2
        data:
          synthetic: {task: cardiac-level-2d, train: 24, test: 12, pretrain: 12, size: 32}
        network: {depth: 3, base_channels: 4}
        pretrain:
          training: {epochs: 1, batch_size: 6, validation_fraction: 0}
        sweep:
          strategies: [finetune]
          epochs: 300
          batch_size: 6
          max_trials: 2
          tuner: random
          pruner: none
        """;

    private static (int Code, string Out, string Err) Run(string outDir, CancelOnLine error, params string[] extra) =>
        Run("run", Pipeline, outDir, error, extra);

    private static (int Code, string Out, string Err) Run(string command, string yaml, string outDir, CancelOnLine error, params string[] extra)
    {
        var file = outDir + ".yaml";
        File.WriteAllText(file, yaml);
        var output = new StringWriter();
        int code = CliApp.Run([command, file, "--out", outDir, .. extra], output, error, CliApp.Commands, error.Source.Token);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void CancelDuringTheSecondStageKeepsTheFirstAndExitsWith130()
    {
        var dir = CliRun.TempDir("mlnm-cancel-");
        try
        {
            var outDir = Path.Combine(dir, "out");
            // Without --quiet (stderr is no terminal) every finished epoch is a line: cancel after fine-tuning's first epoch,
            // so the training loop itself sees the token between steps.
            var error = new CancelOnLine("fine: epoch 1/50");
            var (code, stdout, stderr) = Run(outDir, error);
            Assert.True(code == ExitCodes.Interrupted, stderr);
            Assert.Equal($"interrupted: partial results in {Path.Combine(outDir, "report.html")}", stdout.TrimEnd().Split('\n')[^1]);
            Assert.DoesNotContain("fine: epoch 2/50", stderr);

            Assert.True(File.Exists(Path.Combine(outDir, "models", "pretrain.zip")));
            Assert.False(File.Exists(Path.Combine(outDir, "models", "fine.zip")));
            var text = File.ReadAllText(Path.Combine(outDir, "metrics.json"));
            var report = JsonSerializer.Deserialize<RunReport>(text, PipelineExecution.MetricsJson)!;
            var pretrain = Assert.Single(report.Methods);
            Assert.Equal("pretrain", pretrain.Name);
            Assert.Equal("models/pretrain.zip", pretrain.ModelPath);
            Assert.NotNull(pretrain.Segmentation);
            Assert.Contains("interrupted", report.Title);
            var interrupted = JsonNode.Parse(text)!["interrupted"]!;
            Assert.Equal("fine", (string?)interrupted["during"]);
            Assert.Equal(["pretrain"], interrupted["completed"]!.AsArray().Select(n => (string?)n));
            Assert.Contains("interrupted", File.ReadAllText(Path.Combine(outDir, "report.html")));
            Assert.Contains("interrupted during fine; kept: pretrain", File.ReadAllText(Path.Combine(outDir, "run.log")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void CancelBeforeAnyStageFinishesStillWritesTheMarkedFolder()
    {
        var dir = CliRun.TempDir("mlnm-cancel-");
        try
        {
            var outDir = Path.Combine(dir, "out");
            var error = new CancelOnLine("data: ");
            var (code, stdout, stderr) = Run(outDir, error, "--json");
            Assert.True(code == ExitCodes.Interrupted, stderr);
            // --json: stdout stays one JSON document, the pointer to the partial results goes to stderr.
            var metrics = JsonNode.Parse(stdout)!;
            Assert.Equal("pretrain", (string?)metrics["interrupted"]!["during"]);
            Assert.Empty(metrics["interrupted"]!["completed"]!.AsArray());
            Assert.Empty(metrics["methods"]!.AsArray());
            Assert.Contains($"interrupted: partial results in {Path.Combine(outDir, "report.html")}", stderr);
            Assert.True(File.Exists(Path.Combine(outDir, "report.html")));
            Assert.False(Directory.Exists(Path.Combine(outDir, "models")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void CancelledSweepFailsTheRunningTrialAndResumeRerunsItsConfiguration()
    {
        var dir = CliRun.TempDir("mlnm-cancel-sweep-");
        try
        {
            var outDir = Path.Combine(dir, "out");
            var (code, stdout, stderr) = Run("sweep", Sweep, outDir, new CancelOnLine("trial 0 started"));
            Assert.True(code == ExitCodes.Interrupted, stderr);
            Assert.Equal($"interrupted: partial results in {Path.Combine(outDir, "report.html")}", stdout.TrimEnd().Split('\n')[^1]);
            Assert.True(File.Exists(Path.Combine(outDir, "models", "pretrain.zip")));
            var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")))!;
            Assert.Equal("trials", (string?)metrics["interrupted"]!["during"]);
            Assert.Equal(["failed"], metrics["sweep"]!["trials"]!.AsArray().Select(t => (string?)t!["state"]));

            using (var storage = StudyStorage.Sqlite(Path.Combine(outDir, "study.db")))
            {
                var trials = storage.GetTrials(storage.CreateOrLoadStudy("toy-cancel-sweep", Direction.Maximize).Id);
                Assert.Equal([TrialState.Fail, TrialState.Waiting], trials.Select(t => t.State));
                Assert.StartsWith("cancelled", trials[0].Error);
                Assert.Equal("1", trials[0].SystemAttributes[TrialAttributes.RequeuedAs]);
                Assert.Equal(trials[0].Parameters, trials[1].Parameters);
            }

            (code, _, stderr) = Run("sweep", Sweep, outDir, new CancelOnLine("never printed"), "--resume", "--quiet", "--set", "sweep.epochs=1");
            Assert.True(code == ExitCodes.Success, stderr);
            using (var storage = StudyStorage.Sqlite(Path.Combine(outDir, "study.db")))
            {
                var trials = storage.GetTrials(storage.CreateOrLoadStudy("toy-cancel-sweep", Direction.Maximize).Id);
                // The re-queued configuration ran; the interrupted trial does not count against max_trials (2).
                Assert.Equal([TrialState.Fail, TrialState.Complete, TrialState.Complete], trials.Select(t => t.State));
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
