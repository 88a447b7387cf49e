using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Reporting;
using Xunit;

namespace MlNetMedical.Cli.Tests;

[Collection(TrainingCollection.Name)]
public sealed class CodegenTests
{
    [Fact]
    public void GeneratedProjectBuildsOfflineAndReproducesTheRunsAccuracies()
    {
        var dir = CliRun.TempDir("mlnm-codegen-");
        try
        {
            var runDir = Path.Combine(dir, "run");
            // Augmentation and a thread budget, so the generated program must set both up as the runner does to match its accuracies.
            var (runCode, _, runErr) = CliRun.Run(["quickstart", "--out", runDir, "--quiet", .. CliRun.ToyQuickstart,
                "--set", "threads=1", "--set", "augmentation.flip_probability=1", "--set", "augmentation.intensity_probability=0.5", "--set", "augmentation.rotate_degrees=10"]);
            Assert.True(runCode == ExitCodes.Success, runErr);

            var project = Path.Combine(dir, "code");
            var (code, stdout, stderr) = CliRun.Run("codegen", "--from", runDir, "--out", project);
            Assert.True(code == ExitCodes.Success, stderr);
            Assert.Contains("Quickstart.csproj", stdout);
            var program = File.ReadAllText(Path.Combine(project, "Program.cs"));
            Assert.Contains("SegmentationEncoderFeatures", program);
            Assert.Contains("var ml = new MLContext(seed: 1);", program);
            Assert.Contains("ml.Medical().Seed = 1;", program);
            Assert.Contains("ml.Medical().Threads = 1;", program);
            Assert.Contains("LbfgsMaximumEntropy", program);
            Assert.Contains("Augmentations.From(new AugmentationConfig { FlipProbability = 1.0, RotateDegrees = 10.0, IntensityProbability = 0.5 }, seed: 1)", program);
            Assert.Equal(["Program.cs", "Quickstart.csproj", "README.md"], Directory.GetFiles(project).Select(f => Path.GetFileName(f)).Order().ToArray());

            var build = Dotnet(project, "build", "-c", "Release", "-o", Path.Combine(project, "bin-out"));
            Assert.True(build.Code == 0, build.Output);
            var run = Dotnet(project, Path.Combine(project, "bin-out", "Quickstart.dll"), Path.Combine(dir, "repeat"));
            Assert.True(run.Code == 0, run.Output);

            // Same seed, same library: the generated program gets the run's test accuracies.
            var report = JsonSerializer.Deserialize<RunReport>(File.ReadAllText(Path.Combine(runDir, "metrics.json")), PipelineExecution.MetricsJson)!;
            foreach (var method in report.Methods.Where(m => m.Classification is not null))
                Assert.Contains($"{method.Name}: accuracy {method.Classification!.Accuracy.ToString("F3", CultureInfo.InvariantCulture)}", run.Output);
            Assert.Contains("pretrain: saved models/pretrain.zip", run.Output);
            Assert.Equal(6, Directory.GetFiles(Path.Combine(dir, "repeat", "models"), "*.zip").Length);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void CodegenWithoutARunFolderIsAUserError()
    {
        var (code, _, stderr) = CliRun.Run("codegen", "--from", "/nonexistent/run", "--out", Path.Combine(Path.GetTempPath(), "never"));
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("config.resolved.yaml", stderr);
    }

    private static (int Code, string Output) Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + stderr.Result);
    }
}
