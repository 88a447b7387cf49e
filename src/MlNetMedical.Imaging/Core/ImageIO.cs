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
    /// <summary>
    /// Largest voxel count (product of the dims; an RGB voxel counts once) the readers accept (NIfTI, MetaImage, PNG, and
    /// DICOM: each file's columns x rows x frames, in the decoder process before GDCM decompresses, and a series as a whole).
    /// Checked, with overflow-safe arithmetic, before anything is allocated for the voxels. Default
    /// <see cref="ImageLimits.DefaultMaxVoxels"/>; lower it where files come from untrusted sources.
    /// </summary>
    public long MaxVoxels { get; init; } = ImageLimits.DefaultMaxVoxels;
    /// <summary>
    /// A MetaImage .mhd header names its data file (ElementDataFile). By default that file must lie in the header's
    /// folder or below it: an absolute path or a '..' that leaves the folder is refused, so a header cannot turn any
    /// readable file on the machine into voxels. Set this for headers that point elsewhere on purpose. Either way
    /// only a regular file that holds enough bytes is read.
    /// </summary>
    public bool AllowMetaImageDataOutsideFolder { get; init; }
}

/// <summary>
/// One entry point for every format: picks the reader from the name of the path, a folder being a DICOM series,
/// and any other file being DICOM only when it has no extension, a DICOM one, or the 'DICM' preamble.
/// </summary>
public static class ImageIO
{
    /// <summary>What <see cref="Read"/> accepts, as its "unsupported format" error lists it.</summary>
    public const string SupportedFormats =
        "NIfTI (.nii, .nii.gz, .hdr/.img, .hdr.gz/.img.gz), MetaImage (.mha, .mhd), PNG (.png), " +
        "DICOM (a file with the 'DICM' preamble at byte 128, named .dcm, without extension or otherwise; or a series folder)";

    private static readonly string[] DicomExtensions = [".dcm", ".dicom", ".dic", ".ima"];

    public static Volume Read(string path, ReadOptions? options = null)
    {
        options ??= ReadOptions.Default;
        Volume v;
        if (Directory.Exists(path)) v = Dicom.DicomSeries.ReadFolder(path, options.SeriesInstanceUid, options.MaxVoxels);
        else
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': file not found", path);
            var lower = path.ToLowerInvariant();
            if (Nifti.HandlesPath(path)) v = Nifti.Read(path, options);
            else if (lower.EndsWith(".mha") || lower.EndsWith(".mhd")) v = MetaImage.Read(path, options);
            else if (lower.EndsWith(".png")) v = Png.Read(path, options);
            else if (IsDicomCandidate(path)) v = Dicom.DicomSeries.ReadFile(path, options.MaxVoxels);
            else
            {
                var extension = Path.GetExtension(path);
                throw new ImageFormatException(path, $"unsupported format: the extension '{extension}' is not one this reader knows, " +
                    $"and the file has no DICOM preamble. Supported: {SupportedFormats}");
            }
        }
        ApplyNonFinitePolicy(v, options);
        if (options.InvertMonochrome1 && v.Metadata.GetValueOrDefault("dicom.photometric") == "MONOCHROME1") v = InvertGrey(v);
        return v;
    }

    /// <summary>
    /// DICOM files often carry no extension or a UID-like one ("1.2.840....42"): those go to the DICOM reader,
    /// which explains what is wrong with them; any other unknown extension is DICOM only if the file says so.
    /// </summary>
    private static bool IsDicomCandidate(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension.Length <= 1 || DicomExtensions.Contains(extension) || extension[1..].All(char.IsAsciiDigit)) return true;
        Span<byte> head = stackalloc byte[132];
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        return fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head[128..].SequenceEqual("DICM"u8);
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
