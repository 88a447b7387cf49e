using System.Buffers.Binary;
using System.IO.Compression;

namespace MlNetMedical.Imaging.Formats;

/// <summary>
/// PNG reader and writer for 2D data. Reads grey, grey+alpha, RGB, RGBA and palette images at every
/// bit depth (alpha is dropped and noted in metadata; palettes become RGB, or grey when every entry is grey), non-interlaced or Adam7.
/// Sizes are checked before allocation (<see cref="ReadOptions.MaxVoxels"/>, deflate's largest ratio), so a small
/// file cannot make the reader allocate much more than the image it really holds.
/// Grey gives uint8/uint16 [width, height]; 8-bit colour gives rgb24; 16-bit colour gives uint16
/// [width, height, 3]. The affine is the identity (pixel units; PNG carries no orientation).
/// </summary>
public static class Png
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static Volume Read(string path, ReadOptions? options = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': file not found", path);
        return Decode(File.ReadAllBytes(path), path, options);
    }

    /// <summary>
    /// Decodes a PNG held in memory; <paramref name="path"/> names it in errors. The image size is checked against
    /// <see cref="ReadOptions.MaxVoxels"/>, and the exact size of its scanlines against what the compressed data can
    /// hold, before anything is allocated for them; overflowing sizes are format errors.
    /// </summary>
    public static Volume Decode(byte[] file, string path, ReadOptions? options = null)
    {
        options ??= ReadOptions.Default;
        if (file.Length < 8 || !file.AsSpan(0, 8).SequenceEqual(Signature)) throw new ImageFormatException(path, "wrong magic: not a PNG signature");
        int pos = 8, depth = 0, colorType = -1, interlace = 0;
        long width = 0, height = 0;
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
                    width = BinaryPrimitives.ReadUInt32BigEndian(body);
                    height = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
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
        // PNG allows 1 to 2^31 - 1 pixels each way.
        if (width < 1 || height < 1 || width > int.MaxValue || height > int.MaxValue) throw new ImageFormatException(path, $"image size {width}x{height} is out of range");
        if (interlace > 1) throw new ImageFormatException(path, $"unknown interlace method {interlace}");
        if (colorType == 3 && palette == null) throw new ImageFormatException(path, "palette image without a PLTE chunk");
        if (palette != null && palette.Length % 3 != 0) throw new ImageFormatException(path, $"PLTE chunk of {palette.Length} bytes is not a whole number of RGB entries");

        // The volume this will be, checked against the voxel limit before anything is inflated.
        bool greyPalette = colorType == 3 && IsGreyPalette(palette!);
        bool colour16 = depth == 16 && colorType is 2 or 6;
        int outBytes = colour16 ? 2 : colorType is 2 or 6 || (colorType == 3 && !greyPalette) ? 3 : depth == 16 ? 2 : 1;
        long[] outDims = colour16 ? [width, height, 3] : [width, height];
        ImageLimits.Check(path, outDims, outBytes, options.MaxVoxels, "image size");

        // The exact scanline bytes the header implies (one filter byte per row of every pass), checked against what
        // the compressed data can inflate to: a small file cannot claim a large image.
        int bitsPerPixel = channels * depth;
        long needed = ScanlineBytes(width, height, bitsPerPixel, interlace);
        string what = $"a {width}x{height} image of {bitsPerPixel}-bit pixels{(interlace == 1 ? " (Adam7)" : "")}";
        if (needed > ImageLimits.MaxBytes) throw new ImageFormatException(path, $"{what} needs {needed} bytes of scanlines, more than one buffer holds");
        idat.Position = 0;
        var inflated = FileBytes.InflateZlib(idat, idat.Length, (int)needed, path, $"the IDAT scanlines of {what}");

        // Samples, one byte each up to 8 bits and one ushort each at 16 bits; none of these sizes overflows an int now.
        int pixels = checked((int)(width * height));
        byte[]? s8 = depth <= 8 ? new byte[checked(pixels * channels)] : null;
        ushort[]? s16 = depth == 16 ? new ushort[checked(pixels * channels)] : null;
        int w = (int)width, h = (int)height, offset = 0;
        if (interlace == 0) Unfilter(inflated, offset, w, h, bitsPerPixel, depth, channels, s8, s16, 0, 0, 1, 1, w, path);
        else
        {
            int[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1], dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
            for (int p = 0; p < 7; p++)
            {
                int pw = (w - x0[p] + dx[p] - 1) / dx[p], ph = (h - y0[p] + dy[p] - 1) / dy[p];
                if (pw <= 0 || ph <= 0) continue;
                offset = Unfilter(inflated, offset, pw, ph, bitsPerPixel, depth, channels, s8, s16, x0[p], y0[p], dx[p], dy[p], w, path);
            }
        }

        var v = Assemble(s8, s16, w, h, colorType, channels, palette, greyPalette, path);
        v.SourcePath = path;
        v.Metadata["format"] = "png";
        v.Metadata["png.bit_depth"] = depth.ToString();
        v.Metadata["png.color_type"] = colorType.ToString();
        if (colorType is 4 or 6) v.Metadata["png.alpha_dropped"] = "true";
        return v;
    }

    /// <summary>Bytes of filtered scanlines for the image, in long arithmetic (a 2^31-wide 64-bit row does not fit an int).</summary>
    private static long ScanlineBytes(long width, long height, int bitsPerPixel, int interlace)
    {
        static long Pass(long w, long h, int bpp) => w <= 0 || h <= 0 ? 0 : checked((w * bpp + 7) / 8 + 1) * h;
        if (interlace == 0) return Pass(width, height, bitsPerPixel);
        long[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1], dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        long total = 0;
        for (int p = 0; p < 7; p++)
            total += Pass((width - x0[p] + dx[p] - 1) / dx[p], (height - y0[p] + dy[p] - 1) / dy[p], bitsPerPixel);
        return total;
    }

    private static bool IsGreyPalette(byte[] palette)
    {
        for (int e = 0; e + 2 < palette.Length; e += 3)
            if (palette[e] != palette[e + 1] || palette[e] != palette[e + 2]) return false;
        return true;
    }

    private static string Safe(string s) => new(s.Select(c => c is >= ' ' and < (char)127 ? c : '?').ToArray());

    private static int Unfilter(byte[] src, int offset, int w, int h, int bpp, int depth, int channels, byte[]? s8, ushort[]? s16,
        int x0, int y0, int dx, int dy, int fullWidth, string path)
    {
        int stride = checked((int)(((long)w * bpp + 7) / 8)), bytesPerPixel = Math.Max(1, bpp / 8);
        if (offset + (long)(stride + 1) * h > src.Length)
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
                long baseIndex = ((long)row * fullWidth + x0 + (long)x * dx) * channels;
                for (int c = 0; c < channels; c++)
                {
                    int sample = x * channels + c;
                    if (s16 != null) s16[baseIndex + c] = (ushort)(cur[sample * 2] << 8 | cur[sample * 2 + 1]);
                    else s8![baseIndex + c] = depth == 8 ? cur[sample] : (byte)((cur[sample * depth / 8] >> (8 - depth - sample * depth % 8)) & ((1 << depth) - 1));
                }
            }
            (prev, cur) = (cur, prev);
        }
        return offset;
    }

    private static Volume Assemble(byte[]? s8, ushort[]? s16, int w, int h, int colorType, int channels, byte[]? palette, bool greyPalette, string path)
    {
        int n = w * h; // checked against the voxel and byte limits by the caller
        if (colorType == 3)
        {
            int entries = palette!.Length / 3;
            if (greyPalette)
            {
                // A grey palette (as ITK writes) is a grey image: keep one channel. The indices are replaced in place.
                for (int i = 0; i < n; i++)
                {
                    int idx = s8![i];
                    if (idx >= entries) throw new ImageFormatException(path, $"palette index {idx} is beyond the {entries}-entry palette");
                    s8[i] = palette[idx * 3];
                }
                return new Volume(VoxelType.UInt8, [w, h], s8!, Affine.Identity, 2);
            }
            var rgb = new byte[n * 3];
            for (int i = 0; i < n; i++)
            {
                int idx = s8![i];
                if (idx >= entries) throw new ImageFormatException(path, $"palette index {idx} is beyond the {entries}-entry palette");
                rgb[i * 3] = palette[idx * 3]; rgb[i * 3 + 1] = palette[idx * 3 + 1]; rgb[i * 3 + 2] = palette[idx * 3 + 2];
            }
            return new Volume(VoxelType.Rgb24, [w, h], rgb, Affine.Identity, 2);
        }
        bool grey = colorType is 0 or 4;
        if (s16 != null)
        {
            int outChannels = grey ? 1 : 3;
            var planar = new ushort[n * outChannels];
            for (int i = 0; i < n; i++) for (int c = 0; c < outChannels; c++) planar[c * n + i] = s16[i * channels + c];
            return Volume.Create<ushort>(planar, grey ? [w, h] : [w, h, 3], Affine.Identity, 2);
        }
        if (grey)
        {
            // Plain grey samples are the voxels already; grey + alpha keeps every other byte.
            if (channels == 1) return new Volume(VoxelType.UInt8, [w, h], s8!, Affine.Identity, 2);
            var g = new byte[n];
            for (int i = 0; i < n; i++) g[i] = s8![i * channels];
            return new Volume(VoxelType.UInt8, [w, h], g, Affine.Identity, 2);
        }
        if (channels == 3) return new Volume(VoxelType.Rgb24, [w, h], s8!, Affine.Identity, 2);
        var px = new byte[n * 3];
        for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) px[i * 3 + c] = s8![i * channels + c];
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
