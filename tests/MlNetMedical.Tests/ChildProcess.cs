using System.Diagnostics;
using Xunit;

namespace MlNetMedical.Tests;

/// <summary>Runs this test assembly as a fresh process (see Program.cs) and returns what it printed.</summary>
internal static class ChildProcess
{
    public static string Run(params string[] args)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {host}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(300_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the child process ({string.Join(" ", args)}) did not finish in 300 s");
        }
        Assert.True(process.ExitCode == 0, $"child exited {process.ExitCode}: {stdout.Result}{stderr.Result}");
        return stdout.Result;
    }
}
