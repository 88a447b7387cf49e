using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace MlNetMedical.Imaging.Formats;

/// <summary>
/// MetaImage (ITK's .mha with the data inline, or .mhd with a separate raw/zraw file), raw or
/// zlib-compressed. MetaImage geometry is LPS (DICOM/ITK): Offset is the world position of voxel 0 and
/// TransformMatrix lists each index axis's direction in turn; it is converted to the RAS+ affine here.
/// </summary>
public static class MetaImage
{
    private static readonly Dictionary<string, VoxelType> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        ["MET_UCHAR"] = VoxelType.UInt8, ["MET_CHAR"] = VoxelType.Int8,
        ["MET_USHORT"] = VoxelType.UInt16, ["MET_SHORT"] = VoxelType.Int16,
        ["MET_UINT"] = VoxelType.UInt32, ["MET_INT"] = VoxelType.Int32,
        ["MET_ULONG"] = VoxelType.UInt32, ["MET_LONG"] = VoxelType.Int32,
        ["MET_ULONG_LONG"] = VoxelType.UInt64, ["MET_LONG_LONG"] = VoxelType.Int64,
        ["MET_FLOAT"] = VoxelType.Float32, ["MET_DOUBLE"] = VoxelType.Float64,
    };

    /// <summary>
    /// Reads a .mha or .mhd. DimSize is checked against <see cref="ReadOptions.MaxVoxels"/> and against the data
    /// present before the voxel buffer is allocated; a separate data file must lie in the header's folder (see
    /// <see cref="ReadOptions.AllowMetaImageDataOutsideFolder"/>) and be a regular file holding enough bytes.
    /// </summary>
    public static Volume Read(string path, ReadOptions? options = null)
    {
        options ??= ReadOptions.Default;
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': file not found", path);
        var bytes = File.ReadAllBytes(path);
        var (fields, dataStart) = ParseHeader(bytes, path);
        string Get(string key) => fields.TryGetValue(key, out var v) ? v : throw new ImageFormatException(path, $"MetaImage header lacks {key}");
        int ndims = ParseInt(Get("NDims"), path, "NDims");
        if (ndims is < 1 or > 4) throw new ImageFormatException(path, $"NDims = {ndims}; 1 to 4 are supported");
        var dims = ParseNumbers(Get("DimSize"), path, "DimSize", ndims).Select(d => d >= 1 && d <= int.MaxValue && d == Math.Floor(d) ? (int)d : throw new ImageFormatException(path, $"DimSize {d} is not a positive integer")).ToArray();
        var typeName = Get("ElementType");
        if (!Types.TryGetValue(typeName, out var type)) throw new ImageFormatException(path, $"ElementType {typeName} is not supported");
        int channels = fields.TryGetValue("ElementNumberOfChannels", out var ch) ? ParseInt(ch, path, "ElementNumberOfChannels") : 1;
        if (channels < 1 || channels > 64) throw new ImageFormatException(path, $"ElementNumberOfChannels = {channels} is out of range");
        bool msb = IsTrue(fields.GetValueOrDefault("ElementByteOrderMSB") ?? fields.GetValueOrDefault("BinaryDataByteOrderMSB"));
        bool compressed = IsTrue(fields.GetValueOrDefault("CompressedData"));

        var spacing = fields.TryGetValue("ElementSpacing", out var sp) ? ParseNumbers(sp, path, "ElementSpacing", ndims)
                    : fields.TryGetValue("ElementSize", out var es) ? ParseNumbers(es, path, "ElementSize", ndims) : Enumerable.Repeat(1.0, ndims).ToArray();
        var origin = (fields.GetValueOrDefault("Offset") ?? fields.GetValueOrDefault("Origin") ?? fields.GetValueOrDefault("Position")) is { } o
            ? ParseNumbers(o, path, "Offset", ndims) : new double[ndims];
        var matrix = (fields.GetValueOrDefault("TransformMatrix") ?? fields.GetValueOrDefault("Rotation") ?? fields.GetValueOrDefault("Orientation")) is { } m
            ? ParseNumbers(m, path, "TransformMatrix", ndims * ndims) : null;

        var (_, nbytes) = ImageLimits.Check(path, [.. dims.Select(d => (long)d), .. channels > 1 ? new[] { (long)channels } : []], type.Size(), options.MaxVoxels,
            channels > 1 ? "DimSize and ElementNumberOfChannels" : "DimSize");
        byte[] data = LoadData(path, bytes, dataStart, fields, compressed, (int)nbytes, options);
        if (msb) type.SwapBytes(data);

        // LPS direction of index axis a is matrix[a*n .. a*n+n-1].
        var dir = new double[3, 3];
        for (int a = 0; a < 3; a++)
            for (int r = 0; r < 3; r++)
                dir[r, a] = a < ndims && r < ndims && matrix != null ? matrix[a * ndims + r] : (a == r ? 1 : 0);
        var spatial = Math.Min(3, ndims);
        var lps = Affine.FromGeometry(spacing.Take(spatial).ToArray(), origin.Take(spatial).ToArray(), dir);
        int[] shape = dims.Take(spatial).ToArray();
        if (ndims == 4) shape = [.. shape, dims[3]];
        if (channels > 1)
        {
            // Interleaved components become the slowest axis (planar), as Volume keeps channels last.
            data = Deinterleave(data, type.Size(), channels);
            shape = [.. shape, channels];
        }
        var v = new Volume(type, shape, data, lps.FlipXY(), spatial) { SourcePath = path };
        v.Metadata["format"] = "metaimage";
        if (fields.TryGetValue("AnatomicalOrientation", out var ao)) v.Metadata["metaimage.anatomical_orientation"] = ao;
        return v;
    }

    private static byte[] LoadData(string path, byte[] bytes, int dataStart, Dictionary<string, string> fields, bool compressed, int nbytes, ReadOptions options)
    {
        var file = fields.TryGetValue("ElementDataFile", out var f) ? f : throw new ImageFormatException(path, "MetaImage header lacks ElementDataFile");
        if (file.Equals("LOCAL", StringComparison.OrdinalIgnoreCase))
        {
            int available = bytes.Length - dataStart;
            if (compressed)
                return FileBytes.InflateZlib(new MemoryStream(bytes, dataStart, available, writable: false), available, nbytes, path, "the zlib-compressed voxel data");
            if (available < nbytes)
                throw new ImageFormatException(path, $"truncated or wrong DimSize: the header needs {nbytes} bytes of voxels, the file holds {available} after the header");
            return bytes.AsSpan(dataStart, nbytes).ToArray();
        }
        if (file.Contains('%') || file.StartsWith("LIST", StringComparison.OrdinalIgnoreCase))
            throw new ImageFormatException(path, $"ElementDataFile '{file}' (a file list or pattern) is not supported");
        if (file.Length == 0 || file.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            throw new ImageFormatException(path, $"ElementDataFile '{Clip(file.Replace("\0", "\\0"), 200)}' is not a valid file name");
        var where = DataFilePath(path, file, options);
        long length = RegularFileLength(path, file, where);
        if (compressed)
        {
            using var zs = new FileStream(where, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            return FileBytes.InflateZlib(zs, length, nbytes, where, "the zlib-compressed voxel data");
        }
        long skip = 0;
        if (fields.TryGetValue("HeaderSize", out var hs))
        {
            if (!long.TryParse(hs, NumberStyles.Integer, CultureInfo.InvariantCulture, out skip) || skip < -1)
                throw new ImageFormatException(path, $"HeaderSize = '{Clip(hs)}' is not -1 or a byte count");
            if (skip == -1) skip = Math.Max(0, length - nbytes); // -1: the voxels are the last bytes of the file
        }
        if (skip > length || length - skip < nbytes)
            throw new ImageFormatException(where, $"truncated or wrong DimSize: the header '{path}' needs {nbytes} bytes of voxels after {skip}, the file holds {length}");
        using var fs = new FileStream(where, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        // Measured again on the open file: what was checked is what is read.
        if (!fs.CanSeek || fs.Length != length)
            throw new ImageFormatException(where, $"ElementDataFile of '{path}' changed size while being opened, or is not a regular file");
        fs.Seek(skip, SeekOrigin.Begin);
        var data = GC.AllocateUninitializedArray<byte>(nbytes);
        FileBytes.ReadExactly(fs, data, where, $"{nbytes} bytes of voxels");
        return data;
    }

    /// <summary>The data file's full path: inside the header's folder (or below) unless the options allow otherwise.</summary>
    private static string DataFilePath(string path, string file, ReadOptions options)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        // GetFullPath removes '..' segments, so a name that climbs out of the folder no longer starts with it.
        var where = Path.GetFullPath(Path.Combine(folder, file));
        var inside = folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar;
        if (!options.AllowMetaImageDataOutsideFolder && (Path.IsPathRooted(file) || !where.StartsWith(inside, StringComparison.Ordinal)))
            throw new ImageFormatException(path, $"ElementDataFile '{Clip(file, 200)}' lies outside the header's folder '{folder}'; a data file is read only from that folder " +
                "or below it, unless ReadOptions.AllowMetaImageDataOutsideFolder is set");
        return where;
    }

    /// <summary>
    /// The size of a data file, which must be a regular file (links are followed). Devices, FIFOs and sockets report
    /// a size of 0 and are refused here, before anything opens them (opening a FIFO would block).
    /// </summary>
    private static long RegularFileLength(string path, string file, string where)
    {
        if (Directory.Exists(where)) throw new ImageFormatException(path, $"ElementDataFile '{Clip(file, 200)}' is a folder, not a data file");
        FileInfo info = new(where);
        try
        {
            if (info.LinkTarget != null) info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
        }
        catch (IOException e) { throw new ImageFormatException(path, $"ElementDataFile '{Clip(file, 200)}' is a link that cannot be followed: {e.Message}", e); }
        if (!info.Exists) throw new ImageFormatException(path, $"ElementDataFile '{Clip(file, 200)}' does not exist");
        if (info.Length == 0)
            throw new ImageFormatException(path, $"ElementDataFile '{Clip(file, 200)}' ({where}) is empty or not a regular file (a device, FIFO or socket reports no size)");
        return info.Length;
    }

    internal static byte[] Deinterleave(byte[] data, int size, int channels)
    {
        var r = new byte[data.Length];
        int n = data.Length / (size * channels);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < channels; c++)
                Buffer.BlockCopy(data, (i * channels + c) * size, r, (c * n + i) * size, size);
        return r;
    }

    private static (Dictionary<string, string>, int) ParseHeader(byte[] bytes, string path)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int pos = 0, lines = 0;
        while (pos < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', pos);
            if (end < 0) end = bytes.Length;
            if (end - pos > 4096) throw new ImageFormatException(path, $"header line {lines + 1} is over 4096 bytes: not a MetaImage header");
            var line = Encoding.Latin1.GetString(bytes, pos, end - pos).TrimEnd('\r');
            pos = Math.Min(bytes.Length, end + 1);
            lines++;
            if (line.Trim().Length == 0) continue;
            int eq = line.IndexOf('=');
            if (eq <= 0) throw new ImageFormatException(path, $"header line {lines} '{Clip(line)}' is not 'Key = Value'");
            var key = line[..eq].Trim();
            fields[key] = line[(eq + 1)..].Trim();
            if (key.Equals("ElementDataFile", StringComparison.OrdinalIgnoreCase)) return (fields, pos);
            if (lines > 200) break;
        }
        throw new ImageFormatException(path, "MetaImage header has no ElementDataFile line (the last header key)");
    }

    private static string Clip(string s, int max = 40) => s.Length > max ? s[..max] + "..." : s;
    private static bool IsTrue(string? s) => s != null && (s.Equals("True", StringComparison.OrdinalIgnoreCase) || s == "1");

    private static int ParseInt(string s, string path, string key) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ImageFormatException(path, $"{key} = '{Clip(s)}' is not an integer");

    private static double[] ParseNumbers(string s, string path, string key, int count)
    {
        var parts = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < count) throw new ImageFormatException(path, $"{key} has {parts.Length} values, expected {count}");
        var r = new double[count];
        for (int i = 0; i < count; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out r[i]) || !double.IsFinite(r[i]))
                throw new ImageFormatException(path, $"{key} value '{Clip(parts[i])}' is not a finite number");
        return r;
    }

    /// <summary>Writes .mha (inline data) or .mhd + .raw/.zraw; <paramref name="compress"/> uses zlib.</summary>
    public static void Write(Volume volume, string path, bool compress = false)
    {
        var lower = path.ToLowerInvariant();
        if (!lower.EndsWith(".mha") && !lower.EndsWith(".mhd")) throw new ArgumentException($"'{path}': a MetaImage file name ends in .mha or .mhd", nameof(path));
        bool rgb = volume.DataType == VoxelType.Rgb24;
        var typeName = rgb ? "MET_UCHAR" : Types.First(kv => kv.Value == volume.DataType && kv.Key is not ("MET_LONG" or "MET_ULONG")).Key;
        int spatial = volume.SpatialRank;
        int nd = Math.Min(4, volume.Shape.Length);
        if (volume.Shape.Length > 4) throw new ArgumentException($"MetaImage holds at most 4 dimensions, the volume has {volume.Shape.Length}", nameof(volume));
        var lps = volume.Affine.FlipXY();
        var spacing = lps.Spacing; var dir = lps.Direction; var origin = lps.Origin;
        string F(double d) => d.ToString("R", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.Append("ObjectType = Image\n");
        sb.Append($"NDims = {nd}\n");
        sb.Append("BinaryData = True\nBinaryDataByteOrderMSB = False\n");
        sb.Append($"CompressedData = {(compress ? "True" : "False")}\n");
        sb.Append("TransformMatrix =");
        for (int a = 0; a < nd; a++) for (int r = 0; r < nd; r++) sb.Append(' ').Append(F(a < 3 && r < 3 && a < spatial && r < spatial ? dir[r, a] : (a == r ? 1 : 0)));
        sb.Append("\nOffset =");
        for (int a = 0; a < nd; a++) sb.Append(' ').Append(F(a < spatial ? origin[a] : 0));
        sb.Append("\nElementSpacing =");
        for (int a = 0; a < nd; a++) sb.Append(' ').Append(F(a < spatial ? spacing[a] : 1));
        sb.Append("\nDimSize =");
        for (int a = 0; a < nd; a++) sb.Append(' ').Append(volume.Shape[a]);
        if (rgb) sb.Append("\nElementNumberOfChannels = 3");
        sb.Append($"\nElementType = {typeName}\n");
        byte[] payload = volume.Data;
        if (compress)
        {
            using var ms = new MemoryStream();
            using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(volume.Data);
            payload = ms.ToArray();
            sb.Append($"CompressedDataSize = {payload.Length}\n");
        }
        bool inline = lower.EndsWith(".mha");
        var dataName = Path.GetFileNameWithoutExtension(path) + (compress ? ".zraw" : ".raw");
        sb.Append($"ElementDataFile = {(inline ? "LOCAL" : dataName)}\n");
        using var s = FileBytes.CreateWrite(path);
        s.Write(Encoding.ASCII.GetBytes(sb.ToString()));
        if (inline) s.Write(payload);
        else File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, dataName), payload);
    }
}
