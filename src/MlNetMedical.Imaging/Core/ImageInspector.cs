using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlNetMedical.Imaging;

/// <summary>Summary of an image file or DICOM series folder, as `mlnm inspect PATH --json` prints it.</summary>
public sealed record ImageInspection(
    string Path,
    string Format,
    int[] Shape,
    double[] Spacing,
    Affine Affine,
    string DType,
    double Min,
    double Max,
    double Mean,
    double Sum,
    long NonFinite)
{
    /// <summary>One JSON object: path, format, shape (file index order), spacing, affine (4×4 RAS+), dtype (on disk), min/max/mean/sum of scaled values.</summary>
    public string ToJson(bool indented = false)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = indented }))
        {
            w.WriteStartObject();
            w.WriteString("path", Path);
            w.WriteString("format", Format);
            w.WriteStartArray("shape"); foreach (var s in Shape) w.WriteNumberValue(s); w.WriteEndArray();
            w.WriteStartArray("spacing"); foreach (var s in Spacing) w.WriteNumberValue(s); w.WriteEndArray();
            w.WriteStartArray("affine");
            for (int r = 0; r < 4; r++) { w.WriteStartArray(); for (int c = 0; c < 4; c++) w.WriteNumberValue(Affine[r, c]); w.WriteEndArray(); }
            w.WriteEndArray();
            w.WriteString("dtype", DType);
            Number(w, "min", Min); Number(w, "max", Max); Number(w, "mean", Mean); Number(w, "sum", Sum);
            w.WriteNumber("nonfinite", NonFinite);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}

public static class ImageInspector
{
    /// <summary>Reads <paramref name="path"/> (file or DICOM series folder) and summarises it; statistics skip NaN/Inf voxels and count them.</summary>
    public static ImageInspection Inspect(string path, ReadOptions? options = null)
    {
        var v = ImageIO.Read(path, options);
        return Inspect(v, path);
    }

    public static ImageInspection Inspect(Volume v, string path)
    {
        var values = v.ToDoubleArray();
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, compensation = 0;
        long finite = 0, nonFinite = 0;
        foreach (var x in values)
        {
            if (!double.IsFinite(x)) { nonFinite++; continue; }
            if (x < min) min = x;
            if (x > max) max = x;
            // Neumaier summation, so large volumes agree with numpy's pairwise sum to ~1e-15.
            double t = sum + x;
            compensation += Math.Abs(sum) >= Math.Abs(x) ? (sum - t) + x : (x - t) + sum;
            sum = t;
            finite++;
        }
        sum += compensation;
        if (finite == 0) { min = max = double.NaN; }
        var spacing = v.Spacing.Take(Math.Max(2, v.SpatialRank)).ToArray();
        // A trailing colour axis is a sample of each voxel, like rgb24's three bytes, not a dimension of the image.
        var shape = v.Metadata.ContainsKey(Dicom.DicomSeries.ColourAxisKey) ? v.Shape[..^1] : v.Shape;
        return new ImageInspection(path, v.Metadata.GetValueOrDefault("format", "unknown"), shape, spacing, v.Affine,
            v.DataType.Name(), min, max, finite == 0 ? double.NaN : sum / finite, sum, nonFinite);
    }
}
