using System.Buffers.Binary;
using System.IO.Compression;

namespace MlNetMedical.Imaging.Formats;

/// <summary>
/// PNG reader and writer for 2D data. Reads grey, grey+alpha, RGB, RGBA and palette images at every
/// bit depth (alpha is dropped and noted in metadata; palettes become RGB, or grey when every entry is grey), non-interlaced or Adam7.
/// Grey gives uint8/uint16 [width, height]; 8-bit colour gives rgb24; 16-bit colour gives uint16
/// [width, height, 3]. The affine is the identity (pixel units; PNG carries no orientation).
/// </summary>
public static class Png
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static Volume Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': file not found", path);
        return Decode(File.ReadAllBytes(path), path);
    }

    public static Volume Decode(byte[] file, string path)
    {
        if (file.Length < 8 || !file.AsSpan(0, 8).SequenceEqual(Signature)) throw new ImageFormatException(path, "wrong magic: not a PNG signature");
        int pos = 8, width = 0, height = 0, depth = 0, colorType = -1, interlace = 0;
        byte[]? palette = null;
        using var idat = new MemoryStream();
        bool sawEnd = false;
        while (pos + 8 <= file.Length)
        {
            uint len = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos));
            var type = System.Text.Encoding.ASCII.GetString(file, pos + 4, 4);
            if (len > int.MaxValue || pos + 12 + (long)len > file.Length) throw new ImageFormatException(path, $"truncated: chunk {Safe(type)} of {len} bytes runs past the end of the file");
            var body = file.AsSpan(pos + 8, (int)len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos + 8 + (int)len));
            if (Crc32.Compute(file.AsSpan(pos + 4, 4 + (int)len)) != crc) throw new ImageFormatException(path, $"corrupt: CRC mismatch in chunk {Safe(type)}");
            pos += 12 + (int)len;
            switch (type)
            {
                case "IHDR":
                    if (len != 13) throw new ImageFormatException(path, "IHDR chunk is not 13 bytes");
                    width = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(body));
                    height = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(body[4..]));
                    depth = body[8]; colorType = body[9]; interlace = body[12];
                    break;
                case "PLTE": palette = body.ToArray(); break;
                case "IDAT": idat.Write(body); break;
                case "IEND": sawEnd = true; break;
            }
            if (sawEnd) break;
        }
        if (colorType < 0) throw new ImageFormatException(path, "no IHDR chunk");
        if (!sawEnd) throw new ImageFormatException(path, "truncated: no IEND chunk");
        int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => throw new ImageFormatException(path, $"invalid colour type {colorType}") };
        bool depthOk = colorType switch { 0 => depth is 1 or 2 or 4 or 8 or 16, 3 => depth is 1 or 2 or 4 or 8, _ => depth is 8 or 16 };
        if (!depthOk) throw new ImageFormatException(path, $"bit depth {depth} is invalid for colour type {colorType}");
        if (width <= 0 || height <= 0 || (long)width * height > 1L << 28) throw new ImageFormatException(path, $"image size {width}x{height} is out of range");
        if (interlace > 1) throw new ImageFormatException(path, $"unknown interlace method {interlace}");
        if (colorType == 3 && palette == null) throw new ImageFormatException(path, "palette image without a PLTE chunk");

        byte[] inflated;
        try
        {
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            using var ms = new MemoryStream();
            var chunk = new byte[1 << 16];
            long limit = (((long)width * channels * depth + 7) / 8 + 1) * height + 1;
            int n;
            while ((n = z.Read(chunk)) > 0)
            {
                ms.Write(chunk, 0, n);
                if (ms.Length > limit) break; // more than the image needs: the rest is ignored
            }
            inflated = ms.ToArray();
        }
        catch (InvalidDataException e) { throw new ImageFormatException(path, $"corrupt IDAT zlib data: {e.Message}", e); }

        int bitsPerPixel = channels * depth;
        long needed = interlace == 0 ? ((long)width * bitsPerPixel + 7) / 8 * height + height : 0;
        if (needed > inflated.LongLength)
            throw new ImageFormatException(path, $"truncated: decompressed data has {inflated.Length} bytes, a {width}x{height} image needs {needed}");
        if (interlace == 1 && (long)width * height > inflated.LongLength * 8 + 64)
            throw new ImageFormatException(path, $"truncated: decompressed data has {inflated.Length} bytes, too few for {width}x{height} pixels");
        // Samples unpacked to one ushort per channel.
        var samples = new ushort[(long)width * height * channels];
        int offset = 0;
        if (interlace == 0) offset = Unfilter(inflated, offset, width, height, bitsPerPixel, depth, channels, samples, 0, 0, 1, 1, width, path);
        else
        {
            int[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1], dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
            for (int p = 0; p < 7; p++)
            {
                int pw = (width - x0[p] + dx[p] - 1) / dx[p], ph = (height - y0[p] + dy[p] - 1) / dy[p];
                if (pw <= 0 || ph <= 0) continue;
                offset = Unfilter(inflated, offset, pw, ph, bitsPerPixel, depth, channels, samples, x0[p], y0[p], dx[p], dy[p], width, path);
            }
        }

        var v = Assemble(samples, width, height, depth, colorType, channels, palette, path);
        v.SourcePath = path;
        v.Metadata["format"] = "png";
        v.Metadata["png.bit_depth"] = depth.ToString();
        v.Metadata["png.color_type"] = colorType.ToString();
        if (colorType is 4 or 6) v.Metadata["png.alpha_dropped"] = "true";
        return v;
    }

    private static string Safe(string s) => new(s.Select(c => c is >= ' ' and < (char)127 ? c : '?').ToArray());

    private static int Unfilter(byte[] src, int offset, int w, int h, int bpp, int depth, int channels, ushort[] dst,
        int x0, int y0, int dx, int dy, int fullWidth, string path)
    {
        int stride = (w * bpp + 7) / 8, bytesPerPixel = Math.Max(1, bpp / 8);
        if ((long)offset + (long)(stride + 1) * h > src.Length)
            throw new ImageFormatException(path, $"truncated: decompressed data has {src.Length} bytes, the {fullWidth}-wide image needs more");
        var prev = new byte[stride];
        var cur = new byte[stride];
        for (int y = 0; y < h; y++)
        {
            int filter = src[offset++];
            Array.Copy(src, offset, cur, 0, stride);
            offset += stride;
            switch (filter)
            {
                case 0: break;
                case 1: for (int i = bytesPerPixel; i < stride; i++) cur[i] += cur[i - bytesPerPixel]; break;
                case 2: for (int i = 0; i < stride; i++) cur[i] += prev[i]; break;
                case 3: for (int i = 0; i < stride; i++) cur[i] += (byte)(((i >= bytesPerPixel ? cur[i - bytesPerPixel] : 0) + prev[i]) >> 1); break;
                case 4:
                    for (int i = 0; i < stride; i++)
                    {
                        int a = i >= bytesPerPixel ? cur[i - bytesPerPixel] : 0, b = prev[i], c = i >= bytesPerPixel ? prev[i - bytesPerPixel] : 0;
                        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                        cur[i] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                    }
                    break;
                default: throw new ImageFormatException(path, $"corrupt: unknown filter type {filter} on row {y}");
            }
            int row = y0 + y * dy;
            for (int x = 0; x < w; x++)
            {
                long baseIndex = ((long)row * fullWidth + x0 + x * dx) * channels;
                for (int c = 0; c < channels; c++)
                {
                    int sample = x * channels + c;
                    ushort value = depth switch
                    {
                        16 => (ushort)(cur[sample * 2] << 8 | cur[sample * 2 + 1]),
                        8 => cur[sample],
                        _ => (ushort)((cur[sample * depth / 8] >> (8 - depth - sample * depth % 8)) & ((1 << depth) - 1)),
                    };
                    dst[baseIndex + c] = value;
                }
            }
            (prev, cur) = (cur, prev);
        }
        return offset;
    }

    private static Volume Assemble(ushort[] s, int w, int h, int depth, int colorType, int channels, byte[]? palette, string path)
    {
        int n = w * h;
        if (colorType == 3)
        {
            bool greyPalette = true;
            for (int e = 0; e + 2 < palette!.Length; e += 3) greyPalette &= palette[e] == palette[e + 1] && palette[e] == palette[e + 2];
            if (greyPalette)
            {
                // A grey palette (as ITK writes) is a grey image: keep one channel.
                var g = new byte[n];
                for (int i = 0; i < n; i++)
                {
                    int idx = s[i];
                    if (idx * 3 + 2 >= palette.Length) throw new ImageFormatException(path, $"palette index {idx} is beyond the {palette.Length / 3}-entry palette");
                    g[i] = palette[idx * 3];
                }
                return new Volume(VoxelType.UInt8, [w, h], g, Affine.Identity, 2);
            }
            var rgb = new byte[n * 3];
            for (int i = 0; i < n; i++)
            {
                int idx = s[i];
                if (idx * 3 + 2 >= palette!.Length) throw new ImageFormatException(path, $"palette index {idx} is beyond the {palette.Length / 3}-entry palette");
                rgb[i * 3] = palette[idx * 3]; rgb[i * 3 + 1] = palette[idx * 3 + 1]; rgb[i * 3 + 2] = palette[idx * 3 + 2];
            }
            return new Volume(VoxelType.Rgb24, [w, h], rgb, Affine.Identity, 2);
        }
        bool grey = colorType is 0 or 4;
        if (depth == 16)
        {
            int outChannels = grey ? 1 : 3;
            var planar = new ushort[n * outChannels];
            for (int i = 0; i < n; i++) for (int c = 0; c < outChannels; c++) planar[c * n + i] = s[i * channels + c];
            return Volume.Create<ushort>(planar, grey ? [w, h] : [w, h, 3], Affine.Identity, 2);
        }
        if (grey)
        {
            var g = new byte[n];
            for (int i = 0; i < n; i++) g[i] = (byte)s[i * channels];
            return new Volume(VoxelType.UInt8, [w, h], g, Affine.Identity, 2);
        }
        var px = new byte[n * 3];
        for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) px[i * 3 + c] = (byte)s[i * channels + c];
        return new Volume(VoxelType.Rgb24, [w, h], px, Affine.Identity, 2);
    }

    /// <summary>
    /// Writes a 2D volume: uint8 or uint16 grey [w, h], rgb24 [w, h], or uint8/uint16 [w, h, 3] planar colour.
    /// Rows are stored unfiltered and zlib-compressed, so equal images give identical bytes.
    /// </summary>
    public static void Write(Volume v, string path)
    {
        int w = v.Shape[0], h = v.Shape.Length > 1 ? v.Shape[1] : 1;
        bool planarColour = v.Shape.Length == 3 && v.Shape[2] == 3 && v.SpatialRank == 2;
        if (v.Shape.Length > 2 && !planarColour)
            throw new ArgumentException($"PNG holds one 2D image; got shape [{string.Join(", ", v.Shape)}] (slice the volume first)", nameof(v));
        int colorType, depth;
        byte[] raw; // interleaved samples, big-endian for 16-bit
        int n = w * h;
        switch (v.DataType)
        {
            case VoxelType.UInt8 when !planarColour: colorType = 0; depth = 8; raw = v.Data; break;
            case VoxelType.Rgb24: colorType = 2; depth = 8; raw = v.Data; break;
            case VoxelType.UInt8:
                colorType = 2; depth = 8; raw = new byte[n * 3];
                for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) raw[i * 3 + c] = v.Data[c * n + i];
                break;
            case VoxelType.UInt16:
            {
                var src = v.Voxels<ushort>();
                int ch = planarColour ? 3 : 1;
                colorType = planarColour ? 2 : 0; depth = 16; raw = new byte[n * ch * 2];
                for (int i = 0; i < n; i++) for (int c = 0; c < ch; c++) BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan((i * ch + c) * 2), src[c * n + i]);
                break;
            }
            default: throw new ArgumentException($"PNG stores uint8, uint16 or rgb24 voxels, not {v.DataType.Name()}; convert first (e.g. window to uint8)", nameof(v));
        }
        int stride = raw.Length / h;
        var filtered = new byte[(stride + 1) * h];
        for (int y = 0; y < h; y++) Buffer.BlockCopy(raw, y * stride, filtered, y * (stride + 1) + 1, stride);
        using var zs = new MemoryStream();
        using (var z = new ZLibStream(zs, CompressionLevel.Optimal, leaveOpen: true)) z.Write(filtered);
        using var s = FileBytes.CreateWrite(path);
        s.Write(Signature);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = (byte)depth; ihdr[9] = (byte)colorType;
        WriteChunk(s, "IHDR", ihdr);
        WriteChunk(s, "IDAT", zs.ToArray());
        WriteChunk(s, "IEND", []);
    }

    private static void WriteChunk(Stream s, string type, byte[] body)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, body.Length);
        System.Text.Encoding.ASCII.GetBytes(type, head[4..]);
        s.Write(head);
        s.Write(body);
        var crcInput = new byte[4 + body.Length];
        head[4..].CopyTo(crcInput);
        body.CopyTo(crcInput, 4);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.Compute(crcInput));
        s.Write(crc);
    }
}

/// <summary>CRC-32 (IEEE 802.3, reflected 0xEDB88320) as PNG uses it.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
