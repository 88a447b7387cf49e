using System.Buffers.Binary;
using System.Text;

namespace MlNetMedical.Imaging.Dicom;

/// <summary>
/// The messages between <see cref="DicomDecoderPool"/> and the decoder process (src/MlNetMedical.Imaging.DicomDecoder,
/// which compiles this file too). Every message is a 32-bit little-endian length followed by that many bytes; a
/// response's pixel bytes follow it as a 64-bit length and the bytes. The decoder starts by writing
/// <see cref="Hello"/> and <see cref="Version"/>; it exits when its standard input ends.
/// </summary>
internal static class DicomDecoderProtocol
{
    public const uint Hello = 0x444E4C4D; // "MLND"
    public const int Version = 1;
    /// <summary>Largest request or response header either side accepts (the tags are short strings).</summary>
    public const int MaxMessageBytes = 1 << 20;

    [Flags]
    public enum RequestFlags
    {
        None = 0,
        /// <summary>Decode the pixels (otherwise the header fields only).</summary>
        Decode = 1,
        /// <summary>Uncompressed little-endian CT may be returned as a pixel offset into the file (series folders).</summary>
        AllowNative = 2,
        /// <summary>Report the decoder's peak memory growth during the request (tests; a few /proc reads).</summary>
        Measure = 4,
        /// <summary>Test hook: the decoder calls Environment.FailFast, as a GDCM abort would end it.</summary>
        TestCrash = 0x100,
        /// <summary>Test hook: the decoder never answers, as a GDCM hang would.</summary>
        TestHang = 0x200,
    }

    public sealed record Request(string Path, RequestFlags Flags, long MaxVoxels, long MaxBytes, string? SopClass, string? TransferSyntax);

    /// <summary>A decoded slice as GDCM describes it; <see cref="Error"/> set means the file was rejected with that message.</summary>
    public sealed class Response
    {
        public string? Error { get; set; }
        public int Columns { get; set; }
        public int Rows { get; set; }
        public int Frames { get; set; }
        public int Samples { get; set; }
        /// <summary>GDCM's scalar type name (UINT8, INT16, UINT12, FLOAT32, SINGLEBIT...); SINGLEBIT pixels arrive one byte per voxel.</summary>
        public string Scalar { get; set; } = "";
        public string Photometric { get; set; } = "";
        public bool Planar { get; set; }
        public double Slope { get; set; } = 1;
        public double Intercept { get; set; }
        public double[] Origin { get; set; } = new double[3];
        public double[] Cosines { get; set; } = [1, 0, 0, 0, 1, 0];
        public double[] Spacing { get; set; } = [1, 1, 1];
        public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);
        /// <summary>Native slices: where the raw pixels start in the file (no pixels sent); otherwise -1.</summary>
        public long PixelOffset { get; set; } = -1;
        /// <summary>With <see cref="RequestFlags.Measure"/>: growth of the decoder's resident memory during the request, else -1.</summary>
        public long PeakGrowth { get; set; } = -1;
        /// <summary>The decoded size the decoder checked against the limits before letting GDCM decompress (0 if it did not decode).</summary>
        public long CheckedBytes { get; set; }
    }

    public static byte[] Encode(Request r)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(0); // length, filled in below
            w.Write((int)r.Flags);
            w.Write(r.MaxVoxels);
            w.Write(r.MaxBytes);
            w.Write(r.Path);
            w.Write(r.SopClass ?? "");
            w.Write(r.TransferSyntax ?? "");
        }
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    public static Request DecodeRequest(byte[] body)
    {
        using var r = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        var flags = (RequestFlags)r.ReadInt32();
        long maxVoxels = r.ReadInt64(), maxBytes = r.ReadInt64();
        var path = r.ReadString();
        var sop = r.ReadString();
        var ts = r.ReadString();
        return new Request(path, flags, maxVoxels, maxBytes, sop.Length == 0 ? null : sop, ts.Length == 0 ? null : ts);
    }

    /// <summary>The response header (everything but the pixels), length-prefixed.</summary>
    public static byte[] Encode(Response r)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(0);
            w.Write(r.Error != null);
            if (r.Error != null) w.Write(r.Error);
            else
            {
                w.Write(r.Columns); w.Write(r.Rows); w.Write(r.Frames); w.Write(r.Samples);
                w.Write(r.Scalar); w.Write(r.Photometric); w.Write(r.Planar);
                w.Write(r.Slope); w.Write(r.Intercept);
                foreach (var x in r.Origin) w.Write(x);
                foreach (var x in r.Cosines) w.Write(x);
                foreach (var x in r.Spacing) w.Write(x);
                w.Write(r.Tags.Count);
                foreach (var (k, v) in r.Tags) { w.Write(k); w.Write(v); }
                w.Write(r.PixelOffset);
                w.Write(r.CheckedBytes);
            }
            w.Write(r.PeakGrowth);
        }
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    public static Response DecodeResponse(byte[] body)
    {
        using var r = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        var response = new Response();
        if (r.ReadBoolean()) response.Error = r.ReadString();
        else
        {
            response.Columns = r.ReadInt32(); response.Rows = r.ReadInt32(); response.Frames = r.ReadInt32(); response.Samples = r.ReadInt32();
            response.Scalar = r.ReadString(); response.Photometric = r.ReadString(); response.Planar = r.ReadBoolean();
            response.Slope = r.ReadDouble(); response.Intercept = r.ReadDouble();
            for (int i = 0; i < 3; i++) response.Origin[i] = r.ReadDouble();
            for (int i = 0; i < 6; i++) response.Cosines[i] = r.ReadDouble();
            for (int i = 0; i < 3; i++) response.Spacing[i] = r.ReadDouble();
            int n = r.ReadInt32();
            if (n < 0 || n > 1000) throw new InvalidDataException($"{n} tags");
            for (int i = 0; i < n; i++) response.Tags[r.ReadString()] = r.ReadString();
            response.PixelOffset = r.ReadInt64();
            response.CheckedBytes = r.ReadInt64();
        }
        response.PeakGrowth = r.ReadInt64();
        return response;
    }

    /// <summary>Reads one length-prefixed message; null at a clean end of stream before its first byte.</summary>
    public static byte[]? ReadMessage(Stream s)
    {
        Span<byte> prefix = stackalloc byte[4];
        int got = s.ReadAtLeast(prefix, 4, throwOnEndOfStream: false);
        if (got == 0) return null;
        if (got < 4) throw new EndOfStreamException();
        int length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length < 0 || length > MaxMessageBytes) throw new InvalidDataException($"message of {length} bytes");
        var body = new byte[length];
        s.ReadExactly(body);
        return body;
    }
}
