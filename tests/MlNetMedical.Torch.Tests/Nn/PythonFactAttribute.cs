using System.Diagnostics;
using Xunit;

namespace MlNetMedical.Torch.Tests;

/// <summary>
/// A fact that needs Debian's /usr/bin/python3 with the given modules (e.g. "torch", "numpy").
/// When they cannot be imported the test is reported as skipped, with the reason, never passed.
/// </summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute(params string[] modules)
    {
        var missing = Python.Missing(modules);
        if (missing != null) Skip = missing;
    }
}

/// <summary>Runs scripts with Debian's python (the pyenv python on PATH has no torch).</summary>
public static class Python
{
    public const string Executable = "/usr/bin/python3";
    private static readonly Dictionary<string, string?> Probed = new();

    /// <summary>Null when every module imports, else why not.</summary>
    public static string? Missing(params string[] modules)
    {
        var key = string.Join(",", modules);
        lock (Probed)
        {
            if (Probed.TryGetValue(key, out var cached)) return cached;
            string? reason;
            if (!File.Exists(Executable)) reason = $"{Executable} not found";
            else
            {
                var (code, _, err) = Run($"import {key}", TimeSpan.FromSeconds(60));
                reason = code == 0 ? null : $"{Executable} cannot import {key}: {err.Trim().Split('\n').LastOrDefault()}";
            }
            Probed[key] = reason;
            return reason;
        }
    }

    /// <summary>Runs <paramref name="script"/> with extra arguments; returns exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(string script, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"python script ran past {timeout}"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs the script and fails the test with python's stderr unless it exits 0.</summary>
    public static string RunChecked(string script, params string[] args)
    {
        var (code, output, err) = Run(script, TimeSpan.FromMinutes(3), args);
        if (code != 0) throw new Xunit.Sdk.XunitException($"python failed ({code}):\n{err}");
        return output;
    }
}
