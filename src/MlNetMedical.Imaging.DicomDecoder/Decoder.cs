using System.Globalization;
using static MlNetMedical.Imaging.Dicom.DicomDecoderProtocol;

namespace MlNetMedical.Imaging.DicomDecoder;

/// <summary>
/// One request: GDCM reads the file, the decoded size implied by the header is checked against the limits, and only
/// then are the pixels decompressed. Errors come back as messages (the parent names the file).
/// </summary>
internal static class Decoder
{
    private const string CtImageStorage = "1.2.840.10008.5.1.4.1.1.2", ExplicitLittle = "1.2.840.10008.1.2.1", ImplicitLittle = "1.2.840.10008.1.2";

    /// <summary>Storage classes that are single-frame by definition (CT, MR, CR, DX, MG, PET, secondary capture, US image).</summary>
    private static readonly HashSet<string> SingleFrameClasses =
    [
        "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1",
        "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.128",
        "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.6.1",
    ];

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

    private static readonly (string Name, ushort Group, ushort Element)[] NativeTags =
    [
        ("Rows", 0x0028, 0x0010), ("Columns", 0x0028, 0x0011), ("BitsAllocated", 0x0028, 0x0100), ("BitsStored", 0x0028, 0x0101),
        ("PixelRepresentation", 0x0028, 0x0103), ("SamplesPerPixel", 0x0028, 0x0002), ("NumberOfFrames", 0x0028, 0x0008),
        ("RescaleSlope", 0x0028, 0x1053), ("RescaleIntercept", 0x0028, 0x1052),
    ];

    private static Response Fail(string message) => new() { Error = message };

    public static (Response, byte[]?) Decode(Request request, Action<long> beforeDecompress)
    {
        var path = request.Path;
        var sopClass = request.SopClass;
        bool decode = request.Flags.HasFlag(RequestFlags.Decode);
        // Multi-frame objects that point at frames (FrameIncrementPointer) but lack NumberOfFrames abort GDCM's image
        // reader: refused here with a clear message (the abort would be contained, but say why).
        if (sopClass == null || !SingleFrameClasses.Contains(sopClass))
        {
            using var reader = new gdcm.Reader();
            reader.SetFileName(path);
            using var pixelData = new gdcm.Tag(0x7FE0, 0x0010);
            if (!reader.ReadUpToTag(pixelData)) return (Fail("GDCM cannot parse the DICOM header"), null);
            var ds = reader.GetFile().GetDataSet();
            using var frameIncrement = new gdcm.Tag(0x0028, 0x0009);
            using var frames = new gdcm.Tag(0x0028, 0x0008);
            if (ds.FindDataElement(frameIncrement) && !ds.FindDataElement(frames))
                return (Fail("FrameIncrementPointer (0028,0009) is present but NumberOfFrames (0028,0008) is missing"), null);
        }
        if (decode && request.Flags.HasFlag(RequestFlags.AllowNative) && sopClass == CtImageStorage
            && request.TransferSyntax is ExplicitLittle or ImplicitLittle && ReadNative(path, request.TransferSyntax) is { } native)
            return (native, null);
        return ReadImage(request, decode, beforeDecompress);
    }

    private static (Response, byte[]?) ReadImage(Request request, bool decode, Action<long> beforeDecompress)
    {
        var path = request.Path;
        using var reader = new gdcm.ImageReader();
        reader.SetFileName(path);
        if (!reader.Read()) return (Fail("GDCM cannot read it as a DICOM image (not DICOM, no pixel data, or corrupt)"), null);
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
                var value = g == 0x0002 ? TrimValue(header.GetDataElement(tag).GetValue().toString()) : TrimValue(filter.ToString(tag));
                if (value.Length > 0) tags[name] = value;
            }
        }
        var pf = image.GetPixelFormat();
        int samples = pf.GetSamplesPerPixel();
        uint dims = image.GetNumberOfDimensions();
        long cols = image.GetDimension(0), rows = image.GetDimension(1), frames = dims > 2 ? image.GetDimension(2) : 1;
        var pi = image.GetPhotometricInterpretation().GetString()?.Trim() ?? "";
        var scalar = pf.GetScalarType();
        int size = scalar switch
        {
            gdcm.PixelFormat.ScalarType.UINT8 or gdcm.PixelFormat.ScalarType.INT8 or gdcm.PixelFormat.ScalarType.SINGLEBIT => 1,
            gdcm.PixelFormat.ScalarType.UINT12 or gdcm.PixelFormat.ScalarType.INT12 or gdcm.PixelFormat.ScalarType.UINT16 or gdcm.PixelFormat.ScalarType.INT16 => 2,
            gdcm.PixelFormat.ScalarType.UINT32 or gdcm.PixelFormat.ScalarType.INT32 or gdcm.PixelFormat.ScalarType.FLOAT32 => 4,
            gdcm.PixelFormat.ScalarType.UINT64 or gdcm.PixelFormat.ScalarType.INT64 or gdcm.PixelFormat.ScalarType.FLOAT64 => 8,
            _ => 0,
        };
        if (size == 0) return (Fail($"pixel format {scalar} is not supported"), null);
        if (samples != 1 && samples != 3) return (Fail($"{samples} samples per pixel are not supported (grey or RGB)"), null);
        if (cols <= 0 || rows <= 0 || frames <= 0 || cols > int.MaxValue || rows > int.MaxValue || frames > int.MaxValue)
            return (Fail($"image size {cols}x{rows}x{frames} is empty or invalid"), null);

        var response = new Response
        {
            Columns = (int)cols, Rows = (int)rows, Frames = (int)frames, Samples = samples, Scalar = scalar.ToString(), Photometric = pi,
            Planar = samples == 3 && image.GetPlanarConfiguration() == 1, Tags = tags,
        };
        for (uint i = 0; i < 3; i++) { response.Origin[i] = image.GetOrigin(i); response.Spacing[i] = image.GetSpacing(i); }
        for (uint i = 0; i < 6; i++) response.Cosines[i] = image.GetDirectionCosines(i);
        double slope = image.GetSlope(), intercept = image.GetIntercept();
        response.Slope = slope == 0 || !double.IsFinite(slope) ? 1 : slope;
        response.Intercept = double.IsFinite(intercept) ? intercept : 0;
        if (!decode) return (response, null);

        // The size check comes before GDCM decompresses anything: the header's dims decide what GetBuffer allocates.
        long voxels = cols * rows * frames; // each factor < 2^31 and in practice < 2^16, but check the product exactly
        decimal exactVoxels = (decimal)cols * rows * frames;
        if (exactVoxels > request.MaxVoxels)
            return (Fail($"image size {cols}x{rows}x{frames} holds {exactVoxels} voxels, more than the limit of {request.MaxVoxels} voxels (ReadOptions.MaxVoxels)"), null);
        long expected = voxels * samples * size;
        long length = image.GetBufferLength();
        if (expected > request.MaxBytes || length > request.MaxBytes || length < 0)
            return (Fail($"image size {cols}x{rows}x{frames} of {samples} x {size}-byte samples needs {Math.Max(expected, length)} bytes decoded, more than the limit of {request.MaxBytes} bytes"), null);
        // Uncompressed pixel data must be in the file: a lying header cannot buy an allocation larger than the data present.
        if (tags.GetValueOrDefault("TransferSyntaxUID") is "1.2.840.10008.1.2" or ExplicitLittle or "1.2.840.10008.1.2.2")
        {
            int storedSamples = samples == 3 && pi.Contains("422", StringComparison.Ordinal) ? 2 : samples; // YBR_*_422: chroma halved
            long stored = (voxels * storedSamples * pf.GetBitsAllocated() + 7) / 8, fileLength = new FileInfo(path).Length;
            if (stored > fileLength)
                return (Fail($"truncated: {cols}x{rows}x{frames} uncompressed pixels need {stored} bytes, the file has {fileLength}"), null);
        }
        beforeDecompress(Math.Max(expected, length));
        var buffer = GC.AllocateUninitializedArray<byte>((int)length);
        if (!image.GetBuffer(buffer))
            return (Fail($"GDCM could not decode the pixel data (transfer syntax {tags.GetValueOrDefault("TransferSyntaxUID", "unknown")})"), null);
        byte[] pixels;
        if (scalar == gdcm.PixelFormat.ScalarType.SINGLEBIT)
        {
            pixels = new byte[expected];
            for (long i = 0; i < expected && (i >> 3) < buffer.Length; i++) pixels[i] = (byte)((buffer[i >> 3] >> (int)(i & 7)) & 1);
        }
        else if (length < expected)
            return (Fail($"decoded pixel data has {length} bytes, {cols}x{rows}x{frames} of {samples} x {size}-byte samples need {expected}"), null);
        else pixels = buffer;
        response.CheckedBytes = expected;
        return (response, pixels);
    }

    /// <summary>
    /// Fast path for the commonest series: uncompressed little-endian single-frame CT. GDCM parses the header (up to the
    /// pixel data) and the parent reads the raw pixels straight from the file into the volume. Anything unusual (colour,
    /// frames, odd lengths, packed bits) returns null and goes through GDCM's image reader instead.
    /// </summary>
    private static Response? ReadNative(string path, string transferSyntax)
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
        long expected = (long)rows * cols * (bits / 8);
        if (length < expected || length == 0xFFFFFFFF) return null;
        double slope = Numbers(tags.GetValueOrDefault("RescaleSlope"))?.FirstOrDefault() ?? 1, intercept = Numbers(tags.GetValueOrDefault("RescaleIntercept"))?.FirstOrDefault() ?? 0;
        double thickness = Numbers(tags.GetValueOrDefault("SpacingBetweenSlices"))?.FirstOrDefault() ?? Numbers(tags.GetValueOrDefault("SliceThickness"))?.FirstOrDefault() ?? 1;
        return new Response
        {
            Columns = cols, Rows = rows, Frames = 1, Samples = 1,
            Scalar = bits == 8 ? (signed == 1 ? "INT8" : "UINT8") : (signed == 1 ? "INT16" : "UINT16"),
            Photometric = pi, Slope = slope == 0 || !double.IsFinite(slope) ? 1 : slope, Intercept = double.IsFinite(intercept) ? intercept : 0,
            Origin = ipp, Cosines = iop, Spacing = [ps[1], ps[0], thickness > 0 ? thickness : 1], Tags = tags,
            PixelOffset = position + (explicitVr ? 12 : 8),
        };
    }

    private static string TrimValue(string? s) => (s ?? "").Trim('\0', ' ');

    private static double[]? Numbers(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        var parts = s.Split('\\', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var r = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out r[i])) return null;
        return r;
    }
}
