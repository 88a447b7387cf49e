using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>
/// The model file (<c>ml.Model.SaveMedical</c> / <c>LoadMedical</c>): a zip holding <c>manifest.json</c> (format name and version,
/// library version, the input schema with the preprocessing chain annotated on its image column, and the length and SHA-256 of
/// every other entry) and, under <c>model/</c>, one folder per transformer with <c>transformer.json</c> (type name and config
/// version), <c>config.json</c>, <c>blobs/NAME</c> and <c>children/NAME/</c>.
/// </summary>
/// <remarks>
/// <para>
/// A <see cref="TransformerChain{TLastTransformer}"/> (nested chains flattened) is a <c>TransformerChain</c> folder whose children
/// <c>0</c>, <c>1</c>, … are its segments: each framework component (<see cref="IMedicalTransformer"/>, registered with
/// <see cref="ModelRegistry"/>) on its own, and each run of consecutive ML.NET transformers as one <c>MlNet</c> folder holding
/// ML.NET's own model zip (<c>blobs/mlnet.zip</c>, written by <c>ml.Model.Save</c> without an input schema, since ML.NET cannot
/// save the volume column type; the manifest records the schema). Loading gives a <c>TransformerChain&lt;ITransformer&gt;</c>
/// (transformer scopes are not kept); a single transformer saved at the root comes back as itself.
/// </para>
/// <para>
/// Loading rejects, with an <see cref="InvalidDataException"/> naming the archive and entry: more entries or bytes than
/// <see cref="ModelFileLimits"/> allow (checked from the central directory before decompressing; the entries of the nested ML.NET
/// zips count too), entries outside the root (absolute paths, '..', backslashes, anything but the manifest and <c>model/…</c>),
/// duplicate entries, an unknown format name or version, entries missing from or not listed in the manifest, entries whose length
/// or hash differs from it, a truncated or corrupt zip (outer or nested), an ML.NET part ML.NET cannot load, and volume column
/// types not on the <see cref="VolumeTypes"/> allow-list. The ML.NET parts are then read by ML.NET's loader, which trusts their
/// content as <c>ml.Model.Load</c> does.
/// </para>
/// </remarks>
public static partial class ModelArchive
{
    /// <summary>The format name in the manifest.</summary>
    public const string FormatName = "mlnm-model";

    /// <summary>The archive format version this code writes and reads (2: ML.NET's transformers stored as ML.NET saves them).</summary>
    public const int FormatVersion = 2;

    /// <summary>The manifest's entry name.</summary>
    public const string ManifestEntry = "manifest.json";

    /// <summary>The folder holding the root transformer.</summary>
    public const string RootFolder = "model/";

    internal const string TypeEntry = "transformer.json";
    internal const string ConfigEntry = "config.json";
    internal const string BlobFolder = "blobs/";
    internal const string ChildFolder = "children/";

    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// How JSON from a model file is read: as <see cref="JsonOptions"/>, and a null or missing value for a non-nullable
    /// property or a constructor parameter without a default is a <see cref="JsonException"/> (so loaders never see a null they
    /// did not declare). Every file this code writes has every property.
    /// </summary>
    internal static readonly JsonSerializerOptions ReadOptions = new(JsonOptions) { RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true };

    /// <summary>One entry as listed in the manifest.</summary>
    public sealed record EntryRecord(string Path, long Length, string Sha256);

    /// <summary>The manifest.</summary>
    public sealed record Manifest(
        string Format, int FormatVersion, string LibraryVersion, DateTime CreatedUtc,
        IReadOnlyList<ColumnRecord>? InputSchema, IReadOnlyList<EntryRecord> Entries);

    /// <summary>
    /// Writes <paramref name="model"/> (and the schema it expects, if given) to <paramref name="stream"/>; <paramref name="catalog"/>
    /// saves the ML.NET parts. The preprocessing chain recorded is the one annotated on the schema's columns
    /// (<see cref="PreprocessingAnnotation"/>), or <paramref name="preprocessing"/> on its image column
    /// (<see cref="ColumnTypeCodec.PreprocessingColumn"/>); it is part of the input schema, so a chain without a schema is refused.
    /// </summary>
    public static void Save(ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema, Stream stream, TransformChain? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        if (preprocessing is not null && inputSchema is null)
            throw new ArgumentException("a preprocessing chain is saved as part of the input schema; pass the schema of the data the model was trained on", nameof(preprocessing));
        var schema = inputSchema is null ? null : ColumnTypeCodec.ToRecords(inputSchema, preprocessing);
        var entries = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        ArchiveSaveContext.Save(model, entries, RootFolder, catalog);
        var manifest = new Manifest(FormatName, FormatVersion, LibraryVersion, DateTime.UtcNow, schema,
            entries.Select(e => new EntryRecord(e.Key, e.Value.Length, Hash(e.Value))).ToArray());
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        Write(zip, ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions));
        foreach (var (path, data) in entries) Write(zip, path, data);
    }

    /// <summary>
    /// Reads a model written by <see cref="Save"/>; <paramref name="archiveName"/> names it in errors, <paramref name="catalog"/>
    /// loads the ML.NET parts. <paramref name="inputSchema"/> carries the recorded preprocessing chain as the
    /// <see cref="PreprocessingAnnotation"/> of its image column. <paramref name="limits"/> (default
    /// <see cref="ModelFileLimits.Default"/>) bounds what the file may make it decompress.
    /// </summary>
    /// <remarks>
    /// The file is untrusted input: sizes and entry counts are checked against <paramref name="limits"/> from the zip's central
    /// directory before anything is decompressed, the manifest is read first, every entry is read through a bounded read that
    /// stops at its declared length, and its length and SHA-256 are checked against the manifest before any loader sees it; a
    /// nested ML.NET zip is checked the same way before ML.NET reads it. Every problem with the file is an
    /// <see cref="InvalidDataException"/> whose message names it (a zip library or ML.NET error is wrapped, with the original as the
    /// inner exception); an unreadable stream may also throw an <see cref="IOException"/>.
    /// </remarks>
    public static ITransformer Load(ModelOperationsCatalog catalog, Stream stream, string archiveName, out DataViewSchema? inputSchema, ModelFileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(stream);
        limits = (limits ?? ModelFileLimits.Default).Validate();
        var entries = ReadVerified(stream, archiveName, limits, out var manifest, out var entryCount, out var byteCount);
        inputSchema = manifest.InputSchema is null ? null
            : ColumnTypeCodec.FromRecords(manifest.InputSchema, $"model archive '{archiveName}', manifest input schema");
        return ArchiveLoadContext.Load(new ArchiveReader(entries, archiveName, catalog, limits, entryCount, byteCount), RootFolder);
    }

    /// <summary>
    /// The zip's entries (all but the manifest), each checked against <paramref name="limits"/> from the central directory before
    /// anything is decompressed, then read through a bounded read and verified against the manifest (length and SHA-256).
    /// </summary>
    private static Dictionary<string, byte[]> ReadVerified(Stream stream, string archiveName, ModelFileLimits limits, out Manifest manifest,
        out long entryCount, out long byteCount)
    {
        string Prefix() => $"model archive '{archiveName}'";
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            var all = zip.Entries;   // the central directory; nothing is decompressed yet
            if (all.Count > limits.MaxEntries)
                throw new InvalidDataException($"{Prefix()} has {all.Count:N0} entries, more than the limit of {limits.MaxEntries:N0} (ModelFileLimits.MaxEntries); refusing to load it");
            long fileLength = stream.CanSeek ? stream.Length : long.MaxValue;
            var byName = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            long total = 0;
            foreach (var entry in all)
            {
                if (entry.FullName.EndsWith('/') && entry.Length == 0) continue;   // folder marker
                CheckEntryPath(entry.FullName, archiveName);
                if (!byName.TryAdd(entry.FullName, entry))
                    throw new InvalidDataException($"{Prefix()} has entry '{entry.FullName}' twice");
                var (limit, limitName) = entry.FullName == ManifestEntry
                    ? (limits.MaxManifestBytes, nameof(ModelFileLimits.MaxManifestBytes))
                    : (limits.MaxEntryBytes, nameof(ModelFileLimits.MaxEntryBytes));
                if (entry.Length < 0 || entry.Length > limit)
                    throw new InvalidDataException($"{Prefix()}: entry '{entry.FullName}' declares {entry.Length:N0} bytes, more than the limit of {limit:N0} (ModelFileLimits.{limitName}); refusing to decompress it");
                if (entry.CompressedLength < 0 || entry.CompressedLength > fileLength)
                    throw new InvalidDataException($"{Prefix()}: entry '{entry.FullName}' declares {entry.CompressedLength:N0} compressed bytes, but the file has {fileLength:N0}; it is truncated or corrupt");
                total += entry.Length;
                if (total > limits.MaxTotalBytes)
                    throw new InvalidDataException($"{Prefix()}: its entries declare more than {limits.MaxTotalBytes:N0} bytes in all (ModelFileLimits.MaxTotalBytes); refusing to decompress them");
            }
            entryCount = all.Count;
            byteCount = total;

            if (!byName.TryGetValue(ManifestEntry, out var manifestEntry))
                throw new InvalidDataException($"{Prefix()} has no {ManifestEntry}; it is not an MlNetMedical model");
            manifest = ParseManifest(ReadBounded(manifestEntry, Prefix()), archiveName, limits);
            var listed = new Dictionary<string, EntryRecord>(StringComparer.Ordinal);
            foreach (var e in manifest.Entries)
                if (!listed.TryAdd(e.Path, e))
                    throw new InvalidDataException($"{Prefix()}: manifest lists '{e.Path}' twice");
            foreach (var (path, entry) in byName)
            {
                if (path == ManifestEntry) continue;
                if (!listed.TryGetValue(path, out var record))
                    throw new InvalidDataException($"{Prefix()} has entry '{path}' that its manifest does not list");
                if (record.Length != entry.Length)
                    throw new InvalidDataException($"{Prefix()}: entry '{path}' does not match its manifest (the zip declares {entry.Length:N0} bytes, the manifest {record.Length:N0}); the file is corrupt or was edited");
            }
            foreach (var path in listed.Keys)
                if (!byName.ContainsKey(path))
                    throw new InvalidDataException($"{Prefix()}: manifest lists '{path}' but the archive lacks it");

            var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (path, entry) in byName)
            {
                if (path == ManifestEntry) continue;
                var data = ReadBounded(entry, Prefix());
                if (!string.Equals(listed[path].Sha256, Hash(data), StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"{Prefix()}: entry '{path}' does not match its manifest (SHA-256 differs); the file is corrupt or was edited");
                entries.Add(path, data);
            }
            return entries;
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("model archive", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{Prefix()} is not a readable zip file: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or NotSupportedException or ArgumentException or OverflowException)
        {
            // The zip library's other ways of saying the file is truncated or corrupt (e.g. EndOfStreamException).
            throw new InvalidDataException($"{Prefix()} is not a readable zip file ({e.GetType().Name}): {e.Message}", e);
        }
    }

    /// <summary>
    /// The entry's bytes, read through a bounded read: never more than its declared length (already checked against the
    /// limits), and an error if it holds fewer or more bytes than declared. The buffer starts at the declared length when the
    /// entry's compressed bytes (at most the file's length) make that plausible, else it grows as data actually arrives.
    /// </summary>
    /// <remarks><paramref name="where"/> names the zip in errors ("model archive 'x.zip'").</remarks>
    internal static byte[] ReadBounded(ZipArchiveEntry entry, string where)
    {
        long declared = entry.Length;
        var buffer = new byte[Math.Min(declared, Math.Max(1L << 20, 4 * entry.CompressedLength))];
        using var s = entry.Open();
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (filled == declared)
                {
                    Span<byte> one = stackalloc byte[1];
                    if (s.Read(one) > 0)
                        throw new InvalidDataException($"{where}: entry '{entry.FullName}' holds more than the {declared:N0} bytes the zip declares; the file is corrupt");
                    return buffer;
                }
                Array.Resize(ref buffer, (int)Math.Min(declared, 2L * buffer.Length));
            }
            int n = s.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
                throw new InvalidDataException($"{where}: entry '{entry.FullName}' ends after {filled:N0} of the {declared:N0} bytes the zip declares; the file is truncated or corrupt");
            filled += n;
        }
    }

    /// <summary>The library version written into manifests.</summary>
    public static string LibraryVersion { get; } =
        typeof(ModelArchive).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Throws unless <paramref name="path"/> is the manifest or a clean relative path under <see cref="RootFolder"/>.</summary>
    internal static void CheckEntryPath(string path, string archiveName)
    {
        var segments = path.Split('/');
        var clean = path.Length > 0 && !path.Contains('\\') && !path.Contains(':') && !path.StartsWith('/')
                    && segments.All(s => s.Length > 0 && s != "." && s != "..");
        if (!clean || (path != ManifestEntry && !path.StartsWith(RootFolder, StringComparison.Ordinal)))
            throw new InvalidDataException($"model archive '{archiveName}' has entry '{path}' outside its root; refusing to load it");
    }

    /// <summary>Checks a blob or child name (letters, digits, '.', '_', '-'; not '.' or '..').</summary>
    internal static string CheckName(string name, string parameter)
    {
        if (name is null || !SafeName().IsMatch(name) || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a valid entry name (use letters, digits, '.', '_', '-')", parameter);
        return name;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,100}$")]
    private static partial Regex SafeName();

    private static Manifest ParseManifest(byte[] bytes, string archiveName, ModelFileLimits limits)
    {
        Manifest? manifest;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"model archive '{archiveName}': {ManifestEntry} is not a JSON object");
            var format = root.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            if (format != FormatName)
                throw new InvalidDataException($"model archive '{archiveName}' has format '{format}', expected '{FormatName}'");
            var version = root.TryGetProperty("formatVersion", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : -1;
            if (version != FormatVersion)
                throw new InvalidDataException($"model archive '{archiveName}' has format version {version}; this MlNetMedical ({LibraryVersion}) reads version {FormatVersion}");
            manifest = root.Deserialize<Manifest>(ReadOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"model archive '{archiveName}': {ManifestEntry} is not valid JSON: {e.Message}", e);
        }
        if (manifest?.Entries is null) throw new InvalidDataException($"model archive '{archiveName}': {ManifestEntry} lists no entries");
        if (manifest.Entries.Count > limits.MaxEntries)
            throw new InvalidDataException($"model archive '{archiveName}': {ManifestEntry} lists {manifest.Entries.Count:N0} entries, more than the limit of {limits.MaxEntries:N0} (ModelFileLimits.MaxEntries)");
        foreach (var e in manifest.Entries)
        {
            if (e?.Path is null) throw new InvalidDataException($"model archive '{archiveName}': {ManifestEntry} has an entry without a path");
            CheckEntryPath(e.Path, archiveName);
        }
        if (manifest.InputSchema is not null && manifest.InputSchema.Any(c => c?.Name is null || c.Type?.Kind is null))
            throw new InvalidDataException($"model archive '{archiveName}': {ManifestEntry} has an input schema column without a name or type");
        return manifest;
    }

    private static void Write(ZipArchive zip, string path, byte[] data)
    {
        // ML.NET's own model zips are compressed already (an ONNX featuriser makes one of ~64 MB): storing them as they are
        // saves seconds of deflate for nothing.
        var level = path.EndsWith(".zip", StringComparison.Ordinal) ? CompressionLevel.NoCompression : CompressionLevel.Optimal;
        using var s = zip.CreateEntry(path, level).Open();
        s.Write(data);
    }

    private static string Hash(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
