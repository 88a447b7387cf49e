using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>
/// The model file: a zip holding <c>manifest.json</c> (format name and version, library version, input
/// schema, the input preprocessing chain (optional; the <see cref="TransformChain"/> JSON document, absent in files
/// written before it was recorded), and the length and SHA-256 of every other entry) and, under <c>model/</c>, one folder per
/// transformer with <c>transformer.json</c> (type name and config version), <c>config.json</c>,
/// <c>blobs/NAME</c> and <c>children/NAME/</c>.
/// </summary>
/// <remarks>
/// Loading rejects, with a message naming the archive and entry: entries outside the root (absolute paths,
/// '..', backslashes, anything but the manifest and <c>model/…</c>), an unknown format name or version, entries
/// missing from or not listed in the manifest, and entries whose length or hash differs from it.
/// </remarks>
public static partial class ModelArchive
{
    /// <summary>The format name in the manifest.</summary>
    public const string FormatName = "mlnm-model";

    /// <summary>The archive format version this code writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The manifest's entry name.</summary>
    public const string ManifestEntry = "manifest.json";

    /// <summary>The folder holding the root transformer.</summary>
    public const string RootFolder = "model/";

    internal const string TypeEntry = "transformer.json";
    internal const string ConfigEntry = "config.json";
    internal const string BlobFolder = "blobs/";
    internal const string ChildFolder = "children/";

    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>One entry as listed in the manifest.</summary>
    public sealed record EntryRecord(string Path, long Length, string Sha256);

    /// <summary>The manifest.</summary>
    public sealed record Manifest(
        string Format, int FormatVersion, string LibraryVersion, DateTime CreatedUtc,
        IReadOnlyList<ColumnRecord>? InputSchema, IReadOnlyList<EntryRecord> Entries, JsonElement? Preprocessing = null);

    /// <summary>
    /// Writes <paramref name="model"/> (and the schema it expects, if given) to <paramref name="stream"/>. The preprocessing
    /// chain recorded is <paramref name="preprocessing"/>, else the schema's <see cref="DataViewSchema.Preprocessing"/>;
    /// it is stored with the input schema, so a chain without a schema is refused.
    /// </summary>
    public static void Save(ITransformer model, DataViewSchema? inputSchema, Stream stream, TransformChain? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        preprocessing ??= inputSchema?.Preprocessing;
        if (preprocessing is not null && inputSchema is null)
            throw new ArgumentException("a preprocessing chain is saved as part of the input schema; pass the schema of the data the model was trained on", nameof(preprocessing));
        var entries = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        ModelSaveContext.Save(model, entries, RootFolder);
        var manifest = new Manifest(FormatName, FormatVersion, LibraryVersion, DateTime.UtcNow,
            inputSchema is null ? null : ColumnTypeCodec.ToRecords(inputSchema),
            entries.Select(e => new EntryRecord(e.Key, e.Value.Length, Hash(e.Value))).ToArray(),
            preprocessing is null ? null : JsonDocument.Parse(preprocessing.ToJson()).RootElement.Clone());
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        Write(zip, ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions));
        foreach (var (path, data) in entries) Write(zip, path, data);
    }

    /// <summary>
    /// Reads a model written by <see cref="Save"/>; <paramref name="archiveName"/> names it in errors. <paramref name="inputSchema"/>
    /// carries the recorded preprocessing chain in <see cref="DataViewSchema.Preprocessing"/> (null for files without one).
    /// </summary>
    public static ITransformer Load(Stream stream, string archiveName, out DataViewSchema? inputSchema)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Dictionary<string, byte[]> entries;
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/') && entry.Length == 0) continue;   // folder marker
                CheckEntryPath(entry.FullName, archiveName);
                using var s = entry.Open();
                using var copy = new MemoryStream();
                s.CopyTo(copy);
                if (!entries.TryAdd(entry.FullName, copy.ToArray()))
                    throw new InvalidDataException($"model archive '{archiveName}' has entry '{entry.FullName}' twice");
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("model archive", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"model archive '{archiveName}' is not a readable zip file: {e.Message}", e);
        }

        var manifest = ReadManifest(entries, archiveName);
        var listed = new Dictionary<string, EntryRecord>(StringComparer.Ordinal);
        foreach (var e in manifest.Entries)
            if (!listed.TryAdd(e.Path, e))
                throw new InvalidDataException($"model archive '{archiveName}': manifest lists '{e.Path}' twice");
        foreach (var (path, data) in entries)
        {
            if (path == ManifestEntry) continue;
            if (!listed.TryGetValue(path, out var record))
                throw new InvalidDataException($"model archive '{archiveName}' has entry '{path}' that its manifest does not list");
            if (record.Length != data.Length || !string.Equals(record.Sha256, Hash(data), StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"model archive '{archiveName}': entry '{path}' does not match its manifest (length or SHA-256 differs); the file is corrupt or was edited");
        }
        foreach (var path in listed.Keys)
            if (!entries.ContainsKey(path))
                throw new InvalidDataException($"model archive '{archiveName}': manifest lists '{path}' but the archive lacks it");

        inputSchema = manifest.InputSchema is null ? null
            : ColumnTypeCodec.FromRecords(manifest.InputSchema, $"model archive '{archiveName}', manifest input schema", ReadPreprocessing(manifest, archiveName));
        return ModelLoadContext.Load(entries, RootFolder, archiveName);
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

    private static Manifest ReadManifest(Dictionary<string, byte[]> entries, string archiveName)
    {
        if (!entries.TryGetValue(ManifestEntry, out var bytes))
            throw new InvalidDataException($"model archive '{archiveName}' has no {ManifestEntry}; it is not an MlNetMedical model");
        Manifest? manifest;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            var format = root.TryGetProperty("format", out var f) ? f.GetString() : null;
            if (format != FormatName)
                throw new InvalidDataException($"model archive '{archiveName}' has format '{format}', expected '{FormatName}'");
            var version = root.TryGetProperty("formatVersion", out var v) && v.TryGetInt32(out var n) ? n : -1;
            if (version != FormatVersion)
                throw new InvalidDataException($"model archive '{archiveName}' has format version {version}; this MlNetMedical ({LibraryVersion}) reads version {FormatVersion}");
            manifest = root.Deserialize<Manifest>(JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"model archive '{archiveName}': {ManifestEntry} is not valid JSON: {e.Message}", e);
        }
        if (manifest?.Entries is null) throw new InvalidDataException($"model archive '{archiveName}': {ManifestEntry} lists no entries");
        foreach (var e in manifest.Entries) CheckEntryPath(e.Path, archiveName);
        return manifest;
    }

    private static TransformChain? ReadPreprocessing(Manifest manifest, string archiveName)
    {
        if (manifest.Preprocessing is not { ValueKind: not JsonValueKind.Null } chain) return null;
        try { return TransformChain.FromJson(chain.GetRawText()); }
        catch (Exception e) when (e is ArgumentException or JsonException or NotSupportedException)
        {
            throw new InvalidDataException($"model archive '{archiveName}': the manifest's preprocessing chain is not valid: {e.Message}", e);
        }
    }

    private static void Write(ZipArchive zip, string path, byte[] data)
    {
        using var s = zip.CreateEntry(path, CompressionLevel.Optimal).Open();
        s.Write(data);
    }

    private static string Hash(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
