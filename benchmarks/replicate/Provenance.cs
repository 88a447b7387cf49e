using System.Diagnostics;
using System.Globalization;

namespace MlNetMedical.Benchmarks.Replicate;

/// <summary>Where and when a result was made: commit (and whether src/ or benchmarks/ had uncommitted changes), UTC date,
/// machine (cores, CPU, memory, OS), load average at start and end, torch threads, software versions.</summary>
public sealed class Provenance
{
    public string Commit { get; init; } = "unknown";
    public bool Dirty { get; init; }
    public string StartedUtc { get; init; } = "";
    public string? FinishedUtc { get; private set; }
    public int Cores { get; init; }
    public string Cpu { get; init; } = "";
    public string Memory { get; init; } = "";
    public string Os { get; init; } = "";
    public string LoadAverageStart { get; init; } = "";
    public string? LoadAverageEnd { get; private set; }
    public int Threads { get; init; }
    public string DotNet { get; init; } = "";
    public string Engine { get; init; } = "TorchSharp + TorchSharp-cpu 0.107.0 (libtorch 2.10.0)";

    public static Provenance Collect(int? threads)
    {
        var root = RepoRoot();
        string commit = Git(root, "rev-parse --short HEAD") ?? "unknown";
        bool dirty = !string.IsNullOrWhiteSpace(Git(root, "status --porcelain -- src benchmarks"));
        return new Provenance
        {
            Commit = commit, Dirty = dirty, StartedUtc = Now(),
            Cores = Environment.ProcessorCount, Cpu = CpuModel(), Memory = MemoryTotal(), Os = OsName(),
            LoadAverageStart = LoadAverage(), Threads = threads ?? Environment.ProcessorCount, DotNet = Environment.Version.ToString(),
        };
    }

    public void Finish()
    {
        FinishedUtc = Now();
        LoadAverageEnd = LoadAverage();
    }

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>The repository root: the first folder above the working directory (or this assembly) with a .git entry.</summary>
    public static string RepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, ".git")) || File.Exists(Path.Combine(dir.FullName, ".git")))
                    return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    private static string? Git(string root, string arguments)
    {
        try
        {
            var info = new ProcessStartInfo("git", $"-C \"{root}\" {arguments}") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; } // no git on this machine
    }

    private static string LoadAverage() => ReadOr("/proc/loadavg", s => string.Join(' ', s.Split(' ').Take(3)), "unknown");
    private static string CpuModel() => ReadOr("/proc/cpuinfo", s => s.Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown", "unknown");
    private static string MemoryTotal() => ReadOr("/proc/meminfo", s =>
    {
        var line = s.Split('\n').First(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
        var kib = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture, $"{kib / 1048576:F0} GiB");
    }, "unknown");
    private static string OsName() => ReadOr("/etc/os-release", s => s.Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?[12..].Trim('"') ?? "unknown", Environment.OSVersion.ToString());

    private static string ReadOr(string path, Func<string, string> parse, string fallback)
    {
        try { return File.Exists(path) ? parse(File.ReadAllText(path)) : fallback; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException) { return fallback; }
    }
}
