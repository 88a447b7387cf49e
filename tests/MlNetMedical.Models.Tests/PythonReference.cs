using System.Diagnostics;
using Xunit;

namespace MlNetMedical.Models.Tests;

/// <summary>A fact that runs only when Debian's /usr/bin/python3 imports torch and numpy; otherwise it is reported skipped.</summary>
public sealed class TorchPythonFactAttribute : FactAttribute
{
    public TorchPythonFactAttribute()
    {
        if (PythonReference.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>Runs reference scripts with Debian's python3-torch (the pyenv python on PATH has no torch).</summary>
internal static class PythonReference
{
    private const string Python = "/usr/bin/python3";
    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} not found";
        var (code, _, err) = Run("import torch, numpy", []);
        return code == 0 ? null : $"{Python} cannot import torch and numpy: {err.Trim().Split('\n')[^1]}";
    });

    public static string? Unavailable => Probe.Value;

    public static (int Code, string Out, string Err) Run(string script, string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-c", script, .. args]) start.ArgumentList.Add(a);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) { process.Kill(true); throw new TimeoutException("reference script ran past 3 minutes"); }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
