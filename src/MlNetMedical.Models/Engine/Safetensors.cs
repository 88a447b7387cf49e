using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>One tensor's entry in a safetensors header: dtype, shape and byte range within the data section.</summary>
public sealed record SafetensorsEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>A parsed and validated safetensors header.</summary>
public sealed record SafetensorsHeader(
    IReadOnlyList<SafetensorsEntry> Entries,
    IReadOnlyDictionary<string, string> Metadata,
    long HeaderLength)
{
    /// <summary>Offset in the file where the data section starts (8 + header length).</summary>
    public long DataStart => 8 + HeaderLength;
}

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name to
/// <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> (offsets relative to the data section)
/// plus an optional <c>"__metadata__"</c> string map, then the raw little-endian, row-major data.
/// <para>
/// Reading never executes anything from the file. Every structural problem raises
/// <see cref="SafetensorsFormatException"/>; I/O problems raise <see cref="IOException"/>.
/// The validation policy is strict, as in the reference implementation: names are unique, each
/// tensor's byte count equals product(shape) × element size, and the byte ranges, sorted by begin,
/// tile the data section exactly from 0 to its end (no gaps, no overlap, no trailing bytes).
/// </para>
/// </summary>
public static class Safetensors
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly Dictionary<string, ScalarType> DTypeByCode = new(StringComparer.Ordinal)
    {
        ["F64"] = ScalarType.Float64, ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16, ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32, ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    /// <summary>The safetensors dtype code for <paramref name="dtype"/> ("F32", "I64", ...).</summary>
    public static string CodeOf(ScalarType dtype)
    {
        foreach (var (code, d) in DTypeByCode)
            if (d == dtype) return code;
        throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "dtype has no safetensors code");
    }

    /// <summary>Parses and validates the header of a safetensors file held in memory.</summary>
    public static SafetensorsHeader ReadHeader(byte[] file)
    {
        using var stream = new MemoryStream(file, writable: false);
        return ReadHeader(stream, "<memory>");
    }

    /// <summary>Parses and validates the header of the safetensors file at <paramref name="path"/>.</summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Loads every tensor of the file at <paramref name="path"/> onto <paramref name="device"/> (CPU by default).
    /// The caller owns the returned tensors.</summary>
    public static Dictionary<string, Tensor> Load(string path, Device? device = null) => Load(path, out _, device);

    /// <summary>Loads every tensor and returns the header's <c>__metadata__</c> too.</summary>
    public static Dictionary<string, Tensor> Load(string path, out IReadOnlyDictionary<string, string> metadata, Device? device = null)
    {
        using var stream = OpenRead(path);
        return Load(stream, path, out metadata, device);
    }

    /// <summary>Loads every tensor from a seekable stream holding a safetensors file.</summary>
    public static Dictionary<string, Tensor> Load(Stream stream, string sourceName, out IReadOnlyDictionary<string, string> metadata, Device? device = null)
    {
        var header = ReadHeader(stream, sourceName);
        metadata = header.Metadata;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in header.Entries)
            {
                if (e.ByteLength > Array.MaxLength)
                    throw new SafetensorsFormatException(sourceName, $"tensor '{e.Name}' holds {e.ByteLength} bytes, more than one load can hold ({Array.MaxLength})");
                var bytes = new byte[e.ByteLength];
                stream.Seek(header.DataStart + e.Begin, SeekOrigin.Begin);
                stream.ReadExactly(bytes);
                result.Add(e.Name, FromBytes(bytes, e.Shape, e.DType, device ?? torch.CPU));
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (sorted by name) and optional metadata to <paramref name="path"/>
    /// atomically: the file is written next to the target under a temporary name and renamed over it,
    /// so readers see either the old file or the complete new one.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Write(stream, tensors, metadata);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes a safetensors file to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in ordered)
        {
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice", nameof(tensors));
        }

        var json = new MemoryStream();
        long offset = 0;
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var (name, t) in ordered)
            {
                var dtype = t.dtype;
                var shape = t.shape;
                long bytes = t.numel() * dtype.ElementSize();
                w.WriteStartObject(name);
                w.WriteString("dtype", CodeOf(dtype));
                w.WriteStartArray("shape");
                foreach (var s in shape) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces so the data section starts 8-byte aligned, as the reference writer does.
        while (json.Length % 8 != 0) json.WriteByte((byte)' ');

        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)json.Length);
        stream.Write(lengthBytes);
        json.Position = 0;
        json.CopyTo(stream);
        foreach (var (name, t) in ordered)
        {
            long bytes = t.numel() * t.dtype.ElementSize();
            if (bytes > Array.MaxLength) throw new ArgumentException($"tensor '{name}' holds {bytes} bytes, more than one write can hold", nameof(tensors));
            var buffer = new byte[bytes];
            CopyBytes(t, buffer);
            stream.Write(buffer);
        }
    }

    private static FileStream OpenRead(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    private static SafetensorsHeader ReadHeader(Stream stream, string sourceName)
    {
        if (!stream.CanSeek) throw new ArgumentException("stream must be seekable", nameof(stream));
        long fileLength = stream.Length;
        stream.Seek(0, SeekOrigin.Begin);
        Span<byte> prefix = stackalloc byte[8];
        if (stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
            throw new SafetensorsFormatException(sourceName, $"file holds {fileLength} bytes, fewer than the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        CheckHeaderLength(n, fileLength, sourceName);
        var headerBytes = new byte[n];
        stream.ReadExactly(headerBytes);
        return ParseHeader(headerBytes, fileLength, sourceName);
    }

    private static void CheckHeaderLength(ulong n, long fileLength, string source)
    {
        if (n > (ulong)MaxHeaderLength)
            throw new SafetensorsFormatException(source, $"header length {n} exceeds the limit of {MaxHeaderLength} bytes");
        if ((long)n > fileLength - 8)
            throw new SafetensorsFormatException(source, $"header length {n} reaches beyond the end of the file ({fileLength} bytes, so at most {fileLength - 8})");
        if (n < 2)
            throw new SafetensorsFormatException(source, $"header length {n} is too short for a JSON object");
    }

    private static SafetensorsHeader ParseHeader(byte[] headerBytes, long fileLength, string source)
    {
        long n = headerBytes.Length;
        long dataLength = fileLength - 8 - n;

        JsonDocument doc;
        try
        {
            // The JSON reader defers UTF-8 checks inside strings until they are read; check everything first.
            StrictUtf8.GetCharCount(headerBytes);
            doc = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (Exception e) when (e is JsonException or ArgumentException or DecoderFallbackException)
        {
            throw new SafetensorsFormatException(source, $"header is not valid UTF-8 JSON: {e.Message}");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException(source, $"header must be a JSON object, found {root.ValueKind}");
            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in root.EnumerateObject())
            {
                if (!names.Add(prop.Name))
                    throw new SafetensorsFormatException(source, $"name '{prop.Name}' appears more than once in the header");
                if (prop.Name == MetadataKey)
                    ReadMetadata(prop.Value, metadata, source);
                else
                    entries.Add(ReadEntry(prop.Name, prop.Value, source));
            }
            CheckLayout(entries, dataLength, source);
            return new SafetensorsHeader(entries, metadata, n);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(source, $"'{MetadataKey}' must be an object of strings, found {value.ValueKind}");
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsFormatException(source, $"'{MetadataKey}.{p.Name}' must be a string, found {p.Value.ValueKind}");
            if (!metadata.TryAdd(p.Name, p.Value.GetString()!))
                throw new SafetensorsFormatException(source, $"'{MetadataKey}.{p.Name}' appears more than once");
        }
    }

    private static SafetensorsEntry ReadEntry(string name, JsonElement value, string source)
    {
        if (name.Length == 0) throw new SafetensorsFormatException(source, "a tensor has an empty name");
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(source, $"tensor '{name}': entry must be an object, found {value.ValueKind}");
        string? dtypeCode = null;
        long[]? shape = null, offsets = null;
        foreach (var p in value.EnumerateObject())
        {
            switch (p.Name)
            {
                case "dtype":
                    if (dtypeCode != null) throw new SafetensorsFormatException(source, $"tensor '{name}': 'dtype' appears twice");
                    if (p.Value.ValueKind != JsonValueKind.String) throw new SafetensorsFormatException(source, $"tensor '{name}': 'dtype' must be a string");
                    dtypeCode = p.Value.GetString()!;
                    break;
                case "shape":
                    if (shape != null) throw new SafetensorsFormatException(source, $"tensor '{name}': 'shape' appears twice");
                    shape = ReadIntegers(p.Value, name, "shape", source);
                    break;
                case "data_offsets":
                    if (offsets != null) throw new SafetensorsFormatException(source, $"tensor '{name}': 'data_offsets' appears twice");
                    offsets = ReadIntegers(p.Value, name, "data_offsets", source);
                    break;
                default:
                    throw new SafetensorsFormatException(source, $"tensor '{name}': unknown field '{p.Name}' (expected dtype, shape, data_offsets)");
            }
        }
        if (dtypeCode == null || shape == null || offsets == null)
            throw new SafetensorsFormatException(source, $"tensor '{name}': missing field(s); dtype, shape and data_offsets are required");
        if (!DTypeByCode.TryGetValue(dtypeCode, out var dtype))
            throw new SafetensorsFormatException(source, $"tensor '{name}': unknown or unsupported dtype '{dtypeCode}' (supported: {string.Join(", ", DTypeByCode.Keys)})");
        if (offsets.Length != 2)
            throw new SafetensorsFormatException(source, $"tensor '{name}': data_offsets must hold 2 integers [begin, end], found {offsets.Length}");
        if (offsets[1] < offsets[0])
            throw new SafetensorsFormatException(source, $"tensor '{name}': data_offsets end {offsets[1]} is before begin {offsets[0]}");
        long expected;
        try
        {
            expected = dtype.ElementSize();
            foreach (var s in shape) expected = checked(expected * s);
        }
        catch (OverflowException)
        {
            throw new SafetensorsFormatException(source, $"tensor '{name}': shape [{string.Join(", ", shape)}] overflows a 64-bit byte count");
        }
        if (expected != offsets[1] - offsets[0])
            throw new SafetensorsFormatException(source,
                $"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtypeCode} needs {expected} bytes but data_offsets [{offsets[0]}, {offsets[1]}] hold {offsets[1] - offsets[0]}");
        return new SafetensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(JsonElement value, string name, string field, string source)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException(source, $"tensor '{name}': '{field}' must be an array of non-negative integers, found {value.ValueKind}");
        var result = new long[value.GetArrayLength()];
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0)
                throw new SafetensorsFormatException(source, $"tensor '{name}': '{field}[{i}]' must be a non-negative 64-bit integer, found {item.GetRawText()}");
            result[i++] = v;
        }
        return result;
    }

    private static void CheckLayout(List<SafetensorsEntry> entries, long dataLength, string source)
    {
        long cursor = 0;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < cursor)
                throw new SafetensorsFormatException(source, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap the previous tensor, which ends at {cursor}");
            if (e.Begin > cursor)
                throw new SafetensorsFormatException(source, $"tensor '{e.Name}': data_offsets begin at {e.Begin}, leaving a gap after byte {cursor}; tensors must be packed contiguously");
            if (e.End > dataLength)
                throw new SafetensorsFormatException(source, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] reach beyond the data section ({dataLength} bytes)");
            cursor = e.End;
        }
        if (cursor != dataLength)
            throw new SafetensorsFormatException(source, $"data section holds {dataLength} bytes but the tensors cover only {cursor}");
    }

    internal static Tensor FromBytes(ReadOnlySpan<byte> bytes, long[] shape, ScalarType dtype, Device device)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported");
        var t = torch.empty(shape, dtype);
        bytes.CopyTo(t.bytes);
        if (device.type == DeviceType.CPU) return t;
        using (t) return t.to(device);
    }

    internal static void CopyBytes(Tensor t, Span<byte> destination)
    {
        // The scope frees every wrapper the chain makes (detach, cpu and contiguous each return a new one), not t.
        using var scope = torch.NewDisposeScope();
        t.detach().cpu().contiguous().bytes.CopyTo(destination);
    }
}

/// <summary>A safetensors file (or buffer) is malformed; the message names the source and the problem.</summary>
public sealed class SafetensorsFormatException : FormatException
{
    public SafetensorsFormatException(string fileName, string problem) : base($"{fileName}: not a valid safetensors file: {problem}")
    {
        FileName = fileName;
    }

    /// <summary>The file path (or "&lt;memory&gt;") that was being read.</summary>
    public string FileName { get; }
}
