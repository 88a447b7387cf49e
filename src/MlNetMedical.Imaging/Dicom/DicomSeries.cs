using System.Globalization;
using System.Runtime.InteropServices;

namespace MlNetMedical.Imaging.Dicom;

/// <summary>
/// DICOM through GDCM: single files (one or many frames) and series folders. Series assembly is ours:
/// files are grouped by SeriesInstanceUID, sorted by ImagePositionPatient projected on the slice normal,
/// and the slice step is taken from the positions. Mixed sizes or orientations, missing slices and
/// duplicate positions are rejected with the files named. Volumes have shape [columns, rows, slices]
/// and a RAS+ affine (DICOM's LPS with x and y negated). Raw stored values are kept; RescaleSlope and
/// RescaleIntercept become <see cref="Volume.ScaleSlope"/>/<see cref="Volume.ScaleIntercept"/> (HU for CT).
/// Metadata carries PatientID, StudyInstanceUID, SeriesInstanceUID, Modality and AcquisitionDate, never the patient's name.
/// </summary>
public static class DicomSeries
{
    /// <summary>Relative tolerance for equal orientation cosines and even spacing.</summary>
    /// <summary>Metadata key set when the last axis holds colour samples (16/32-bit RGB).</summary>
    public const string ColourAxisKey = "colour_axis";

    public const double OrientationTolerance = 1e-4, SpacingTolerance = 0.1;

    public static Volume ReadFile(string path) => ReadFile(path, ImageLimits.DefaultMaxVoxels);

    /// <summary><see cref="ReadFile(string)"/> with a voxel limit (<see cref="ReadOptions.MaxVoxels"/>).</summary>
    internal static Volume ReadFile(string path, long maxVoxels)
    {
        var v = ReadFileFrom(DicomSlice.Read(path, maxVoxels: maxVoxels));
        v.SourcePath = path;
        return v;
    }

    /// <summary>
    /// Reads the series in <paramref name="folder"/> (files directly inside it). With several series,
    /// <paramref name="seriesInstanceUid"/> picks one; otherwise the error lists them.
    /// </summary>
    public static Volume ReadFolder(string folder, string? seriesInstanceUid = null) => ReadFolder(folder, seriesInstanceUid, ImageLimits.DefaultMaxVoxels);

    /// <summary><see cref="ReadFolder(string, string?)"/> with a voxel limit for the whole volume (<see cref="ReadOptions.MaxVoxels"/>).</summary>
    internal static Volume ReadFolder(string folder, string? seriesInstanceUid, long maxVoxels)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"'{folder}': folder not found");
        var files = Directory.EnumerateFiles(folder)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && !Path.GetFileName(f).StartsWith("DICOMDIR", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => f, StringComparer.Ordinal).ToArray();
        // Files go to the decoder processes in parallel (one request per process at a time); results keep the file order.
        var read = new DicomSlice?[files.Length];
        Parallel.For(0, files.Length, new ParallelOptions { MaxDegreeOfParallelism = DicomDecoderPool.MaxDecoders }, i =>
        {
            try { read[i] = DicomSlice.Read(files[i], allowNative: true, maxVoxels: maxVoxels); }
            catch (ImageFormatException) { read[i] = null; }
        });
        var slices = read.Where(s => s != null).Select(s => s!).ToList();
        int skipped = files.Length - slices.Count;
        if (slices.Count == 0) throw new ImageFormatException(folder, $"no readable DICOM image in the folder ({skipped} other files)");
        var groups = slices.GroupBy(s => s.SeriesUid).ToList();
        List<DicomSlice> series;
        if (seriesInstanceUid != null)
            series = groups.FirstOrDefault(g => g.Key == seriesInstanceUid)?.ToList()
                ?? throw new ImageFormatException(folder, $"no series {seriesInstanceUid}; found {Describe(groups)}");
        else if (groups.Count > 1)
            throw new ImageFormatException(folder, $"holds {groups.Count} series ({Describe(groups)}); pick one by SeriesInstanceUID");
        else series = groups[0].ToList();
        var v = Assemble(series, folder, maxVoxels);
        v.Metadata["dicom.skipped_files"] = skipped.ToString(CultureInfo.InvariantCulture);
        return v;
    }

    private static string Describe(IEnumerable<IGrouping<string, DicomSlice>> groups) =>
        string.Join(", ", groups.Select(g => $"{(g.Key.Length == 0 ? "(no SeriesInstanceUID)" : g.Key)}: {g.Count()} files"));

    private static Volume Assemble(List<DicomSlice> slices, string folder, long maxVoxels)
    {
        var first = slices[0];
        if (slices.Count == 1)
        {
            var single = ReadFileFrom(first.PixelOffset < 0 ? first : DicomSlice.Read(first.Path, maxVoxels: maxVoxels));
            single.SourcePath = folder;
            return single;
        }
        foreach (var s in slices)
        {
            if (s.Channels != 1) throw new ImageFormatException(folder, $"'{s.FileName}' holds {s.Type.Name()} colour; series folders of 16/32-bit colour are not supported");
            if (s.Frames != 1) throw new ImageFormatException(folder, $"'{s.FileName}' has {s.Frames} frames; a series folder must hold single-frame slices (read a multi-frame file on its own)");
            if (s.Columns != first.Columns || s.Rows != first.Rows)
                throw new ImageFormatException(folder, $"mixed image sizes: '{first.FileName}' is {first.Columns}x{first.Rows}, '{s.FileName}' is {s.Columns}x{s.Rows}");
            if (s.Type != first.Type || s.Photometric != first.Photometric)
                throw new ImageFormatException(folder, $"mixed pixel formats: '{first.FileName}' is {first.Type.Name()} {first.Photometric}, '{s.FileName}' is {s.Type.Name()} {s.Photometric}");
            if (!s.HasPosition) throw new ImageFormatException(folder, $"'{s.FileName}' has no ImagePositionPatient, so slices cannot be ordered");
            for (int i = 0; i < 6; i++)
                if (Math.Abs(s.Cosines[i] - first.Cosines[i]) > OrientationTolerance)
                    throw new ImageFormatException(folder, $"mixed orientation: ImageOrientationPatient of '{first.FileName}' and '{s.FileName}' differ");
        }
        var normal = first.Normal;
        double Along(DicomSlice s) => s.Origin[0] * normal[0] + s.Origin[1] * normal[1] + s.Origin[2] * normal[2];
        var sorted = slices.OrderBy(Along).ThenBy(s => s.Path, StringComparer.Ordinal).ToList();
        var positions = sorted.Select(Along).ToArray();
        var gaps = new double[positions.Length - 1];
        for (int i = 0; i < gaps.Length; i++)
        {
            gaps[i] = positions[i + 1] - positions[i];
            if (gaps[i] < 1e-3)
                throw new ImageFormatException(folder, $"duplicate slice position {positions[i].ToString("G6", CultureInfo.InvariantCulture)} mm along the normal: '{sorted[i].FileName}' and '{sorted[i + 1].FileName}'");
        }
        var median = gaps.OrderBy(g => g).ElementAt(gaps.Length / 2);
        for (int i = 0; i < gaps.Length; i++)
        {
            if (gaps[i] > median * 1.5)
                throw new ImageFormatException(folder, $"missing slice(s) between '{sorted[i].FileName}' and '{sorted[i + 1].FileName}': gap {gaps[i].ToString("G6", CultureInfo.InvariantCulture)} mm, the usual step is {median.ToString("G6", CultureInfo.InvariantCulture)} mm");
            if (Math.Abs(gaps[i] - median) > SpacingTolerance * median)
                throw new ImageFormatException(folder, $"uneven slice spacing between '{sorted[i].FileName}' and '{sorted[i + 1].FileName}': {gaps[i].ToString("G6", CultureInfo.InvariantCulture)} mm against {median.ToString("G6", CultureInfo.InvariantCulture)} mm");
        }
        var last = sorted[^1];
        int n = sorted.Count;
        var step = new double[3];
        for (int i = 0; i < 3; i++) step[i] = (last.Origin[i] - sorted[0].Origin[i]) / (n - 1);

        bool sameRescale = sorted.All(s => s.Slope == first.Slope && s.Intercept == first.Intercept);
        // The whole volume against the limits (each slice was checked on its own); float32 when rescales differ.
        ImageLimits.Check(folder, [first.Columns, first.Rows, n], sameRescale ? first.Type.Size() : sizeof(float), maxVoxels, "series size");
        int sliceBytes = first.PixelBytes;
        Volume v;
        if (sameRescale)
        {
            var data = GC.AllocateUninitializedArray<byte>(sliceBytes * n);
            // Each slice lands straight in its place; native-pixel slices are read from disk in parallel.
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                i => sorted[i].CopyPixelsTo(data.AsSpan(i * sliceBytes, sliceBytes)));
            v = Build(first.Type, [first.Columns, first.Rows, n], data, sorted[0], step, sorted[0].Origin);
            v.ScaleSlope = first.Slope;
            v.ScaleIntercept = first.Intercept;
        }
        else
        {
            // Per-slice rescale: store the physical values as float32.
            int per = first.Columns * first.Rows;
            var values = new float[per * n];
            for (int i = 0; i < n; i++)
            {
                var one = new Volume(first.Type, [first.Columns, first.Rows], sorted[i].PixelArray()) { ScaleSlope = sorted[i].Slope, ScaleIntercept = sorted[i].Intercept };
                one.ToFloatArray().CopyTo(values, i * per);
            }
            v = Build(VoxelType.Float32, [first.Columns, first.Rows, n], MemoryMarshal.AsBytes<float>(values).ToArray(), sorted[0], step, sorted[0].Origin);
            v.Metadata["dicom.per_slice_rescale"] = "true";
        }
        v.SourcePath = folder;
        v.Metadata["dicom.files"] = n.ToString(CultureInfo.InvariantCulture);
        v.Metadata["dicom.first_file"] = sorted[0].FileName;
        return v;
    }

    private static Volume ReadFileFrom(DicomSlice s)
    {
        var step = s.Normal.Select(x => x * (s.Spacing[2] > 0 ? s.Spacing[2] : 1)).ToArray();
        var v = Build(s.Type, Shape(s), s.PixelArray(), s, step, s.Origin);
        v.ScaleSlope = s.Slope;
        v.ScaleIntercept = s.Intercept;
        v.Metadata["dicom.files"] = "1";
        return v;
    }

    private static int[] Shape(DicomSlice s) => s.Channels == 1 ? [s.Columns, s.Rows, s.Frames] : [s.Columns, s.Rows, s.Frames, s.Channels];

    /// <summary>Volume with the LPS affine [row cosine·Δcol, column cosine·Δrow, step | origin] turned to RAS+.</summary>
    private static Volume Build(VoxelType type, int[] shape, byte[] data, DicomSlice reference, double[] step, double[] origin)
    {
        var a = new double[16];
        for (int r = 0; r < 3; r++)
        {
            a[r * 4 + 0] = reference.Cosines[r] * reference.Spacing[0];
            a[r * 4 + 1] = reference.Cosines[3 + r] * reference.Spacing[1];
            a[r * 4 + 2] = step[r];
            a[r * 4 + 3] = origin[r];
        }
        a[15] = 1;
        var v = new Volume(type, shape, data, new Affine(a).FlipXY(), 3);
        v.Metadata["format"] = "dicom";
        if (shape.Length == 4) v.Metadata[ColourAxisKey] = "3";
        foreach (var (k, value) in reference.Tags)
            if (k is not ("ImagePositionPatient" or "InstanceNumber")) v.Metadata[k] = value;
        v.Metadata["dicom.photometric"] = reference.Photometric;
        return v;
    }
}
