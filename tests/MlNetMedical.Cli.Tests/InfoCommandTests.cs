using System.Diagnostics;
using System.Text.Json;
using MlNetMedical.Cli;
using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class InfoCommandTests
{
    private static void AssertInfoJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.StartsWith("MlNetMedical ", root.GetProperty("library").GetString());
        Assert.Contains(".NET", root.GetProperty("dotNet").GetString());
        Assert.Equal("0.107.0", root.GetProperty("torchSharp").GetString());
        Assert.StartsWith("2.10", root.GetProperty("libtorch").GetString());
        Assert.True(root.GetProperty("torchThreads").GetInt32() >= 1);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("oneDnnDecision").GetString()));
        // The marker the Debian 12 fix leaves next to the patched library is what info reports.
        var marker = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "mlnm-libstdcxx-fix.txt");
        Assert.Equal(File.Exists(marker), root.GetProperty("loaderFix").ValueKind == JsonValueKind.String);
        var cuda = root.GetProperty("cudaAvailable").GetBoolean();
        Assert.Equal(cuda, root.GetProperty("cudaDeviceCount").GetInt32() > 0);
    }

    [Fact]
    public void InfoJsonInProcess()
    {
        var (code, stdout, _) = CliRun.Run("info", "--json");
        Assert.Equal(ExitCodes.Success, code);
        AssertInfoJson(stdout);
    }

    [Fact]
    public void InfoTextNamesEachItem()
    {
        var (code, stdout, _) = CliRun.Run("info");
        Assert.Equal(ExitCodes.Success, code);
        foreach (var label in new[] { "library", ".NET", "TorchSharp", "libtorch", "torch threads", "BLAS", "loader fix", "allocator", "oneDNN", "CUDA" })
            Assert.Contains(label, stdout);
    }

    [Fact]
    public void UnknownOptionIsAUserError()
    {
        var (code, _, stderr) = CliRun.Run("info", "--nope");
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("--nope", stderr);
    }

    // Runs the built CLI as its own process (from another directory, so nothing depends on the CWD).
    private static (int Code, string Out, string Err) RunProcess(string[] args, string? variable = null, string? value = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "mlnm.dll");
        Assert.True(File.Exists(dll), dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        if (variable is not null) start.Environment[variable] = value;
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderrTask.Result);
    }

    [Fact]
    public void MlnmProcessPrintsOnlyJsonOnStdout()
    {
        var (code, stdout, stderr) = RunProcess(["info", "--json"]);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        AssertInfoJson(stdout.Trim());
    }

    [Fact]
    public void OneDnnCanBeForcedOffAndIsReported()
    {
        var (code, stdout, stderr) = RunProcess(["info", "--json"], "MLNM_ONEDNN", "0");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        using var doc = JsonDocument.Parse(stdout.Trim());
        Assert.False(doc.RootElement.GetProperty("oneDnn").GetBoolean());
        Assert.Contains("MLNM_ONEDNN=0", doc.RootElement.GetProperty("oneDnnDecision").GetString());
    }

    [Fact]
    public void MalformedEngineVariableIsAUserError()
    {
        var (code, _, stderr) = RunProcess(["info"], "MLNM_ONEDNN", "maybe");
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("MLNM_ONEDNN='maybe'", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
