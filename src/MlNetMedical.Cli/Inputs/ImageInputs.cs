using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Formats;

namespace MlNetMedical.Cli.Inputs;

/// <summary>One image to predict: a file, or a folder read as one DICOM series.</summary>
/// <param name="Path">The file or folder.</param>
/// <param name="Name">A short name for output files (the file name without its image extension, or the folder name).</param>
/// <param name="Kind">"file" or "dicom-series".</param>
public sealed record ImageInput(string Path, string Name, string Kind)
{
    /// <summary>Reads the image (from a DICOM folder, the series <paramref name="seriesInstanceUid"/>, needed when it holds several);
    /// unreadable input is a user error naming the file and what was expected.</summary>
    public Volume Read(string? seriesInstanceUid = null)
    {
        try { return ImageIO.Read(Path, new ReadOptions { SeriesInstanceUid = seriesInstanceUid }); }
        catch (Exception e) when (e is ImageFormatException or FileNotFoundException or DirectoryNotFoundException)
        {
            var expected = Kind == ImageInputs.DicomSeries
                ? seriesInstanceUid is null ? "a folder holding one DICOM series, or --series UID to pick one" : $"a folder holding the DICOM series {seriesInstanceUid}"
                : "a NIfTI (.nii, .nii.gz, .hdr), MetaImage (.mha, .mhd), PNG or DICOM file";
            throw new CliUserException($"cannot read '{Path}' (expected {expected}): {e.Message}");
        }
    }
}

/// <summary>Turns a `--input FILE|DIR` argument into the images to predict.</summary>
public static class ImageInputs
{
    public const string File = "file";
    public const string DicomSeries = "dicom-series";

    /// <summary>Extensions of the image files a folder is scanned for (DICOM files are found by their preamble instead).</summary>
    public static readonly string[] ImageExtensions = [".nii.gz", ".nii", ".hdr", ".mha", ".mhd", ".png"];

    /// <summary>
    /// A file gives itself. A folder whose files carry the DICOM 'DICM' preamble is one series; otherwise each image file
    /// in it (by <see cref="ImageExtensions"/>, sorted by name) is one input. A folder with both, or with neither, is an error.
    /// </summary>
    public static IReadOnlyList<ImageInput> Discover(string path)
    {
        if (System.IO.File.Exists(path)) return [new ImageInput(path, StemOf(path), File)];
        if (!Directory.Exists(path)) throw new CliUserException($"input '{path}' does not exist (expected an image file, a folder of image files or a DICOM series folder)");
        var files = Directory.EnumerateFiles(path).Where(f => !System.IO.Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        var images = files.Where(f => ExtensionOf(f) is not null).ToList();
        var dicom = files.Where(f => ExtensionOf(f) is null && HasDicomPreamble(f)).ToList();
        if (dicom.Count > 0 && images.Count > 0)
            throw new CliUserException($"folder '{path}' holds both DICOM files ({System.IO.Path.GetFileName(dicom[0])}, ...) and image files ({System.IO.Path.GetFileName(images[0])}, ...); "
                                       + "point --input at a folder with one kind");
        if (dicom.Count > 0) return [new ImageInput(path, System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(path)), DicomSeries)];
        if (images.Count == 0)
            throw new CliUserException($"folder '{path}' holds no image files ({string.Join(", ", ImageExtensions)}) and no DICOM files (with a 'DICM' preamble)");
        var inputs = images.Select(f => new ImageInput(f, StemOf(f), File)).ToList();
        var clash = inputs.GroupBy(i => i.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new CliUserException($"folder '{path}' holds {string.Join(" and ", clash.Select(i => System.IO.Path.GetFileName(i.Path)))}, which would write the same output name '{clash.Key}'");
        return inputs;
    }

    /// <summary>Whether the file is a DICOM Part-10 file (128-byte preamble, then "DICM").</summary>
    public static bool HasDicomPreamble(string file)
    {
        Span<byte> head = stackalloc byte[132];
        using var stream = System.IO.File.OpenRead(file);
        return stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head[128..].SequenceEqual("DICM"u8);
    }

    private static string? ExtensionOf(string file) =>
        ImageExtensions.FirstOrDefault(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    private static string StemOf(string file)
    {
        var name = System.IO.Path.GetFileName(file);
        var extension = ExtensionOf(name) ?? System.IO.Path.GetExtension(name);
        return name[..^extension.Length];
    }

    /// <summary>The image format named from the path (for output), "DICOM" otherwise.</summary>
    public static string FormatOf(ImageInput input) => input.Kind == DicomSeries ? "DICOM series" : ExtensionOf(input.Path) switch
    {
        ".nii.gz" or ".nii" or ".hdr" => "NIfTI",
        ".mha" or ".mhd" => "MetaImage",
        ".png" => "PNG",
        _ => Nifti.HandlesPath(input.Path) ? "NIfTI" : "DICOM",
    };
}
