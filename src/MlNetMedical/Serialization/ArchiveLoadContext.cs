using System.Runtime.InteropServices;
using System.Text.Json;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>What a transformer's loader reads back: its config, blobs and children, and the saved config version.</summary>
public sealed class ArchiveLoadContext
{
    private readonly IReadOnlyDictionary<string, byte[]> _entries;
    private readonly string _folder;
    private readonly string _archive;

    private ArchiveLoadContext(IReadOnlyDictionary<string, byte[]> entries, string folder, string archive, int version)
    {
        _entries = entries;
        _folder = folder;
        _archive = archive;
        Version = version;
    }

    /// <summary>The config version the transformer was saved with.</summary>
    public int Version { get; }

    /// <summary>"archive 'x.zip', folder 'model/…'" for error messages.</summary>
    public string Where => $"model archive '{_archive}', folder '{_folder}'";

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
        Load(_entries, _folder + ModelArchive.ChildFolder + ModelArchive.CheckName(name, nameof(name)) + "/", _archive);

    internal static ITransformer Load(IReadOnlyDictionary<string, byte[]> entries, string folder, string archive)
    {
        var where = $"model archive '{archive}', folder '{folder}'";
        if (!entries.TryGetValue(folder + ModelArchive.TypeEntry, out var headerBytes))
            throw new InvalidDataException($"{where}: missing {ModelArchive.TypeEntry}");
        TransformerHeader header;
        try
        {
            header = JsonSerializer.Deserialize<TransformerHeader>(headerBytes, ModelArchive.ReadOptions)
                     ?? throw new InvalidDataException($"{where}: {ModelArchive.TypeEntry} is null");
            if (string.IsNullOrEmpty(header.Type)) throw new InvalidDataException($"{where}: {ModelArchive.TypeEntry} names no transformer type");
            if (header.Version < 1) throw new InvalidDataException($"{where}: {ModelArchive.TypeEntry} has config version {header.Version}; versions start at 1");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: {ModelArchive.TypeEntry} is not valid JSON: {e.Message}", e);
        }
        return ModelRegistry.Load(header.Type, new ArchiveLoadContext(entries, folder, archive, header.Version));
    }

    private byte[] Get(string relative) =>
        _entries.TryGetValue(_folder + relative, out var bytes)
            ? bytes
            : throw new InvalidDataException($"{Where}: missing entry '{relative}'");
}
