using System.Text;

namespace MlNetMedical.Imaging.Datasets;

/// <summary>
/// A CSV manifest with header <c>id,image[,mask][,label][,group][,split]</c> (any order). Paths are relative
/// to the CSV's folder; several images for one case are separated by ';'. Every error names the file,
/// line and column. <see cref="DatasetPaths"/> says whether paths may leave a dataset root.
/// </summary>
public static class CsvManifest
{
    public static readonly string[] Columns = ["id", "image", "mask", "label", "group", "split"];
    public static readonly string[] Splits = ["pretrain", "train", "val", "test"];

    /// <summary>Reads a trusted manifest: paths as written (absolute and '..' allowed).</summary>
    public static List<DatasetItem> Read(string path, bool checkFilesExist = true) =>
        Read(path, DatasetPaths.Trusted with { CheckFilesExist = checkFilesExist });

    /// <summary>Reads a manifest; with <see cref="DatasetPaths.Root"/>, a path that resolves outside it is a <see cref="DatasetPathException"/>.</summary>
    public static List<DatasetItem> Read(string path, DatasetPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        bool checkFilesExist = paths.CheckFilesExist;
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': manifest not found", path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) throw new ManifestException(path, 1, null, "the file is empty; expected a header 'id,image,...'");
        var header = ParseLine(lines[0], path, 1).Select(h => h.Trim().ToLowerInvariant()).ToList();
        for (int c = 0; c < header.Count; c++)
        {
            if (!Columns.Contains(header[c])) throw new ManifestException(path, 1, header[c], $"unknown column; expected some of {string.Join(", ", Columns)}");
            if (header.IndexOf(header[c]) != c) throw new ManifestException(path, 1, header[c], "the column appears twice");
        }
        foreach (var required in new[] { "id", "image" })
            if (!header.Contains(required)) throw new ManifestException(path, 1, required, "required column is missing");
        var items = new List<DatasetItem>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 1; i < lines.Length; i++)
        {
            int lineNo = i + 1;
            if (lines[i].Trim().Length == 0) continue;
            var fields = ParseLine(lines[i], path, lineNo);
            if (fields.Count != header.Count)
                throw new ManifestException(path, lineNo, null, $"has {fields.Count} fields, the header has {header.Count}");
            string? Get(string col) { int c = header.IndexOf(col); if (c < 0) return null; var v = fields[c].Trim(); return v.Length == 0 ? null : v; }
            var id = Get("id") ?? throw new ManifestException(path, lineNo, "id", "is empty");
            if (ids.TryGetValue(id, out var previous)) throw new ManifestException(path, lineNo, "id", $"'{id}' was already used on line {previous}");
            ids[id] = lineNo;
            var imageField = Get("image") ?? throw new ManifestException(path, lineNo, "image", "is empty");
            var written = imageField.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var images = written.Select(p => Resolve(folder, p)).ToList();
            var mask = Get("mask") is { } m ? Resolve(folder, m) : null;
            for (int k = 0; k < images.Count; k++) paths.Check(path, $"line {lineNo}, column 'image'", written[k], images[k]);
            if (mask is not null) paths.Check(path, $"line {lineNo}, column 'mask'", Get("mask")!, mask);
            if (checkFilesExist)
            {
                foreach (var img in images) if (!Exists(img)) throw new ManifestException(path, lineNo, "image", $"file '{img}' does not exist");
                if (mask != null && !Exists(mask)) throw new ManifestException(path, lineNo, "mask", $"file '{mask}' does not exist");
            }
            var split = Get("split")?.ToLowerInvariant();
            if (split != null && !Splits.Contains(split)) throw new ManifestException(path, lineNo, "split", $"'{split}' is not one of {string.Join(", ", Splits)}");
            items.Add(new DatasetItem(id, images, mask, Get("label"), Get("group"), split));
        }
        if (items.Count == 0) throw new ManifestException(path, 2, null, "the manifest lists no cases");
        return items;
    }

    private static bool Exists(string p) => File.Exists(p) || Directory.Exists(p);
    private static string Resolve(string folder, string p) => Path.IsPathRooted(p) ? p : Path.GetFullPath(Path.Combine(folder, p));

    /// <summary>Writes a manifest (paths as given), quoting fields that need it.</summary>
    public static void Write(string path, IEnumerable<DatasetItem> items)
    {
        var sb = new StringBuilder("id,image,mask,label,group,split\n");
        string Q(string? s) => s is null ? "" : s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
        foreach (var it in items)
            sb.Append(string.Join(",", Q(it.Id), Q(string.Join(";", it.Images)), Q(it.Mask), Q(it.ClassLabel), Q(it.Group), Q(it.Split))).Append('\n');
        File.WriteAllText(path, sb.ToString());
    }

    /// <summary>Splits one CSV line, honouring double quotes ("" inside quotes is a quote).</summary>
    internal static List<string> ParseLine(string line, string path, int lineNo)
    {
        var fields = new List<string>();
        var cur = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { cur.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cur.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { fields.Add(cur.ToString()); cur.Clear(); }
            else cur.Append(ch);
        }
        if (quoted) throw new ManifestException(path, lineNo, null, "has an unterminated quote");
        fields.Add(cur.ToString().TrimEnd('\r'));
        return fields;
    }
}

/// <summary>A manifest or layout problem, naming the file, line and column.</summary>
public sealed class ManifestException(string path, int line, string? column, string problem)
    : ImageFormatException(path, $"line {line}{(column is null ? "" : $", column '{column}'")}: {problem}")
{
    public int Line { get; } = line;
    public string? Column { get; } = column;
}
