using System.Buffers.Binary;
using System.Text;

namespace MlNetMedical.Imaging.Formats;

/// <summary>The fields of a NIfTI-1 (348-byte) or NIfTI-2 (540-byte) header, widened to one shape.</summary>
public sealed class NiftiHeader
{
    public const int Nifti1Size = 348, Nifti2Size = 540;

    public int Version { get; set; } = 1;
    public bool BigEndian { get; set; }
    /// <summary>"n+1"/"n+2" (data after the header) or "ni1"/"ni2" (separate .img).</summary>
    public bool SingleFile { get; set; } = true;
    public long[] Dim { get; } = new long[8];
    public short DataTypeCode { get; set; }
    public short BitPix { get; set; }
    public double[] PixDim { get; } = new double[8];
    public long VoxOffset { get; set; }
    public double SclSlope { get; set; }
    public double SclInter { get; set; }
    public int QformCode { get; set; }
    public int SformCode { get; set; }
    public double QuaternB { get; set; }
    public double QuaternC { get; set; }
    public double QuaternD { get; set; }
    public double[] QOffset { get; } = new double[3];
    /// <summary>srow_x, srow_y, srow_z: rows of the sform.</summary>
    public double[] SRow { get; } = new double[12];
    public int XyztUnits { get; set; }
    public int IntentCode { get; set; }
    public string Description { get; set; } = "";

    public int HeaderSize => Version == 1 ? Nifti1Size : Nifti2Size;

    /// <summary>Dimensions dim[1..dim[0]].</summary>
    public long[] Shape => Dim.AsSpan(1, (int)Dim[0]).ToArray();

    /// <summary>
    /// Reads sizeof_hdr from the first four bytes: the version and byte order, or null when it is
    /// neither 348 nor 540 in either byte order.
    /// </summary>
    public static (int Version, bool BigEndian)? Probe(ReadOnlySpan<byte> first4)
    {
        int le = BinaryPrimitives.ReadInt32LittleEndian(first4), be = BinaryPrimitives.ReadInt32BigEndian(first4);
        if (le == Nifti1Size) return (1, false);
        if (be == Nifti1Size) return (1, true);
        if (le == Nifti2Size) return (2, false);
        if (be == Nifti2Size) return (2, true);
        return null;
    }

    /// <summary>Parses a whole header block; <paramref name="path"/> names the file in errors.</summary>
    public static NiftiHeader Parse(ReadOnlySpan<byte> b, string path)
    {
        var probe = Probe(b) ?? throw new ImageFormatException(path,
            $"not a NIfTI file: sizeof_hdr is {BinaryPrimitives.ReadInt32LittleEndian(b)}, expected 348 (NIfTI-1) or 540 (NIfTI-2)");
        var h = new NiftiHeader { Version = probe.Version, BigEndian = probe.BigEndian };
        if (b.Length < h.HeaderSize)
            throw new ImageFormatException(path, $"truncated header: {b.Length} bytes, NIfTI-{h.Version} needs {h.HeaderSize}");
        var r = new Reader(b, h.BigEndian);
        if (h.Version == 1)
        {
            var magic = b.Slice(344, 4);
            if (magic.SequenceEqual("n+1\0"u8)) h.SingleFile = true;
            else if (magic.SequenceEqual("ni1\0"u8)) h.SingleFile = false;
            else throw new ImageFormatException(path, $"wrong magic '{Printable(magic)}': expected 'n+1' or 'ni1' (Analyze 7.5 headers without NIfTI magic are not supported)");
            for (int i = 0; i < 8; i++) h.Dim[i] = r.I16(40 + 2 * i);
            h.IntentCode = r.I16(68);
            h.DataTypeCode = r.I16(70);
            h.BitPix = r.I16(72);
            for (int i = 0; i < 8; i++) h.PixDim[i] = r.F32(76 + 4 * i);
            h.VoxOffset = (long)Math.Floor(SafeFloat(r.F32(108)));
            h.SclSlope = r.F32(112);
            h.SclInter = r.F32(116);
            h.XyztUnits = b[123];
            h.Description = Text(b.Slice(148, 80));
            h.QformCode = r.I16(252);
            h.SformCode = r.I16(254);
            h.QuaternB = r.F32(256); h.QuaternC = r.F32(260); h.QuaternD = r.F32(264);
            for (int i = 0; i < 3; i++) h.QOffset[i] = r.F32(268 + 4 * i);
            for (int i = 0; i < 12; i++) h.SRow[i] = r.F32(280 + 4 * i);
        }
        else
        {
            var magic = b.Slice(4, 8);
            if (magic.SequenceEqual("n+2\0\r\n\x1a\n"u8)) h.SingleFile = true;
            else if (magic.SequenceEqual("ni2\0\r\n\x1a\n"u8)) h.SingleFile = false;
            else throw new ImageFormatException(path, $"wrong magic '{Printable(magic)}': expected 'n+2' or 'ni2' followed by \\r\\n\\x1a\\n");
            h.DataTypeCode = r.I16(12);
            h.BitPix = r.I16(14);
            for (int i = 0; i < 8; i++) h.Dim[i] = r.I64(16 + 8 * i);
            for (int i = 0; i < 8; i++) h.PixDim[i] = r.F64(104 + 8 * i);
            h.VoxOffset = r.I64(168);
            h.SclSlope = r.F64(176);
            h.SclInter = r.F64(184);
            h.Description = Text(b.Slice(240, 80));
            h.QformCode = r.I32(344);
            h.SformCode = r.I32(348);
            h.QuaternB = r.F64(352); h.QuaternC = r.F64(360); h.QuaternD = r.F64(368);
            for (int i = 0; i < 3; i++) h.QOffset[i] = r.F64(376 + 8 * i);
            for (int i = 0; i < 12; i++) h.SRow[i] = r.F64(400 + 8 * i);
            h.XyztUnits = r.I32(500);
            h.IntentCode = r.I32(504);
        }
        if (h.Dim[0] < 1 || h.Dim[0] > 7)
            throw new ImageFormatException(path, $"dim[0] = {h.Dim[0]} is not a rank between 1 and 7");
        for (int i = 1; i <= h.Dim[0]; i++)
            if (h.Dim[i] < 1 || h.Dim[i] > int.MaxValue)
                throw new ImageFormatException(path, $"dim[{i}] = {h.Dim[i]} is not a positive size");
        return h;
    }

    /// <summary>Serializes little-endian.</summary>
    public byte[] ToBytes()
    {
        var b = new byte[HeaderSize];
        var w = new Writer(b);
        if (Version == 1)
        {
            w.I32(0, Nifti1Size);
            b[38] = (byte)'r';
            for (int i = 0; i < 8; i++) w.I16(40 + 2 * i, checked((short)Dim[i]));
            w.I16(68, (short)IntentCode);
            w.I16(70, DataTypeCode);
            w.I16(72, BitPix);
            for (int i = 0; i < 8; i++) w.F32(76 + 4 * i, PixDim[i]);
            w.F32(108, VoxOffset);
            w.F32(112, SclSlope);
            w.F32(116, SclInter);
            b[123] = (byte)XyztUnits;
            Encoding.ASCII.GetBytes(Truncate(Description, 79)).CopyTo(b, 148);
            w.I16(252, (short)QformCode);
            w.I16(254, (short)SformCode);
            w.F32(256, QuaternB); w.F32(260, QuaternC); w.F32(264, QuaternD);
            for (int i = 0; i < 3; i++) w.F32(268 + 4 * i, QOffset[i]);
            for (int i = 0; i < 12; i++) w.F32(280 + 4 * i, SRow[i]);
            (SingleFile ? "n+1\0"u8 : "ni1\0"u8).CopyTo(b.AsSpan(344));
        }
        else
        {
            w.I32(0, Nifti2Size);
            (SingleFile ? "n+2\0\r\n\x1a\n"u8 : "ni2\0\r\n\x1a\n"u8).CopyTo(b.AsSpan(4));
            w.I16(12, DataTypeCode);
            w.I16(14, BitPix);
            for (int i = 0; i < 8; i++) w.I64(16 + 8 * i, Dim[i]);
            for (int i = 0; i < 8; i++) w.F64(104 + 8 * i, PixDim[i]);
            w.I64(168, VoxOffset);
            w.F64(176, SclSlope);
            w.F64(184, SclInter);
            Encoding.ASCII.GetBytes(Truncate(Description, 79)).CopyTo(b, 240);
            w.I32(344, QformCode);
            w.I32(348, SformCode);
            w.F64(352, QuaternB); w.F64(360, QuaternC); w.F64(368, QuaternD);
            for (int i = 0; i < 3; i++) w.F64(376 + 8 * i, QOffset[i]);
            for (int i = 0; i < 12; i++) w.F64(400 + 8 * i, SRow[i]);
            w.I32(500, XyztUnits);
            w.I32(504, IntentCode);
        }
        return b;
    }

    private static double SafeFloat(double v) => double.IsFinite(v) ? v : 0;
    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n];

    private static string Text(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.Latin1.GetString(end < 0 ? bytes : bytes[..end]);
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (var c in bytes) sb.Append(c is >= 32 and < 127 ? (char)c : '.');
        return sb.ToString();
    }

    private readonly ref struct Reader(ReadOnlySpan<byte> b, bool big)
    {
        private readonly ReadOnlySpan<byte> b = b;
        public short I16(int o) => big ? BinaryPrimitives.ReadInt16BigEndian(b[o..]) : BinaryPrimitives.ReadInt16LittleEndian(b[o..]);
        public int I32(int o) => big ? BinaryPrimitives.ReadInt32BigEndian(b[o..]) : BinaryPrimitives.ReadInt32LittleEndian(b[o..]);
        public long I64(int o) => big ? BinaryPrimitives.ReadInt64BigEndian(b[o..]) : BinaryPrimitives.ReadInt64LittleEndian(b[o..]);
        public double F32(int o) => big ? BinaryPrimitives.ReadSingleBigEndian(b[o..]) : BinaryPrimitives.ReadSingleLittleEndian(b[o..]);
        public double F64(int o) => big ? BinaryPrimitives.ReadDoubleBigEndian(b[o..]) : BinaryPrimitives.ReadDoubleLittleEndian(b[o..]);
    }

    private readonly ref struct Writer(Span<byte> b)
    {
        private readonly Span<byte> b = b;
        public void I16(int o, short v) => BinaryPrimitives.WriteInt16LittleEndian(b[o..], v);
        public void I32(int o, int v) => BinaryPrimitives.WriteInt32LittleEndian(b[o..], v);
        public void I64(int o, long v) => BinaryPrimitives.WriteInt64LittleEndian(b[o..], v);
        public void F32(int o, double v) => BinaryPrimitives.WriteSingleLittleEndian(b[o..], (float)v);
        public void F64(int o, double v) => BinaryPrimitives.WriteDoubleLittleEndian(b[o..], v);
    }
}
