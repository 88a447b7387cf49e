using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Imaging.Tests;

/// <summary>
/// Our readers against nibabel and pydicom on the real files Debian ships (python3-nibabel, python3-pydicom,
/// insighttoolkit5-examples): shape, affine and statistics within 1e-5 relative on every file both read.
/// </summary>
public class RealFileComparisonTests(ITestOutputHelper output)
{
    public const double Tolerance = 1e-5;

    public static List<(string Path, string Kind)> Candidates()
    {
        var list = new List<(string, string)>();
        bool IsNifti(string f) { var l = f.ToLowerInvariant(); return l.EndsWith(".nii") || l.EndsWith(".nii.gz") || l.EndsWith(".hdr") || l.EndsWith(".hdr.gz"); }
        var nib = Path.Combine(DebianData.Package("python3-nibabel"), "usr/lib/python3/dist-packages/nibabel");
        foreach (var f in Directory.EnumerateFiles(nib, "*", SearchOption.AllDirectories).Where(IsNifti)) list.Add((f, "nifti"));
        foreach (var f in Directory.EnumerateFiles(nib, "*.dcm", SearchOption.AllDirectories)) list.Add((f, "dicom"));
        foreach (var f in Directory.EnumerateFiles(DebianData.ItkData, "*", SearchOption.AllDirectories).Where(IsNifti)) list.Add((f, "nifti"));
        foreach (var f in Directory.EnumerateFiles(DebianData.PydicomData, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetFileName(f);
            if (name.EndsWith(".json") || name.EndsWith(".txt") || name.EndsWith(".dump") || name.EndsWith(".gz") || name == "DICOMDIR") continue;
            list.Add((f, "dicom"));
        }
        // Folders holding a series of several single-frame slices.
        foreach (var d in Directory.EnumerateDirectories(Path.Combine(DebianData.PydicomData, "dicomdirtests"), "*", SearchOption.AllDirectories))
            if (Directory.GetFiles(d).Length > 1) list.Add((d, "dicomseries"));
        return list.OrderBy(x => x.Item1, StringComparer.Ordinal).ToList();
    }

    [DebianDataFact]
    public void AgreesWithNibabelAndPydicomOnEveryFileBothRead()
    {
        var items = Candidates();
        using var dir = new TempDir();
        var listFile = dir.File("items.json");
        File.WriteAllText(listFile, JsonSerializer.Serialize(items.Select(i => new { path = i.Path, kind = i.Kind })));
        var script = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "reference_reader.py"));
        var reference = DebianPython.RunJson(script, listFile);

        int compared = 0, onlyOurs = 0, onlyTheirs = 0, neither = 0;
        double maxRel = 0;
        var failures = new List<string>();
        var report = new List<object>();
        foreach (var (path, kind) in items)
        {
            var theirs = reference.GetProperty(path);
            ImageInspection? ours = null;
            string? ourError = null;
            try { ours = ImageInspector.Inspect(path); }
            catch (Exception e) when (e is ImageFormatException or FileNotFoundException or NotSupportedException) { ourError = e.GetType().Name + ": " + e.Message; }
            bool theyRead = !theirs.TryGetProperty("error", out var theirError);
            var rel = Path.GetRelativePath(DebianData.CacheRoot, path);
            if (ours == null && !theyRead) { neither++; report.Add(new { file = rel, outcome = "neither", ours = ourError, theirs = theirError.GetString() }); continue; }
            if (ours == null) { onlyTheirs++; report.Add(new { file = rel, outcome = "only_reference", ours = ourError }); continue; }
            if (!theyRead) { onlyOurs++; report.Add(new { file = rel, outcome = "only_ours", theirs = theirError.GetString() }); continue; }
            compared++;
            var problems = Compare(ours, theirs, ref maxRel);
            report.Add(new { file = rel, kind, outcome = problems.Count == 0 ? "agree" : "DIFFER", problems });
            if (problems.Count > 0) failures.Add($"{rel}: {string.Join("; ", problems)}");
        }
        var summary = new { compared, only_ours = onlyOurs, only_reference = onlyTheirs, neither, max_relative_error = maxRel, failures = failures.Count };
        File.WriteAllText(Path.Combine(DebianData.CacheRoot, "comparison-report.json"),
            JsonSerializer.Serialize(new { summary, files = report }, new JsonSerializerOptions { WriteIndented = true }));
        output.WriteLine(JsonSerializer.Serialize(summary));
        foreach (var r in report) output.WriteLine(JsonSerializer.Serialize(r));
        Assert.True(failures.Count == 0, $"{failures.Count} of {compared} files differ:\n{string.Join("\n", failures)}");
        Assert.True(compared >= 20, $"only {compared} files were compared");
    }

    private static List<string> Compare(ImageInspection ours, JsonElement theirs, ref double maxRel)
    {
        var problems = new List<string>();
        var shape = theirs.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        if (!shape.SequenceEqual(ours.Shape)) problems.Add($"shape [{string.Join(",", ours.Shape)}] vs [{string.Join(",", shape)}]");
        if (theirs.TryGetProperty("affine", out var aff))
        {
            int[] columns = theirs.TryGetProperty("affine_columns", out var cols) ? cols.EnumerateArray().Select(c => c.GetInt32()).ToArray() : [0, 1, 2, 3];
            var rows = aff.EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
            for (int r = 0; r < 4; r++)
                foreach (var c in columns)
                    Check($"affine[{r},{c}]", ours.Affine[r, c], rows[r][c], problems, ref maxRel);
        }
        foreach (var (name, value) in new[] { ("min", ours.Min), ("max", ours.Max), ("mean", ours.Mean), ("sum", ours.Sum) })
        {
            var t = theirs.GetProperty(name);
            if (t.ValueKind == JsonValueKind.Null) { if (double.IsFinite(value)) problems.Add($"{name} {value} vs none"); continue; }
            Check(name, value, t.GetDouble(), problems, ref maxRel);
        }
        if (theirs.GetProperty("nonfinite").GetInt64() != ours.NonFinite) problems.Add($"nonfinite {ours.NonFinite} vs {theirs.GetProperty("nonfinite").GetInt64()}");
        return problems;
    }

    private static void Check(string what, double ours, double theirs, List<string> problems, ref double maxRel)
    {
        double scale = Math.Max(Math.Abs(ours), Math.Abs(theirs));
        double diff = Math.Abs(ours - theirs);
        if (scale > 1e-6) maxRel = Math.Max(maxRel, diff / scale);
        if (diff > Tolerance * scale && diff > 1e-9) problems.Add($"{what} {ours:R} vs {theirs:R}");
    }
}
