using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

/// <summary>Debian's Python with nibabel and pydicom (not the pyenv python3 on PATH).</summary>
public static class DebianPython
{
    public const string Path = "/usr/bin/python3";

    private static readonly Lazy<string?> missing = new(() =>
    {
        if (!File.Exists(Path)) return $"{Path} is not installed";
        try
        {
            var (rc, _, err) = Run("import nibabel, pydicom, numpy");
            return rc == 0 ? null : $"{Path} lacks nibabel/pydicom/numpy (apt-get install python3-nibabel python3-pydicom): {err.Trim()}";
        }
        catch (Exception e) { return $"{Path} failed to start: {e.Message}"; }
    });

    /// <summary>Why the independent checks cannot run, or null when they can.</summary>
    public static string? MissingReason => missing.Value;

    public static (int ExitCode, string Stdout, string Stderr) Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); throw new TimeoutException("python check ran over 10 minutes"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static JsonElement RunJson(string script, params string[] args)
    {
        var (rc, o, e) = Run(script, args);
        if (rc != 0) throw new InvalidOperationException($"python failed ({rc}): {e}");
        return JsonDocument.Parse(o).RootElement.Clone();
    }
}

/// <summary>A fact that needs /usr/bin/python3 with nibabel and pydicom; it reports a visible skip otherwise.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute()
    {
        if (DebianPython.MissingReason is { } why) Skip = "SKIPPED: " + why;
    }
}

/// <summary>A fact that needs real files from Debian packages (apt-get download + dpkg -x) and /usr/bin/python3.</summary>
public sealed class DebianDataFactAttribute : FactAttribute
{
    public DebianDataFactAttribute()
    {
        if (DebianPython.MissingReason is { } why) Skip = "SKIPPED: " + why;
        else if (DebianData.MissingReason is { } why2) Skip = "SKIPPED: " + why2;
    }
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("mlnm-imaging-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}
