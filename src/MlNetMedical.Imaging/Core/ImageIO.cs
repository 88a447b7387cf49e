using MlNetMedical.Imaging.Formats;

namespace MlNetMedical.Imaging;

/// <summary>What a reader does with NaN or ±Inf voxels in floating-point data.</summary>
public enum NonFiniteVoxels
{
    /// <summary>Keep them; the count is reported in Metadata["nonfinite_voxels"].</summary>
    Report,
    /// <summary>Throw an <see cref="ImageFormatException"/> naming the file and the count.</summary>
    Fail,
    /// <summary>Replace them with <see cref="ReadOptions.Replacement"/> (count still reported).</summary>
    Replace,
}

public sealed record ReadOptions
{
    public static ReadOptions Default { get; } = new();
    public NonFiniteVoxels NonFinite { get; init; } = NonFiniteVoxels.Report;
    public double Replacement { get; init; }
    /// <summary>
    /// DICOM MONOCHROME1 stores bright as low values. When true, such images come back as float32 with
    /// value' = min + max − value (scaled values), so bright is high as in MONOCHROME2. Off by default:
    /// the stored values are kept and Metadata["dicom.photometric"] says MONOCHROME1.
    /// </summary>
    public bool InvertMonochrome1 { get; init; }
    /// <summary>Which series to read from a DICOM folder that holds several.</summary>
    public string? SeriesInstanceUid { get; init; }
}

/// <summary>One entry point for every format: picks the reader from the name (or folder) of the path.</summary>
public static class ImageIO
{
    public static Volume Read(string path, ReadOptions? options = null)
    {
        options ??= ReadOptions.Default;
        Volume v;
        if (Directory.Exists(path)) v = Dicom.DicomSeries.ReadFolder(path, options.SeriesInstanceUid);
        else
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': file not found", path);
            var lower = path.ToLowerInvariant();
            if (Nifti.HandlesPath(path)) v = Nifti.Read(path);
            else if (lower.EndsWith(".mha") || lower.EndsWith(".mhd")) v = MetaImage.Read(path);
            else if (lower.EndsWith(".png")) v = Png.Read(path);
            else v = Dicom.DicomSeries.ReadFile(path);
        }
        ApplyNonFinitePolicy(v, options);
        if (options.InvertMonochrome1 && v.Metadata.GetValueOrDefault("dicom.photometric") == "MONOCHROME1") v = InvertGrey(v);
        return v;
    }

    public static void Write(Volume volume, string path)
    {
        var lower = path.ToLowerInvariant();
        if (Nifti.HandlesPath(path)) Nifti.Write(volume, path);
        else if (lower.EndsWith(".mha") || lower.EndsWith(".mhd")) MetaImage.Write(volume, path);
        else if (lower.EndsWith(".png")) Png.Write(volume, path);
        else throw new ArgumentException($"'{path}': cannot tell the format from the name; use .nii, .nii.gz, .hdr, .mha, .mhd or .png", nameof(path));
    }

    private static Volume InvertGrey(Volume v)
    {
        var values = v.ToFloatArray();
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var x in values) { if (x < min) min = x; if (x > max) max = x; }
        for (int i = 0; i < values.Length; i++) values[i] = min + max - values[i];
        var inverted = v.WithVoxels<float>(values);
        inverted.Metadata["dicom.photometric"] = "MONOCHROME2";
        inverted.Metadata["dicom.inverted_from"] = "MONOCHROME1";
        return inverted;
    }

    /// <summary>Counts NaN/±Inf voxels and applies the policy; integer volumes are left alone.</summary>
    public static void ApplyNonFinitePolicy(Volume v, ReadOptions options)
    {
        long count = 0;
        if (v.DataType == VoxelType.Float32) count = Fix(v.Voxels<float>(), options, v, (float)options.Replacement);
        else if (v.DataType == VoxelType.Float64) count = Fix(v.Voxels<double>(), options, v, options.Replacement);
        if (count > 0 || v.DataType.IsFloatingPoint()) v.Metadata["nonfinite_voxels"] = count.ToString();
    }

    private static long Fix<T>(Span<T> data, ReadOptions options, Volume v, T replacement) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        long count = 0;
        for (int i = 0; i < data.Length; i++)
        {
            if (T.IsFinite(data[i])) continue;
            count++;
            if (options.NonFinite == NonFiniteVoxels.Replace) data[i] = replacement;
        }
        if (count > 0 && options.NonFinite == NonFiniteVoxels.Fail)
            throw new ImageFormatException(v.SourcePath ?? "(in memory)", $"{count} of {data.Length} voxels are NaN or infinite");
        return count;
    }
}
