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
        Assert.StartsWith("1.", root.GetProperty("libtorch").GetString());
        Assert.True(root.GetProperty("torchThreads").GetInt32() >= 1);
        Assert.Equal("OpenBlas", root.GetProperty("blas").GetString()); // the setup installs OpenBLAS
        Assert.Contains("openblas", root.GetProperty("blasPath").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("blasWarning").ValueKind);
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
        foreach (var label in new[] { "library", ".NET", "libtorch", "torch threads", "BLAS", "CUDA" })
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
    private static (int Code, string Out, string Err) RunProcess(string? libraryPath, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "mlnm.dll");
        Assert.True(File.Exists(dll), dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        if (libraryPath is not null) start.Environment["LD_LIBRARY_PATH"] = libraryPath;
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderrTask.Result);
    }

    [Fact]
    public void MlnmProcessPrintsOnlyJsonOnStdout()
    {
        var (code, stdout, stderr) = RunProcess(null, "info", "--json");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        AssertInfoJson(stdout.Trim());
    }

    [Fact]
    public void ReferenceBlasIsDetectedAndWarnedAbout()
    {
        // Debian's reference BLAS (libblas3, installed by scripts/bootstrap.sh --test) put first on the library
        // path replaces OpenBLAS for libtorch, as a machine without libopenblas0-openmp would have it.
        const string ReferenceDir = "/usr/lib/x86_64-linux-gnu/blas";
        Assert.True(File.Exists(Path.Combine(ReferenceDir, "libblas.so.3")), "libblas3 is missing: run scripts/bootstrap.sh --test");
        var (code, stdout, stderr) = RunProcess(ReferenceDir, "info", "--json");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        using var doc = JsonDocument.Parse(stdout.Trim());
        Assert.Equal("Reference", doc.RootElement.GetProperty("blas").GetString());
        Assert.Contains("libopenblas0-openmp", doc.RootElement.GetProperty("blasWarning").GetString());
        Assert.Equal("", doc.RootElement.GetProperty("blasConfig").GetString());
        Assert.Single(stderr.Split('\n'), l => l.StartsWith("warning: libtorch is using the reference BLAS", StringComparison.Ordinal));
    }
}
