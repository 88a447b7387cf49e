using System.Buffers.Binary;
using System.IO.Compression;

namespace MlNetMedical.Imaging.Tests;

/// <summary>
/// Writes PNG files byte by byte for tests: any IHDR (including lying ones), raw or Adam7 scanlines, and chunk
/// CRCs recomputed after a mutation. Independent of the library's writer, which only writes non-interlaced files.
/// </summary>
internal static class PngBuilder
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static byte[] Ihdr(long width, long height, int depth, int colorType, int interlace)
    {
        var b = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(b, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), (uint)height);
        b[8] = (byte)depth; b[9] = (byte)colorType; b[12] = (byte)interlace;
        return b;
    }

    /// <summary>A file from IHDR fields and an already compressed IDAT payload (plus optional PLTE).</summary>
    public static byte[] File(byte[] ihdr, byte[] idat, byte[]? palette = null)
    {
        using var ms = new MemoryStream();
        ms.Write(Signature);
        Chunk(ms, "IHDR", ihdr);
        if (palette != null) Chunk(ms, "PLTE", palette);
        Chunk(ms, "IDAT", idat);
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    public static void Chunk(Stream s, string type, byte[] body)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, body.Length);
        System.Text.Encoding.ASCII.GetBytes(type, head.AsSpan(4));
        s.Write(head);
        s.Write(body);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc([.. head[4..], .. body]));
        s.Write(crc);
    }

    public static byte[] Zlib(byte[] raw, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, level, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    /// <summary>Zlib of <paramref name="count"/> zero bytes, written in pieces (a small file that inflates to a lot).</summary>
    public static byte[] ZlibZeros(long count)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (long left = count; left > 0; left -= zeros.Length) z.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
        }
        return ms.ToArray();
    }

    /// <summary>
    /// Scanlines (filter byte 0) of 8-bit samples <paramref name="samples"/> (row-major, <paramref name="channels"/>
    /// per pixel), non-interlaced or in Adam7's seven passes.
    /// </summary>
    public static byte[] Scanlines(byte[] samples, int width, int height, int channels, bool adam7)
    {
        using var ms = new MemoryStream();
        if (!adam7) { AddPass(ms, samples, width, channels, 0, 0, 1, 1, width, height); return ms.ToArray(); }
        int[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1], dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        for (int p = 0; p < 7; p++)
        {
            int pw = (width - x0[p] + dx[p] - 1) / dx[p], ph = (height - y0[p] + dy[p] - 1) / dy[p];
            if (pw > 0 && ph > 0) AddPass(ms, samples, width, channels, x0[p], y0[p], dx[p], dy[p], pw, ph);
        }
        return ms.ToArray();
    }

    private static void AddPass(MemoryStream ms, byte[] samples, int width, int channels, int x0, int y0, int dx, int dy, int pw, int ph)
    {
        for (int y = 0; y < ph; y++)
        {
            ms.WriteByte(0);
            for (int x = 0; x < pw; x++)
                ms.Write(samples, ((y0 + y * dy) * width + x0 + x * dx) * channels, channels);
        }
    }

    /// <summary>Recomputes the CRC of every whole chunk, so a mutation reaches the decoder instead of the CRC check.</summary>
    public static byte[] FixCrcs(byte[] file)
    {
        var b = (byte[])file.Clone();
        long pos = 8;
        while (pos + 12 <= b.Length)
        {
            uint len = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan((int)pos));
            if (pos + 12 + len > b.Length) break;
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan((int)(pos + 8 + len)), Crc(b.AsSpan((int)pos + 4, 4 + (int)len)));
            pos += 12 + len;
        }
        return b;
    }

    /// <summary>The concatenated IDAT payload of a file, and the IHDR body.</summary>
    public static (byte[] Ihdr, byte[] Idat, byte[]? Palette) Parse(byte[] file)
    {
        byte[]? ihdr = null, palette = null;
        using var idat = new MemoryStream();
        int pos = 8;
        while (pos + 12 <= file.Length)
        {
            int len = (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos));
            var type = System.Text.Encoding.ASCII.GetString(file, pos + 4, 4);
            var body = file.AsSpan(pos + 8, len);
            if (type == "IHDR") ihdr = body.ToArray();
            else if (type == "PLTE") palette = body.ToArray();
            else if (type == "IDAT") idat.Write(body);
            pos += 12 + len;
        }
        return (ihdr!, idat.ToArray(), palette);
    }

    public static byte[] Inflate(byte[] zlib)
    {
        using var z = new ZLibStream(new MemoryStream(zlib), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        z.CopyTo(ms);
        return ms.ToArray();
    }

    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Crc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var x in data) c = Table[(c ^ x) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
