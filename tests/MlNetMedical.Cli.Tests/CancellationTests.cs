using System.Text.Json;
using System.Text.Json.Nodes;
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

    private static (int Code, string Out, string Err) Run(string outDir, CancelOnLine error, params string[] extra)
    {
        var pipeline = Path.Combine(outDir + ".yaml");
        File.WriteAllText(pipeline, Pipeline);
        var output = new StringWriter();
        int code = CliApp.Run(["run", pipeline, "--out", outDir, .. extra], output, error, CliApp.Commands, error.Source.Token);
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
}
