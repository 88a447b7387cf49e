using Xunit;

namespace MlNetMedical.Cli.Tests;

[Collection(TrainingCollection.Name)]
public sealed class QuickstartTests
{
    [Fact]
    public void QuickstartAtToyScalePrintsTheTableAndEndsWithTheReportPath()
    {
        var dir = CliRun.TempDir("mlnm-quickstart-");
        try
        {
            var (code, stdout, stderr) = CliRun.Run(["quickstart", "--out", dir, .. CliRun.ToyQuickstart]);
            Assert.True(code == ExitCodes.Success, stderr);
            var lines = stdout.TrimEnd().Split('\n');
            Assert.Equal(Path.Combine(dir, "report.html"), lines[^1]);
            foreach (var method in new[] { "pretrain", "frozen-features", "fine-tune", "imagenet-features", "joint-simple", "scratch" })
                Assert.Contains(lines, l => l.StartsWith(method + " "));
            Assert.True(File.Exists(Path.Combine(dir, "metrics.json")));
            Assert.Equal(6, Directory.GetFiles(Path.Combine(dir, "models"), "*.zip").Length);

            // Every classifier but scratch carries its paired difference to scratch: the accuracy difference, inside its interval.
            Assert.Contains("vs scratch [95% CI]", lines[0]);
            using var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")));
            var methods = metrics.RootElement.GetProperty("methods").EnumerateArray().ToList();
            double Accuracy(System.Text.Json.JsonElement m) => m.GetProperty("classification").GetProperty("accuracy").GetDouble();
            var scratch = methods.Single(m => m.GetProperty("name").GetString() == "scratch");
            Assert.Equal(System.Text.Json.JsonValueKind.Null, scratch.GetProperty("versusScratch").ValueKind);
            foreach (var m in methods.Where(m => m.GetProperty("classification").ValueKind == System.Text.Json.JsonValueKind.Object && m.GetProperty("name").GetString() != "scratch"))
            {
                var paired = m.GetProperty("versusScratch");
                var diff = paired.GetProperty("meanDifference").GetDouble();
                Assert.Equal(Accuracy(m) - Accuracy(scratch), diff, 9);
                Assert.Equal("scratch", paired.GetProperty("baseline").GetString());
                Assert.Equal(9, paired.GetProperty("cases").GetInt32());
                Assert.InRange(diff, paired.GetProperty("ci95Lower").GetDouble(), paired.GetProperty("ci95Upper").GetDouble());
                var name = m.GetProperty("name").GetString()!;
                Assert.Contains(lines, l => l.StartsWith(name + " ") && l.TrimEnd().EndsWith(']'));
            }
            // Not a terminal: progress comes as plain lines on stderr, per epoch.
            Assert.Contains("pretrain: epoch 1/1", stderr);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void RunWithJsonPrintsOnlyTheRunReport()
    {
        var dir = CliRun.TempDir("mlnm-run-json-");
        try
        {
            var pipeline = Path.Combine(RunCommandTests.RepoRoot(), "pipelines", "quickstart.yaml");
            var (code, stdout, stderr) = CliRun.Run(["run", pipeline, "--out", dir, "--json", .. CliRun.ToyQuickstart]);
            Assert.True(code == ExitCodes.Success, stderr);
            var report = System.Text.Json.JsonSerializer.Deserialize<Reporting.RunReport>(stdout, Pipelines.PipelineExecution.MetricsJson)!;
            Assert.Equal(6, report.Methods.Count);
            Assert.DoesNotContain("epoch 1/1", stderr); // --json keeps stderr to stage summaries
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void EmbeddedPipelineIsTheShippedFile() =>
        Assert.Equal(File.ReadAllText(Path.Combine(RunCommandTests.RepoRoot(), "pipelines", "quickstart.yaml")), Commands.QuickstartCommand.PipelineText());
}
