using System.Text;

namespace MlNetMedical.Imaging.Datasets;

/// <summary>
/// One row of a dataset manifest (DIR/manifest.csv, columns id,image,mask,label,group,split).
/// Paths are relative to the manifest's folder; a missing mask or label is null (an empty cell).
/// </summary>
public sealed record ManifestRow(string Id, string Image, string? Mask, string? Label, string Group, string Split);

/// <summary>Writes the CSV manifest layout: a header, then one row per case, RFC 4180 quoting, "\n" line ends.</summary>
public static class ManifestWriter
{
    public const string Header = "id,image,mask,label,group,split";

    public static readonly IReadOnlyList<string> Splits = ["pretrain", "train", "test"];

    public static void Write(string path, IEnumerable<ManifestRow> rows)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var r in rows)
        {
            if (string.IsNullOrEmpty(r.Id)) throw new ArgumentException("a manifest row needs an id", nameof(rows));
            if (string.IsNullOrEmpty(r.Image)) throw new ArgumentException($"manifest row '{r.Id}' needs an image path", nameof(rows));
            text.Append(Cell(r.Id)).Append(',').Append(Cell(r.Image)).Append(',').Append(Cell(r.Mask)).Append(',')
                .Append(Cell(r.Label)).Append(',').Append(Cell(r.Group)).Append(',').Append(Cell(r.Split)).Append('\n');
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllText(path, text.ToString(), new UTF8Encoding(false));
    }

    private static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        return value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
    }
}
