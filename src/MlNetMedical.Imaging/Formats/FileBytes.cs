using System.IO.Compression;

namespace MlNetMedical.Imaging.Formats;

/// <summary>Stream helpers shared by the readers: gzip sniffing and exact reads that name the file when it ends early.</summary>
internal static class FileBytes
{
    /// <summary>Opens a file for reading; a gzip payload (magic 1f 8b) is decompressed transparently.</summary>
    public static Stream OpenRead(string path)
    {
        if (Directory.Exists(path)) throw new ImageFormatException(path, "is a folder, expected a file");
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        Span<byte> magic = stackalloc byte[2];
        int n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return new GZipStream(file, CompressionMode.Decompress);
        return file;
    }

    /// <summary>Fills <paramref name="buffer"/> or throws naming the file, what was being read and how much was there.</summary>
    public static void ReadExactly(Stream s, Span<byte> buffer, string path, string what)
    {
        int got;
        try { got = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false); }
        catch (Exception e) when (IsCorruptData(s, e)) { throw new ImageFormatException(path, $"corrupt compressed data while reading {what}: {e.Message}", e); }
        if (got < buffer.Length)
            throw new ImageFormatException(path, $"truncated: {what} needs {buffer.Length} bytes but only {got} are left");
    }

    /// <summary>
    /// Reads exactly <paramref name="count"/> bytes of voxels. A seekable stream was checked for length already, so
    /// one array is allocated up front. A compressed stream (length of the compressed file in
    /// <paramref name="compressedLength"/>) is checked against deflate's largest ratio, then read into a buffer that
    /// grows with what the stream really yields, so a lying header cannot make us allocate more than the data holds.
    /// </summary>
    public static byte[] ReadVoxels(Stream s, int count, string path, string what, long compressedLength = -1)
    {
        if (s.CanSeek)
        {
            var data = GC.AllocateUninitializedArray<byte>(count);
            ReadExactly(s, data, path, what);
            return data;
        }
        if (compressedLength >= 0) ImageLimits.CheckInflatable(path, count, compressedLength, what);
        return ReadGrowing(s, count, InitialCapacity(count, compressedLength), path, what);
    }

    /// <summary>
    /// Inflates a zlib payload to exactly <paramref name="count"/> bytes (bytes after them are not read): rejected
    /// at once when the payload is too small to hold them, otherwise into a buffer that grows as data arrives.
    /// </summary>
    public static byte[] InflateZlib(Stream compressed, long compressedLength, int count, string path, string what)
    {
        ImageLimits.CheckInflatable(path, count, compressedLength, what);
        using var z = new ZLibStream(compressed, CompressionMode.Decompress);
        return ReadGrowing(z, count, InitialCapacity(count, compressedLength), path, what);
    }

    // A guess at the inflated size (most images compress less than 4:1); the buffer doubles from there when needed.
    private static int InitialCapacity(int count, long compressedLength) =>
        (int)Math.Min(count, Math.Max(1 << 20, compressedLength < 0 ? 0 : Math.Min(int.MaxValue, compressedLength * 4)));

    /// <summary>Reads exactly <paramref name="count"/> bytes, growing the buffer from <paramref name="initial"/> by doubling.</summary>
    private static byte[] ReadGrowing(Stream s, int count, int initial, string path, string what)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(Math.Min(count, Math.Max(1, initial)));
        int filled = 0;
        while (filled < count)
        {
            if (filled == buffer.Length)
            {
                var larger = GC.AllocateUninitializedArray<byte>((int)Math.Min(count, (long)buffer.Length * 2));
                Buffer.BlockCopy(buffer, 0, larger, 0, filled);
                buffer = larger;
            }
            int got;
            try { got = s.Read(buffer, filled, buffer.Length - filled); }
            catch (Exception e) when (IsCorruptData(s, e)) { throw new ImageFormatException(path, $"corrupt compressed data while reading {what}: {e.Message}", e); }
            if (got == 0) throw new ImageFormatException(path, $"truncated: {what} needs {count} bytes but only {filled} are there");
            filled += got;
        }
        return buffer;
    }

    /// <summary>
    /// Bad deflate data shows as InvalidDataException, or as an IOException from zlib itself (for instance a zlib
    /// header asking for a preset dictionary); from a decompressing stream both mean a corrupt file.
    /// </summary>
    private static bool IsCorruptData(Stream s, Exception e) =>
        e is InvalidDataException || (e is IOException && e is not ImageFormatException && s is GZipStream or ZLibStream or DeflateStream);

    /// <summary>The length of the file under a stream from <see cref="OpenRead"/> (the compressed size for gzip).</summary>
    public static long FileLength(Stream s) => s switch
    {
        GZipStream g => g.BaseStream.Length,
        _ => s.Length,
    };

    /// <summary>Skips forward by reading (works on gzip streams).</summary>
    public static void Skip(Stream s, long count, string path, string what)
    {
        if (count <= 0) return;
        if (s.CanSeek) { if (s.Position + count > s.Length) throw new ImageFormatException(path, $"truncated: {what} lies beyond the end of the file"); s.Seek(count, SeekOrigin.Current); return; }
        var tmp = new byte[Math.Min(count, 1 << 16)];
        while (count > 0)
        {
            int n = (int)Math.Min(count, tmp.Length);
            ReadExactly(s, tmp.AsSpan(0, n), path, what);
            count -= n;
        }
    }

    /// <summary>Writes through gzip when the name ends in .gz. Output is deterministic: zlib writes mtime 0 and no file name.</summary>
    public static Stream CreateWrite(string path, CompressionLevel level = CompressionLevel.Optimal)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, level) : file;
    }
}
