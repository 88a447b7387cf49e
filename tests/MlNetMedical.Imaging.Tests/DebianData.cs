using System.Diagnostics;

namespace MlNetMedical.Imaging.Tests;

/// <summary>
/// Real test files shipped by Debian packages, fetched with apt-get download and unpacked with dpkg -x
/// into .cache/debian-data/ at the repository root (git-ignored, never committed).
/// </summary>
public static class DebianData
{
    public static readonly string[] Packages = ["python3-pydicom", "python3-nibabel", "insighttoolkit5-examples"];

    public static string CacheRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "MlNetMedical.sln"))) dir = dir.Parent;
            return Path.Combine(dir?.FullName ?? Path.GetTempPath(), ".cache", "debian-data");
        }
    }

    private static readonly object gate = new();
    private static readonly Dictionary<string, string?> failures = new();

    /// <summary>Unpacks the package if needed and returns its root folder, or throws why it could not.</summary>
    public static string Package(string name)
    {
        lock (gate)
        {
            var root = Path.Combine(CacheRoot, name);
            var done = Path.Combine(root, ".unpacked");
            if (File.Exists(done)) return root;
            if (failures.TryGetValue(name, out var f) && f != null) throw new InvalidOperationException(f);
            Directory.CreateDirectory(root);
            var download = Path.Combine(CacheRoot, "downloads");
            Directory.CreateDirectory(download);
            var debs = Directory.GetFiles(download, name + "_*.deb");
            if (debs.Length == 0)
            {
                var (rc, _, err) = Exec("apt-get", download, "download", name);
                debs = Directory.GetFiles(download, name + "_*.deb");
                if (rc != 0 || debs.Length == 0)
                {
                    failures[name] = $"apt-get download {name} failed: {err.Trim()}";
                    throw new InvalidOperationException(failures[name]);
                }
            }
            var (rc2, _, err2) = Exec("dpkg", download, "-x", debs[0], root);
            if (rc2 != 0) { failures[name] = $"dpkg -x {debs[0]} failed: {err2.Trim()}"; throw new InvalidOperationException(failures[name]); }
            File.WriteAllText(done, debs[0]);
            return root;
        }
    }

    private static readonly Lazy<string?> missing = new(() =>
    {
        try { Package("python3-nibabel"); return null; }
        catch (Exception e) { return e.Message; }
    });

    public static string? MissingReason => missing.Value;

    public static string NibabelData => Path.Combine(Package("python3-nibabel"), "usr/lib/python3/dist-packages/nibabel/tests/data");
    public static string PydicomData => Path.Combine(Package("python3-pydicom"), "usr/lib/python3/dist-packages/pydicom/data/test_files");
    public static string ItkData
    {
        get
        {
            var root = Package("insighttoolkit5-examples");
            var hits = Directory.GetDirectories(root, "Data", SearchOption.AllDirectories);
            return hits.FirstOrDefault(h => h.Contains("examples")) ?? throw new InvalidOperationException($"no examples/Data folder in {root}");
        }
    }

    private static (int, string, string) Exec(string file, string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(300_000)) { p.Kill(true); return (124, "", $"{file} timed out"); }
            return (p.ExitCode, o.Result, e.Result);
        }
        catch (System.ComponentModel.Win32Exception e) { return (127, "", $"{file} is not available: {e.Message}"); }
    }
}
