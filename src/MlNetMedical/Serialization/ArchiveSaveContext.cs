using System.Runtime.InteropServices;
using System.Text.Json;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>
/// Where one transformer writes itself inside a model archive: a JSON config plus named binary blobs
/// (weights), in its own folder. Composite transformers save their parts as children.
/// </summary>
public sealed class ArchiveSaveContext
{
    private readonly IDictionary<string, byte[]> _entries;
    private readonly string _folder;

    internal ArchiveSaveContext(IDictionary<string, byte[]> entries, string folder)
    {
        _entries = entries;
        _folder = folder;
    }

    /// <summary>Writes the transformer's config (serialised with System.Text.Json).</summary>
    public void WriteConfig<TConfig>(TConfig config) =>
        Put(ModelArchive.ConfigEntry, JsonSerializer.SerializeToUtf8Bytes(config, ModelArchive.JsonOptions));

    /// <summary>Writes a named blob. Names use letters, digits, '.', '_' and '-'.</summary>
    public void WriteBlob(string name, ReadOnlySpan<byte> data) => Put(ModelArchive.BlobFolder + ModelArchive.CheckName(name, nameof(name)), data.ToArray());

    /// <summary>Writes a float array as a little-endian float32 blob.</summary>
    public void WriteSingles(string name, ReadOnlySpan<float> values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("model archives are written on little-endian machines only");
        WriteBlob(name, MemoryMarshal.AsBytes(values));
    }

    /// <summary>Saves <paramref name="child"/> in a sub-folder named <paramref name="name"/>.</summary>
    public void SaveChild(string name, ITransformer child) =>
        Save(child, _entries, _folder + ModelArchive.ChildFolder + ModelArchive.CheckName(name, nameof(name)) + "/");

    internal static void Save(ITransformer transformer, IDictionary<string, byte[]> entries, string folder)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        var (name, version) = ModelRegistry.Describe(transformer);
        entries[folder + ModelArchive.TypeEntry] = JsonSerializer.SerializeToUtf8Bytes(new TransformerHeader(name, version), ModelArchive.JsonOptions);
        transformer.Save(new ArchiveSaveContext(entries, folder));
    }

    private void Put(string relative, byte[] data)
    {
        var path = _folder + relative;
        if (!_entries.TryAdd(path, data)) throw new InvalidOperationException($"model entry '{path}' was written twice");
    }
}

/// <summary>Names the transformer type saved in a folder, and its config version.</summary>
internal sealed record TransformerHeader(string Type, int Version);
