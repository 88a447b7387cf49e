using System.Text.Json;
using System.Text.RegularExpressions;

namespace MlNetMedical.Imaging.Datasets;

/// <summary>Readers for the public dataset layouts: Medical Segmentation Decathlon, BraTS, LiTS.</summary>
public static partial class Layouts
{
    /// <summary>
    /// Medical Segmentation Decathlon: <c>dataset.json</c> whose "training" entries name
    /// <c>./imagesTr/X.nii.gz</c> and <c>./labelsTr/X.nii.gz</c>; "test" entries (image paths) become split "test".
    /// </summary>
    public static List<DatasetItem> Decathlon(string folder) => Decathlon(folder, DatasetPaths.Trusted);

    /// <summary>As <see cref="Decathlon(string)"/>; with <see cref="DatasetPaths.Root"/>, an entry that resolves outside it is a
    /// <see cref="DatasetPathException"/> naming the entry ("training[3].label").</summary>
    public static List<DatasetItem> Decathlon(string folder, DatasetPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var jsonPath = Path.Combine(folder, "dataset.json");
        if (!File.Exists(jsonPath)) throw new FileNotFoundException($"'{jsonPath}': a Decathlon folder needs dataset.json", jsonPath);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(jsonPath)); }
        catch (JsonException e) { throw new ImageFormatException(jsonPath, $"invalid JSON: {e.Message}", e); }
        using var _ = doc;
        string Full(string rel, string where)
        {
            var p = Path.GetFullPath(Path.Combine(folder, rel));
            paths.Check(jsonPath, where, rel, p);
            if (paths.CheckFilesExist && !File.Exists(p)) throw new ImageFormatException(jsonPath, $"{where}: file '{rel}' does not exist");
            return p;
        }
        string Text(JsonElement value, string where) => value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new ImageFormatException(jsonPath, $"{where} must be a path (a JSON string), not {value.ValueKind.ToString().ToLowerInvariant()}");
        var items = new List<DatasetItem>();
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ImageFormatException(jsonPath, "expected a JSON object with a \"training\" array");
        if (!doc.RootElement.TryGetProperty("training", out var training) || training.ValueKind != JsonValueKind.Array)
            throw new ImageFormatException(jsonPath, "no \"training\" array");
        int n = 0;
        foreach (var entry in training.EnumerateArray())
        {
            var where = $"training[{n++}]";
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("image", out var img) || !entry.TryGetProperty("label", out var lab))
                throw new ImageFormatException(jsonPath, $"{where} needs \"image\" and \"label\"");
            var image = Full(Text(img, where + ".image"), where + ".image");
            items.Add(new DatasetItem(CaseId(image), [image], Full(Text(lab, where + ".label"), where + ".label"), Split: null));
        }
        if (doc.RootElement.TryGetProperty("test", out var test) && test.ValueKind == JsonValueKind.Array)
        {
            n = 0;
            foreach (var entry in test.EnumerateArray())
            {
                var where = $"test[{n++}]";
                var rel = entry.ValueKind == JsonValueKind.String ? entry.GetString()!
                    : entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("image", out var t) ? Text(t, where + ".image")
                    : throw new ImageFormatException(jsonPath, $"{where} must be a path or an object with \"image\"");
                var image = Full(rel, where);
                items.Add(new DatasetItem(CaseId(image), [image], Split: "test"));
            }
        }
        return items;
    }

    private static string CaseId(string path)
    {
        var name = Path.GetFileName(path);
        foreach (var ext in new[] { ".nii.gz", ".nii", ".mha", ".mhd" })
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) return name[..^ext.Length];
        return name;
    }

    /// <summary>BraTS modality suffixes, old (2018–2021) and new (2023) naming, in channel order.</summary>
    public static readonly string[][] BratsModalities = [["t1", "t1ce", "t2", "flair"], ["t1n", "t1c", "t2w", "t2f"]];

    /// <summary>
    /// BraTS: one folder per case holding CASE_t1, _t1ce, _t2, _flair and _seg (or the 2023 names -t1n, -t1c,
    /// -t2w, -t2f, -seg), .nii or .nii.gz. The four modalities become channels; the case folder name is the id.
    /// Cases without a seg file are kept with no mask (validation sets).
    /// </summary>
    public static List<DatasetItem> Brats(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"'{folder}': folder not found");
        var items = new List<DatasetItem>();
        foreach (var caseDir in Directory.GetDirectories(folder).OrderBy(d => d, StringComparer.Ordinal))
        {
            var files = Directory.GetFiles(caseDir);
            string? Find(string suffix) => files.FirstOrDefault(f =>
            {
                var stem = CaseId(f).ToLowerInvariant();
                return stem.EndsWith("_" + suffix) || stem.EndsWith("-" + suffix);
            });
            var naming = BratsModalities.FirstOrDefault(set => set.All(m => Find(m) != null));
            if (naming is null)
                throw new ImageFormatException(caseDir, $"a BraTS case needs {string.Join("/", BratsModalities[0])} (or {string.Join("/", BratsModalities[1])}) images; found {string.Join(", ", files.Select(Path.GetFileName))}");
            items.Add(new DatasetItem(Path.GetFileName(caseDir), naming.Select(m => Find(m)!).ToList(), Find("seg")));
        }
        if (items.Count == 0) throw new ImageFormatException(folder, "no case folders");
        return items;
    }

    [GeneratedRegex(@"^(volume|segmentation)-(\d+)\.nii(\.gz)?$", RegexOptions.IgnoreCase)]
    private static partial Regex LitsName();

    /// <summary>LiTS: volume-N.nii[.gz] with segmentation-N.nii[.gz] (searched recursively, e.g. in batch folders).</summary>
    public static List<DatasetItem> Lits(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"'{folder}': folder not found");
        var volumes = new Dictionary<int, string>();
        var segs = new Dictionary<int, string>();
        foreach (var f in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var m = LitsName().Match(Path.GetFileName(f));
            if (!m.Success) continue;
            var target = m.Groups[1].Value.Equals("volume", StringComparison.OrdinalIgnoreCase) ? volumes : segs;
            var n = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (target.TryGetValue(n, out var other)) throw new ImageFormatException(f, $"case {n} appears twice (also '{other}')");
            target[n] = f;
        }
        foreach (var n in segs.Keys) if (!volumes.ContainsKey(n)) throw new ImageFormatException(segs[n], $"segmentation-{n} has no volume-{n}");
        if (volumes.Count == 0) throw new ImageFormatException(folder, "no volume-N.nii files");
        return volumes.OrderBy(kv => kv.Key)
            .Select(kv => new DatasetItem($"lits-{kv.Key}", [kv.Value], segs.GetValueOrDefault(kv.Key), Group: $"lits-{kv.Key}"))
            .ToList();
    }
}
