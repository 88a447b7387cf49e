namespace MlNetMedical.Imaging.Dicom;

/// <summary>One DICOM file read through GDCM (in a decoder process): its geometry, identifiers and decoded pixels.</summary>
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
    /// <summary>For native-pixel slices (uncompressed CT in series folders): where the raw pixel bytes start in the file.</summary>
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

    /// <summary>
    /// Reads and decodes one file in a decoder process (<see cref="DicomDecoderPool"/>); <paramref name="decode"/> false
    /// stops after the header fields. <paramref name="allowNative"/> lets uncompressed CT slices take the direct-read path
    /// (series folders): the decoder parses the header and the pixels are read from the file here. The decoded size
    /// (columns x rows x frames) must stay within <paramref name="maxVoxels"/> and <see cref="ImageLimits.MaxBytes"/>;
    /// the decoder checks it before GDCM decompresses anything, and it is checked again here.
    /// </summary>
    public static DicomSlice Read(string path, bool decode = true, bool allowNative = false, long maxVoxels = ImageLimits.DefaultMaxVoxels)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': file not found", path);
        var (sopClass, transferSyntax) = DicomPreflight.Check(path);
        var flags = (decode ? DicomDecoderProtocol.RequestFlags.Decode : 0) | (allowNative ? DicomDecoderProtocol.RequestFlags.AllowNative : 0);
        var request = new DicomDecoderProtocol.Request(System.IO.Path.GetFullPath(path), flags, maxVoxels, ImageLimits.MaxBytes, sopClass, transferSyntax);
        var (r, pixels) = DicomDecoderPool.Decode(request, path);
        if (r.Error != null) throw new ImageFormatException(path, r.Error);
        return FromResponse(path, r, pixels, decode, maxVoxels);
    }

    /// <summary>Checks what the decoder reported (it is not trusted further than the limits) and turns it into a slice.</summary>
    private static DicomSlice FromResponse(string path, DicomDecoderProtocol.Response r, byte[]? pixels, bool decode, long maxVoxels)
    {
        int samples = r.Samples;
        VoxelType type = r.Scalar switch
        {
            "UINT8" => samples == 3 ? VoxelType.Rgb24 : VoxelType.UInt8,
            "SINGLEBIT" => VoxelType.UInt8,
            "INT8" => VoxelType.Int8,
            "UINT12" or "UINT16" => VoxelType.UInt16,
            "INT12" or "INT16" => VoxelType.Int16,
            "UINT32" => VoxelType.UInt32,
            "INT32" => VoxelType.Int32,
            "UINT64" => VoxelType.UInt64,
            "INT64" => VoxelType.Int64,
            "FLOAT32" => VoxelType.Float32,
            "FLOAT64" => VoxelType.Float64,
            var other => throw new ImageFormatException(path, $"pixel format {other} is not supported"),
        };
        if (samples != 1 && samples != 3) throw new ImageFormatException(path, $"{samples} samples per pixel are not supported (grey or RGB)");
        // 8-bit colour is rgb24; wider colour samples become a trailing planar axis of 3.
        int channels = samples == 3 && type != VoxelType.Rgb24 ? 3 : 1;
        int cols = r.Columns, rows = r.Rows, frames = r.Frames;
        var (_, bytes) = ImageLimits.Check(path, channels == 1 ? [cols, rows, frames] : [cols, rows, frames, channels], type.Size(), maxVoxels, "image size");
        if (decode && r.PixelOffset < 0 && (pixels?.LongLength ?? 0) != bytes)
            throw new ImageFormatException(path, $"the decoder returned {pixels?.LongLength ?? 0} pixel bytes, {cols}x{rows}x{frames} of {type.Name()} need {bytes}");
        if (r.PixelOffset >= 0 && r.PixelOffset + bytes > new FileInfo(path).Length)
            throw new ImageFormatException(path, $"truncated: pixel data needs {bytes} bytes at offset {r.PixelOffset}, the file has {new FileInfo(path).Length}");
        var data = pixels ?? [];
        if (decode && r.PixelOffset < 0)
        {
            if (r.Tags.GetValueOrDefault("TransferSyntaxUID") == "1.2.840.10008.1.2.2" && type.ComponentSize() >= 4)
                FixBigEndianWords(data, type.ComponentSize());
            if (samples == 3)
            {
                if (type == VoxelType.Rgb24 && r.Planar) data = Interleave(data, cols * rows, frames);
                else if (channels == 3) data = ToChannelLast(data, cols * rows, frames, type.Size(), r.Planar);
            }
        }
        return new DicomSlice
        {
            Path = path, Columns = cols, Rows = rows, Frames = frames, Channels = channels, Type = type, Photometric = r.Photometric,
            Slope = r.Slope, Intercept = r.Intercept, Origin = r.Origin, Cosines = r.Cosines, Spacing = r.Spacing,
            HasPosition = r.Tags.ContainsKey("ImagePositionPatient"), Tags = r.Tags, Pixels = data, PixelOffset = r.PixelOffset,
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
}
