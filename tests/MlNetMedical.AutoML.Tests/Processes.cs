using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MlNetMedical.AutoML;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>Child processes for the multi-process tests.</summary>
internal static class Processes
{
    public static string WorkerDll
    {
        get
        {
            // artifacts/bin/MlNetMedical.AutoML.Tests/<config>/ -> artifacts/bin/MlNetMedical.AutoML.Worker/<config>/
            var here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
            var dll = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(here)!)!, "MlNetMedical.AutoML.Worker", Path.GetFileName(here), "MlNetMedical.AutoML.Worker.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"The test worker was not built: {dll}");
        }
    }

    public static Process StartWorker(params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(WorkerDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("Could not start the worker.");
    }

    /// <summary>Runs a command to completion; throws with its output when it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 120 s."); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {stdout.Result}{stderr.Result}");
        return stdout.Result + stderr.Result;
    }

    /// <summary>All lines the workers wrote under a log prefix (one file per worker process).</summary>
    public static string[] WorkerLog(string prefix) =>
        Directory.GetFiles(Path.GetDirectoryName(prefix)!, Path.GetFileName(prefix) + ".*").SelectMany(File.ReadAllLines).ToArray();

    /// <summary>The trial a killed worker was running is FAIL by heartbeat, and its re-queued copy completed with the same parameters.</summary>
    public static void AssertFailedByHeartbeatAndRedone(IReadOnlyList<TrialRecord> trials, int killedNumber)
    {
        var killed = trials.Single(t => t.Number == killedNumber);
        Assert.Equal(TrialState.Fail, killed.State);
        Assert.Contains("heartbeat", killed.Error);
        var retry = trials.Single(t => t.Number == int.Parse(killed.SystemAttributes[TrialAttributes.RequeuedAs]));
        Assert.Equal(TrialState.Complete, retry.State);
        Assert.Equal(killed.Parameters, retry.Parameters);
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
