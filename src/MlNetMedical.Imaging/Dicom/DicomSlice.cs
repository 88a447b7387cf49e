using System.Globalization;

namespace MlNetMedical.Imaging.Dicom;

/// <summary>One DICOM file read through GDCM: its geometry, identifiers and decoded pixels.</summary>
internal sealed class DicomSlice
{
    public required string Path { get; init; }
    public int Columns { get; init; }
    public int Rows { get; init; }
    public int Frames { get; init; }
    /// <summary>3 for RGB wider than 8 bits (kept as a planar trailing axis), else 1.</summary>
    public int Channels { get; init; } = 1;
    public VoxelType Type { get; init; }
    public string Photometric { get; init; } = "";
    public double Slope { get; init; } = 1;
    public double Intercept { get; init; }
    /// <summary>LPS geometry as GDCM reports it (origin of the first frame, row/column cosines, spacing).</summary>
    public double[] Origin { get; init; } = new double[3];
    public double[] Cosines { get; init; } = [1, 0, 0, 0, 1, 0];
    public double[] Spacing { get; init; } = [1, 1, 1];
    public bool HasPosition { get; init; }
    public Dictionary<string, string> Tags { get; init; } = new();
    public byte[] Pixels { get; init; } = [];
    /// <summary>For native-pixel slices (see <see cref="ReadNative"/>): where the raw pixel bytes start in the file.</summary>
    public long PixelOffset { get; init; } = -1;
    public int PixelBytes => Columns * Rows * Frames * Type.Size() * Channels;

    /// <summary>Copies the decoded pixels into <paramref name="destination"/> (reading the file for native-pixel slices).</summary>
    public void CopyPixelsTo(Span<byte> destination)
    {
        if (PixelOffset < 0) { Pixels.AsSpan(0, PixelBytes).CopyTo(destination); return; }
        using var handle = File.OpenHandle(Path);
        int got = 0;
        while (got < destination.Length)
        {
            int n = RandomAccess.Read(handle, destination[got..], PixelOffset + got);
            if (n == 0) throw new ImageFormatException(Path, $"truncated: pixel data needs {destination.Length} bytes at offset {PixelOffset}, the file ends after {got}");
            got += n;
        }
    }

    public byte[] PixelArray()
    {
        if (PixelOffset < 0) return Pixels;
        var data = GC.AllocateUninitializedArray<byte>(PixelBytes);
        CopyPixelsTo(data);
        return data;
    }

    public string SeriesUid => Tags.GetValueOrDefault("SeriesInstanceUID", "");
    public string FileName => System.IO.Path.GetFileName(Path);

    /// <summary>Unit normal of the slice plane: row cosine × column cosine.</summary>
    public double[] Normal => Cross(Cosines.AsSpan(0, 3), Cosines.AsSpan(3, 3));

    public static double[] Cross(ReadOnlySpan<double> a, ReadOnlySpan<double> b) =>
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

    // Identifiers kept as metadata. PatientName is deliberately absent: it must never reach logs or errors.
    private static readonly (string Name, ushort Group, ushort Element)[] MetadataTags =
    [
        ("PatientID", 0x0010, 0x0020),
        ("StudyInstanceUID", 0x0020, 0x000D),
        ("SeriesInstanceUID", 0x0020, 0x000E),
        ("Modality", 0x0008, 0x0060),
        ("AcquisitionDate", 0x0008, 0x0022),
        ("SeriesDate", 0x0008, 0x0021),
        ("StudyDate", 0x0008, 0x0020),
        ("InstanceNumber", 0x0020, 0x0013),
        ("SeriesDescription", 0x0008, 0x103E),
        ("BodyPartExamined", 0x0018, 0x0015),
        ("PhotometricInterpretation", 0x0028, 0x0004),
        ("TransferSyntaxUID", 0x0002, 0x0010),
        ("ImagePositionPatient", 0x0020, 0x0032),
        ("ImageOrientationPatient", 0x0020, 0x0037),
        ("PixelSpacing", 0x0028, 0x0030),
        ("SliceThickness", 0x0018, 0x0050),
        ("SpacingBetweenSlices", 0x0018, 0x0088),
    ];

    /// <summary>
    /// Reads and decodes one file; <paramref name="decode"/> false stops after the header fields.
    /// <paramref name="allowNative"/> lets uncompressed CT slices take the direct-read path (series folders).
    /// </summary>
    public static DicomSlice Read(string path, bool decode = true, bool allowNative = false)
    {
        GdcmRuntime.Ensure();
        lock (GdcmRuntime.Sync) return ReadWithGdcm(path, decode, allowNative);
    }

    private static DicomSlice ReadWithGdcm(string path, bool decode, bool allowNative)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': file not found", path);
        var (sopClass, transferSyntax) = DicomPreflight.Check(path);
        if (decode && allowNative && sopClass == CtImageStorage && transferSyntax is ExplicitLittle or ImplicitLittle && ReadNative(path, transferSyntax) is { } native)
            return native;
        using var reader = new gdcm.ImageReader();
        reader.SetFileName(path);
        if (!reader.Read())
            throw new ImageFormatException(path, "GDCM cannot read it as a DICOM image (not DICOM, no pixel data, or corrupt)");
        var image = reader.GetImage();
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var filter = new gdcm.StringFilter())
        {
            filter.SetFile(reader.GetFile());
            var ds = reader.GetFile().GetDataSet();
            var header = reader.GetFile().GetHeader();
            foreach (var (name, g, e) in MetadataTags)
            {
                using var tag = new gdcm.Tag(g, e);
                bool present = g == 0x0002 ? header.FindDataElement(tag) : ds.FindDataElement(tag);
                if (!present) continue;
                var value = (g == 0x0002 ? TrimValue(header.GetDataElement(tag).GetValue().toString()) : TrimValue(filter.ToString(tag)));
                if (value.Length > 0) tags[name] = value;
            }
        }
        var pf = image.GetPixelFormat();
        int samples = pf.GetSamplesPerPixel();
        int dims = (int)image.GetNumberOfDimensions();
        int cols = (int)image.GetDimension(0), rows = (int)image.GetDimension(1), frames = dims > 2 ? (int)image.GetDimension(2) : 1;
        var pi = image.GetPhotometricInterpretation().GetString()?.Trim() ?? "";
        var scalar = pf.GetScalarType();
        VoxelType type = scalar switch
        {
            gdcm.PixelFormat.ScalarType.UINT8 => samples == 3 ? VoxelType.Rgb24 : VoxelType.UInt8,
            gdcm.PixelFormat.ScalarType.INT8 => VoxelType.Int8,
            gdcm.PixelFormat.ScalarType.UINT12 or gdcm.PixelFormat.ScalarType.UINT16 => VoxelType.UInt16,
            gdcm.PixelFormat.ScalarType.INT12 or gdcm.PixelFormat.ScalarType.INT16 => VoxelType.Int16,
            gdcm.PixelFormat.ScalarType.UINT32 => VoxelType.UInt32,
            gdcm.PixelFormat.ScalarType.INT32 => VoxelType.Int32,
            gdcm.PixelFormat.ScalarType.UINT64 => VoxelType.UInt64,
            gdcm.PixelFormat.ScalarType.INT64 => VoxelType.Int64,
            gdcm.PixelFormat.ScalarType.FLOAT32 => VoxelType.Float32,
            gdcm.PixelFormat.ScalarType.FLOAT64 => VoxelType.Float64,
            gdcm.PixelFormat.ScalarType.SINGLEBIT => VoxelType.UInt8,
            var other => throw new ImageFormatException(path, $"pixel format {other} is not supported"),
        };
        // 8-bit colour is rgb24; wider colour samples become a trailing planar axis of 3.
        int channels = samples == 3 && type != VoxelType.Rgb24 ? 3 : 1;
        if (samples != 1 && samples != 3)
            throw new ImageFormatException(path, $"{samples} samples per pixel are not supported (grey or RGB)");
        if (cols <= 0 || rows <= 0 || frames <= 0) throw new ImageFormatException(path, $"image size {cols}x{rows}x{frames} is empty");

        byte[] pixels = [];
        if (decode)
        {
            long expected = (long)cols * rows * frames * type.Size() * channels;
            long length = image.GetBufferLength();
            var buffer = new byte[length];
            if (!image.GetBuffer(buffer))
                throw new ImageFormatException(path, $"GDCM could not decode the pixel data (transfer syntax {tags.GetValueOrDefault("TransferSyntaxUID", "unknown")})");
            if (scalar == gdcm.PixelFormat.ScalarType.SINGLEBIT)
            {
                pixels = new byte[expected];
                for (long i = 0; i < expected && (i >> 3) < buffer.Length; i++) pixels[i] = (byte)((buffer[i >> 3] >> (int)(i & 7)) & 1);
            }
            else if (length < expected)
                throw new ImageFormatException(path, $"decoded pixel data has {length} bytes, {cols}x{rows}x{frames} of {type.Name()} need {expected}");
            else pixels = length == expected ? buffer : buffer.AsSpan(0, (int)expected).ToArray();
            if (tags.GetValueOrDefault("TransferSyntaxUID") == "1.2.840.10008.1.2.2" && type.ComponentSize() >= 4)
                FixBigEndianWords(pixels, type.ComponentSize());
            if (samples == 3)
            {
                bool planar = image.GetPlanarConfiguration() == 1;
                if (type == VoxelType.Rgb24 && planar) pixels = Interleave(pixels, cols * rows, frames);
                else if (channels == 3) pixels = ToChannelLast(pixels, cols * rows, frames, type.Size(), planar);
            }
        }

        var origin = new double[3];
        var cos = new double[6];
        var spacing = new double[3];
        for (uint i = 0; i < 3; i++) { origin[i] = image.GetOrigin(i); spacing[i] = image.GetSpacing(i); }
        for (uint i = 0; i < 6; i++) cos[i] = image.GetDirectionCosines(i);
        double slope = image.GetSlope(), intercept = image.GetIntercept();
        if (slope == 0 || !double.IsFinite(slope)) slope = 1;
        if (!double.IsFinite(intercept)) intercept = 0;
        return new DicomSlice
        {
            Path = path, Columns = cols, Rows = rows, Frames = frames, Channels = channels, Type = type, Photometric = pi,
            Slope = slope, Intercept = intercept, Origin = origin, Cosines = cos, Spacing = spacing,
            HasPosition = tags.ContainsKey("ImagePositionPatient"), Tags = tags, Pixels = pixels,
        };
    }

    private static byte[] Interleave(byte[] planar, int pixelsPerFrame, int frames)
    {
        var r = new byte[planar.Length];
        for (int f = 0; f < frames; f++)
        {
            int b = f * pixelsPerFrame * 3;
            for (int i = 0; i < pixelsPerFrame; i++)
                for (int c = 0; c < 3; c++) r[b + i * 3 + c] = planar[b + c * pixelsPerFrame + i];
        }
        return r;
    }

    private const string CtImageStorage = "1.2.840.10008.5.1.4.1.1.2", ExplicitLittle = "1.2.840.10008.1.2.1", ImplicitLittle = "1.2.840.10008.1.2";

    /// <summary>
    /// Fast path for the commonest series: uncompressed little-endian single-frame CT. GDCM parses the header
    /// (up to the pixel data) and the raw pixels are later read straight from the file into the volume, with
    /// no intermediate copies. Anything unusual (colour, frames, odd lengths, packed bits) returns null and
    /// goes through GDCM's image reader instead.
    /// </summary>
    private static DicomSlice? ReadNative(string path, string transferSyntax)
    {
        using var reader = new gdcm.Reader();
        reader.SetFileName(path);
        using var pixelTag = new gdcm.Tag(0x7FE0, 0x0010);
        if (!reader.ReadUpToTag(pixelTag)) return null;
        long position = reader.GetStreamCurrentPosition();
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var filter = new gdcm.StringFilter())
        {
            filter.SetFile(reader.GetFile());
            var ds = reader.GetFile().GetDataSet();
            foreach (var (name, g, e) in MetadataTags.Concat(NativeTags))
            {
                if (g == 0x0002) continue;
                using var tag = new gdcm.Tag(g, e);
                if (!ds.FindDataElement(tag)) continue;
                var value = TrimValue(filter.ToString(tag));
                if (value.Length > 0) tags[name] = value;
            }
        }
        tags["TransferSyntaxUID"] = transferSyntax;
        int Int(string key, int fallback) => tags.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : fallback;
        int rows = Int("Rows", 0), cols = Int("Columns", 0), bits = Int("BitsAllocated", 0), stored = Int("BitsStored", bits);
        int signed = Int("PixelRepresentation", 0), samples = Int("SamplesPerPixel", 1), frames = Int("NumberOfFrames", 1);
        var pi = tags.GetValueOrDefault("PhotometricInterpretation", "");
        var ipp = Numbers(tags.GetValueOrDefault("ImagePositionPatient"));
        var iop = Numbers(tags.GetValueOrDefault("ImageOrientationPatient"));
        var ps = Numbers(tags.GetValueOrDefault("PixelSpacing"));
        if (rows <= 0 || cols <= 0 || samples != 1 || frames != 1 || bits is not (8 or 16) || (signed == 1 && stored != bits)
            || pi is not ("MONOCHROME1" or "MONOCHROME2") || ipp is not { Length: 3 } || iop is not { Length: 6 } || ps is not { Length: 2 })
            return null;
        // The pixel data element header: tag, then (explicit VR) 'OW'/'OB' + 2 reserved bytes, then a 32-bit length.
        Span<byte> head = stackalloc byte[12];
        using (var fs = File.OpenHandle(path))
            if (RandomAccess.Read(fs, head, position) < 12) return null;
        if (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head) != 0x00107FE0) return null;
        bool explicitVr = transferSyntax == ExplicitLittle;
        uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head[(explicitVr ? 8 : 4)..]);
        var type = bits == 8 ? (signed == 1 ? VoxelType.Int8 : VoxelType.UInt8) : (signed == 1 ? VoxelType.Int16 : VoxelType.UInt16);
        long expected = (long)rows * cols * type.Size();
        if (length < expected || length == 0xFFFFFFFF) return null;
        double slope = Numbers(tags.GetValueOrDefault("RescaleSlope"))?.FirstOrDefault() ?? 1, intercept = Numbers(tags.GetValueOrDefault("RescaleIntercept"))?.FirstOrDefault() ?? 0;
        if (slope == 0 || !double.IsFinite(slope)) slope = 1;
        if (!double.IsFinite(intercept)) intercept = 0;
        double thickness = Numbers(tags.GetValueOrDefault("SpacingBetweenSlices"))?.FirstOrDefault() ?? Numbers(tags.GetValueOrDefault("SliceThickness"))?.FirstOrDefault() ?? 1;
        return new DicomSlice
        {
            Path = path, Columns = cols, Rows = rows, Frames = 1, Type = type, Photometric = pi, Slope = slope, Intercept = intercept,
            Origin = ipp, Cosines = iop, Spacing = [ps[1], ps[0], thickness > 0 ? thickness : 1], HasPosition = true, Tags = tags,
            PixelOffset = position + (explicitVr ? 12 : 8),
        };
    }

    private static readonly (string Name, ushort Group, ushort Element)[] NativeTags =
    [
        ("Rows", 0x0028, 0x0010), ("Columns", 0x0028, 0x0011), ("BitsAllocated", 0x0028, 0x0100), ("BitsStored", 0x0028, 0x0101),
        ("PixelRepresentation", 0x0028, 0x0103), ("SamplesPerPixel", 0x0028, 0x0002), ("NumberOfFrames", 0x0028, 0x0008),
        ("RescaleSlope", 0x0028, 0x1053), ("RescaleIntercept", 0x0028, 0x1052),
    ];

    /// <summary>
    /// GDCM turns explicit-VR big-endian 32/64-bit samples into little-endian 16-bit words but leaves the
    /// words in big-endian order (seen with pydicom's rtdose_expb.dcm); reversing the words fixes it.
    /// </summary>
    private static void FixBigEndianWords(byte[] data, int size)
    {
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(data.AsSpan());
        int per = size / 2;
        for (int i = 0; i + per <= words.Length; i += per) words.Slice(i, per).Reverse();
    }

    /// <summary>Colour samples (interleaved, or planar per frame) to one plane per channel over the whole volume.</summary>
    private static byte[] ToChannelLast(byte[] src, int pixelsPerFrame, int frames, int size, bool planarPerFrame)
    {
        var r = new byte[src.Length];
        long total = (long)pixelsPerFrame * frames;
        for (int f = 0; f < frames; f++)
            for (int i = 0; i < pixelsPerFrame; i++)
                for (int c = 0; c < 3; c++)
                {
                    long from = planarPerFrame ? (long)f * pixelsPerFrame * 3 + (long)c * pixelsPerFrame + i : ((long)f * pixelsPerFrame + i) * 3 + c;
                    long to = c * total + (long)f * pixelsPerFrame + i;
                    Buffer.BlockCopy(src, (int)(from * size), r, (int)(to * size), size);
                }
        return r;
    }

    private static string TrimValue(string? s) => (s ?? "").Trim('\0', ' ');

    public static double[]? Numbers(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        var parts = s.Split('\\', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var r = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out r[i])) return null;
        return r;
    }
}
