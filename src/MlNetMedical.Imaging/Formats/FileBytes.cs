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
        catch (InvalidDataException e) { throw new ImageFormatException(path, $"corrupt compressed data while reading {what}: {e.Message}", e); }
        if (got < buffer.Length)
            throw new ImageFormatException(path, $"truncated: {what} needs {buffer.Length} bytes but only {got} are left");
    }

    /// <summary>
    /// Reads exactly <paramref name="count"/> bytes. Seekable streams were checked for length already, so
    /// one array is allocated up front; a gzip stream whose header claims more than it holds (corrupt or
    /// fuzzed dims) is read in growing chunks, so a lying header cannot make us allocate gigabytes.
    /// </summary>
    public static byte[] ReadVoxels(Stream s, int count, string path, string what)
    {
        const int upfront = 64 << 20;
        if (s.CanSeek || count <= upfront)
        {
            var data = GC.AllocateUninitializedArray<byte>(count);
            ReadExactly(s, data, path, what);
            return data;
        }
        var buffer = GC.AllocateUninitializedArray<byte>(upfront);
        int filled = 0;
        while (filled < count)
        {
            if (filled == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(count, (long)buffer.Length * 2));
            int got;
            try { got = s.Read(buffer, filled, buffer.Length - filled); }
            catch (InvalidDataException e) { throw new ImageFormatException(path, $"corrupt compressed data while reading {what}: {e.Message}", e); }
            if (got == 0) throw new ImageFormatException(path, $"truncated: {what} needs {count} bytes but only {filled} are left");
            filled += got;
        }
        return buffer;
    }

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
