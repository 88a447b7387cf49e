using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>What a transformer's loader reads back: its config, blobs and children, and the saved config version.</summary>
public sealed class ArchiveLoadContext
{
    internal const string ChainType = "TransformerChain";
    internal const string MlNetType = "MlNet";
    internal const string MlNetBlob = "mlnet.zip";

    /// <summary>Config of a chain folder: its segments are children "0", "1", …; <paramref name="Stages"/> counts the transformers.</summary>
    internal sealed record ChainConfig(int Segments, int Stages);

    /// <summary>Config of an ML.NET folder: the saved transformers' type names (for people; loading checks the count).</summary>
    internal sealed record MlNetConfig(IReadOnlyList<string> Stages);

    private readonly ArchiveReader _reader;
    private readonly string _folder;

    private ArchiveLoadContext(ArchiveReader reader, string folder, int version)
    {
        _reader = reader;
        _folder = folder;
        Version = version;
    }

    /// <summary>The config version the transformer was saved with.</summary>
    public int Version { get; }

    /// <summary>"model archive 'x.zip', folder 'model/…'" for error messages.</summary>
    public string Where => $"model archive '{_reader.Archive}', folder '{_folder}'";

    /// <summary>
    /// Reads the config written by <see cref="ArchiveSaveContext.WriteConfig{TConfig}"/>. A null or missing value for a non-nullable
    /// property, or for a constructor parameter without a default, is an <see cref="InvalidDataException"/>.
    /// </summary>
    public TConfig ReadConfig<TConfig>()
    {
        var bytes = Get(ModelArchive.ConfigEntry);
        try
        {
            return JsonSerializer.Deserialize<TConfig>(bytes, ModelArchive.ReadOptions)
                   ?? throw new InvalidDataException($"{Where}: config is null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{Where}: config is not a valid {typeof(TConfig).Name}: {e.Message}", e);
        }
    }

    /// <summary>Reads a blob written by <see cref="ArchiveSaveContext.WriteBlob"/>.</summary>
    public byte[] ReadBlob(string name) => Get(ModelArchive.BlobFolder + ModelArchive.CheckName(name, nameof(name)));

    /// <summary>Reads a float32 blob and checks it holds <paramref name="expectedCount"/> values.</summary>
    public float[] ReadSingles(string name, int expectedCount)
    {
        var bytes = ReadBlob(name);
        if (bytes.Length != expectedCount * sizeof(float))
            throw new InvalidDataException($"{Where}: blob '{name}' holds {bytes.Length / sizeof(float)} floats, the config needs {expectedCount}");
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    /// <summary>Loads the child saved by <see cref="ArchiveSaveContext.SaveChild"/>.</summary>
    public ITransformer LoadChild(string name) =>
        Load(_reader, _folder + ModelArchive.ChildFolder + ModelArchive.CheckName(name, nameof(name)) + "/");

    /// <summary>Loads the transformer saved in <paramref name="folder"/> (a chain comes back as a
    /// <see cref="TransformerChain{TLastTransformer}"/> of <see cref="ITransformer"/>).</summary>
    internal static ITransformer Load(ArchiveReader reader, string folder)
    {
        var context = Open(reader, folder, out var type);
        switch (type)
        {
            case ChainType:
                var config = context.ReadConfig<ChainConfig>();
                if (config.Segments < 0 || config.Stages < config.Segments)
                    throw new InvalidDataException($"{context.Where}: chain config has {config.Segments} segments and {config.Stages} stages");
                var stages = new List<ITransformer>();
                for (var i = 0; i < config.Segments; i++)
                {
                    var child = folder + ModelArchive.ChildFolder + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/";
                    var segment = Open(reader, child, out var segmentType);
                    if (segmentType == ChainType) throw new InvalidDataException($"{segment.Where}: a chain segment cannot be a chain");
                    stages.AddRange(segmentType == MlNetType ? segment.LoadMlNet() : [ModelRegistry.Load(segmentType, segment)]);
                }
                if (stages.Count != config.Stages)
                    throw new InvalidDataException($"{context.Where}: chain config has {config.Stages} stages, its segments hold {stages.Count}");
                return new TransformerChain<ITransformer>(stages.ToArray());
            case MlNetType:
                var single = context.LoadMlNet();
                return single.Count == 1 ? single[0]
                    : throw new InvalidDataException($"{context.Where}: a single ML.NET transformer was expected, the folder holds {single.Count}");
            default:
                return ModelRegistry.Load(type, context);
        }
    }

    // Children nest through loaders; a file cannot make that recursion deep.
    private const int MaxDepth = 32;

    private static ArchiveLoadContext Open(ArchiveReader reader, string folder, out string type)
    {
        var where = $"model archive '{reader.Archive}', folder '{folder}'";
        if (folder.Split(ModelArchive.ChildFolder).Length > MaxDepth + 1)
            throw new InvalidDataException($"{where}: transformers nest more than {MaxDepth} levels deep");
        if (!reader.Entries.TryGetValue(folder + ModelArchive.TypeEntry, out var headerBytes))
            throw new InvalidDataException($"{where}: missing {ModelArchive.TypeEntry}");
        TransformerHeader header;
        try
        {
            header = JsonSerializer.Deserialize<TransformerHeader>(headerBytes, ModelArchive.ReadOptions)
                     ?? throw new InvalidDataException($"{where}: {ModelArchive.TypeEntry} is null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: {ModelArchive.TypeEntry} is not valid JSON: {e.Message}", e);
        }
        if (string.IsNullOrEmpty(header.Type)) throw new InvalidDataException($"{where}: {ModelArchive.TypeEntry} names no transformer type");
        if (header.Version < 1) throw new InvalidDataException($"{where}: {ModelArchive.TypeEntry} has config version {header.Version}; versions start at 1");
        if (header.Type is ChainType or MlNetType && header.Version > 1)
            throw new InvalidDataException($"{where}: '{header.Type}' was saved with version {header.Version}, this code reads version 1");
        type = header.Type;
        return new ArchiveLoadContext(reader, folder, header.Version);
    }

    /// <summary>The transformers of an ML.NET folder: its zip is checked against the limits (it counts with the outer file)
    /// and read through bounded reads before ML.NET's own loader sees it.</summary>
    private List<ITransformer> LoadMlNet()
    {
        var config = ReadConfig<MlNetConfig>();
        if (config.Stages.Count == 0) throw new InvalidDataException($"{Where}: ML.NET folder lists no transformers");
        var zip = ReadBlob(MlNetBlob);
        var entry = $"model archive '{_reader.Archive}', entry '{_folder}{ModelArchive.BlobFolder}{MlNetBlob}'";
        _reader.CheckNestedZip(zip, entry);
        ITransformer model;
        try
        {
            model = _reader.Catalog.Load(new MemoryStream(zip, writable: false), out _);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{entry}: ML.NET cannot load it ({e.GetType().Name}): {e.Message}", e);
        }
        var stages = model is IEnumerable<ITransformer> chain ? chain.ToList() : [model];
        if (stages.Count != config.Stages.Count)
            throw new InvalidDataException($"{entry}: holds {stages.Count} transformers, its config lists {config.Stages.Count}");
        return stages;
    }

    private byte[] Get(string relative) =>
        _reader.Entries.TryGetValue(_folder + relative, out var bytes)
            ? bytes
            : throw new InvalidDataException($"{Where}: missing entry '{relative}'");
}

/// <summary>The verified entries of one model file, the catalog that loads its ML.NET parts, and what the limits have left.</summary>
internal sealed class ArchiveReader(IReadOnlyDictionary<string, byte[]> entries, string archive, ModelOperationsCatalog catalog, ModelFileLimits limits,
    long entryCount, long byteCount)
{
    public IReadOnlyDictionary<string, byte[]> Entries { get; } = entries;
    public string Archive { get; } = archive;
    public ModelOperationsCatalog Catalog { get; } = catalog;

    private long _entryCount = entryCount;
    private long _byteCount = byteCount;

    /// <summary>
    /// Checks an ML.NET model zip before ML.NET reads it: its entries count against <see cref="ModelFileLimits.MaxEntries"/>
    /// and <see cref="ModelFileLimits.MaxTotalBytes"/> together with the outer file's, each against
    /// <see cref="ModelFileLimits.MaxEntryBytes"/> (all from the central directory first), paths must be clean and relative,
    /// and every entry must decompress to exactly its declared length (bounded reads), so ML.NET's own reads are bounded too.
    /// </summary>
    public void CheckNestedZip(byte[] zipBytes, string where)
    {
        try
        {
            using var zip = new ZipArchive(new MemoryStream(zipBytes, writable: false), ZipArchiveMode.Read);
            var all = zip.Entries;
            _entryCount += all.Count;
            if (_entryCount > limits.MaxEntries)
                throw new InvalidDataException($"{where}: with its {all.Count:N0} entries the model file holds more than the limit of {limits.MaxEntries:N0} (ModelFileLimits.MaxEntries); refusing to load it");
            foreach (var e in all)
            {
                var segments = e.FullName.Split('/');
                if (e.FullName.Length == 0 || e.FullName.Contains('\\') || e.FullName.Contains(':') || e.FullName.StartsWith('/')
                    || segments.Any(s => s is "." or "..") || segments[..^1].Any(s => s.Length == 0))
                    throw new InvalidDataException($"{where} has entry '{e.FullName}' outside its root; refusing to load it");
                if (e.Length < 0 || e.Length > limits.MaxEntryBytes)
                    throw new InvalidDataException($"{where}: entry '{e.FullName}' declares {e.Length:N0} bytes, more than the limit of {limits.MaxEntryBytes:N0} (ModelFileLimits.MaxEntryBytes); refusing to decompress it");
                if (e.CompressedLength < 0 || e.CompressedLength > zipBytes.Length)
                    throw new InvalidDataException($"{where}: entry '{e.FullName}' declares {e.CompressedLength:N0} compressed bytes, but the zip has {zipBytes.Length:N0}; it is truncated or corrupt");
                _byteCount += e.Length;
                if (_byteCount > limits.MaxTotalBytes)
                    throw new InvalidDataException($"{where}: with its entries the model file declares more than {limits.MaxTotalBytes:N0} bytes in all (ModelFileLimits.MaxTotalBytes); refusing to decompress them");
            }
            foreach (var e in all) ModelArchive.ReadBounded(e, where);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("model archive", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{where} is not a readable zip file: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or NotSupportedException or ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"{where} is not a readable zip file ({e.GetType().Name}): {e.Message}", e);
        }
    }
}
