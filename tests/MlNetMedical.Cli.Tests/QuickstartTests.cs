using Xunit;

namespace MlNetMedical.Cli.Tests;

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
            foreach (var method in new[] { "pretrain", "frozen-features", "fine-tune", "scratch" })
                Assert.Contains(lines, l => l.StartsWith(method + " "));
            Assert.True(File.Exists(Path.Combine(dir, "metrics.json")));
            Assert.Equal(4, Directory.GetFiles(Path.Combine(dir, "models"), "*.zip").Length);
            // Not a terminal: progress comes as plain lines on stderr, per epoch.
            Assert.Contains("pretrain: epoch 1/1", stderr);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void EmbeddedPipelineIsTheShippedFile() =>
        Assert.Equal(File.ReadAllText(Path.Combine(RunCommandTests.RepoRoot(), "pipelines", "quickstart.yaml")), Commands.QuickstartCommand.PipelineText());
}
