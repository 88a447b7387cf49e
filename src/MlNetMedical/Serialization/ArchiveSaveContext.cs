using System.Runtime.InteropServices;
using System.Text.Json;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>
/// Where one of the framework's transformers writes itself inside a model file: a JSON config plus named binary blobs
/// (weights), in its own folder. Composite transformers save their parts as children.
/// </summary>
public sealed class ArchiveSaveContext
{
    private readonly IDictionary<string, byte[]> _entries;
    private readonly string _folder;
    private readonly ModelOperationsCatalog _catalog;

    private ArchiveSaveContext(IDictionary<string, byte[]> entries, string folder, ModelOperationsCatalog catalog)
    {
        _entries = entries;
        _folder = folder;
        _catalog = catalog;
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

    /// <summary>Saves <paramref name="child"/> in a sub-folder named <paramref name="name"/>: a framework transformer as
    /// itself, an ML.NET transformer as ML.NET saves it, a <see cref="TransformerChain{TLastTransformer}"/> stage by stage.</summary>
    public void SaveChild(string name, ITransformer child) =>
        Save(child, _entries, _folder + ModelArchive.ChildFolder + ModelArchive.CheckName(name, nameof(name)) + "/", _catalog);

    /// <summary>
    /// Saves <paramref name="transformer"/> into <paramref name="folder"/>. A chain (nested chains flattened) is split into
    /// segments: each framework transformer on its own, each run of consecutive ML.NET transformers as one ML.NET model zip.
    /// </summary>
    internal static void Save(ITransformer transformer, IDictionary<string, byte[]> entries, string folder, ModelOperationsCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        if (IsChain(transformer))
        {
            var stages = Flatten(transformer).ToList();
            var segments = new List<List<ITransformer>>();
            foreach (var stage in stages)
            {
                if (stage is IMedicalTransformer || segments.Count == 0 || segments[^1][0] is IMedicalTransformer) segments.Add([stage]);
                else segments[^1].Add(stage);
            }
            var context = Header(entries, folder, catalog, ArchiveLoadContext.ChainType, 1);
            context.WriteConfig(new ArchiveLoadContext.ChainConfig(segments.Count, stages.Count));
            for (var i = 0; i < segments.Count; i++)
            {
                var child = folder + ModelArchive.ChildFolder + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/";
                if (segments[i] is [IMedicalTransformer component]) SaveComponent(component, entries, child, catalog);
                else SaveMlNet(segments[i], entries, child, catalog);
            }
        }
        else if (transformer is IMedicalTransformer component) SaveComponent(component, entries, folder, catalog);
        else SaveMlNet([transformer], entries, folder, catalog);
    }

    /// <summary>Whether <paramref name="transformer"/> is ML.NET's <see cref="TransformerChain{TLastTransformer}"/>.</summary>
    internal static bool IsChain(ITransformer transformer) =>
        transformer.GetType() is { IsGenericType: true } t && t.GetGenericTypeDefinition() == typeof(TransformerChain<>);

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer) =>
        IsChain(transformer) ? ((IEnumerable<ITransformer>)transformer).SelectMany(Flatten) : [transformer];

    private static void SaveComponent(IMedicalTransformer component, IDictionary<string, byte[]> entries, string folder, ModelOperationsCatalog catalog)
    {
        var (name, version) = ModelRegistry.Describe(component);
        component.SaveToArchive(Header(entries, folder, catalog, name, version));
    }

    // ML.NET cannot save our volume column type, so the input schema is left to our manifest (null here).
    private static void SaveMlNet(IReadOnlyList<ITransformer> stages, IDictionary<string, byte[]> entries, string folder, ModelOperationsCatalog catalog)
    {
        var names = stages.Select(s => TypeName(s.GetType())).ToArray();
        using var zip = new MemoryStream();
        try
        {
            catalog.Save(new TransformerChain<ITransformer>(stages.ToArray()), null, zip);
        }
        catch (Exception e) when (e is not (MedicalModelSaveException or OutOfMemoryException))
        {
            throw new InvalidOperationException(
                $"ml.Model.SaveMedical: ML.NET could not save {string.Join(", ", names)}: {e.Message} (the model file stores ML.NET's " +
                "transformers through ml.Model.Save, and the framework's components registered with ModelRegistry)", e);
        }
        var context = Header(entries, folder, catalog, ArchiveLoadContext.MlNetType, 1);
        context.WriteConfig(new ArchiveLoadContext.MlNetConfig(names));
        context.WriteBlob(ArchiveLoadContext.MlNetBlob, zip.ToArray());
    }

    // "CustomMappingTransformer<Row, Row>": readable in errors and configs (FullName spells out assembly-qualified arguments).
    private static string TypeName(Type t) =>
        t.IsGenericType ? $"{t.Name[..t.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", t.GetGenericArguments().Select(TypeName))}>" : t.Name;

    private static ArchiveSaveContext Header(IDictionary<string, byte[]> entries, string folder, ModelOperationsCatalog catalog, string type, int version)
    {
        var context = new ArchiveSaveContext(entries, folder, catalog);
        context.Put(ModelArchive.TypeEntry, JsonSerializer.SerializeToUtf8Bytes(new TransformerHeader(type, version), ModelArchive.JsonOptions));
        return context;
    }

    private void Put(string relative, byte[] data)
    {
        var path = _folder + relative;
        if (!_entries.TryAdd(path, data)) throw new InvalidOperationException($"model entry '{path}' was written twice");
    }
}

/// <summary>Names the transformer type saved in a folder, and its config version.</summary>
internal sealed record TransformerHeader(string Type, int Version);
