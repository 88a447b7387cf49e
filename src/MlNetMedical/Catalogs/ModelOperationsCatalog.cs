using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;

namespace MlNetMedical.Catalogs;

/// <summary>Saving and loading models (ML.NET's <c>ModelOperationsCatalog</c>). The file format is described on <see cref="ModelArchive"/>.</summary>
public sealed partial class ModelOperationsCatalog : CatalogBase
{
    internal ModelOperationsCatalog(MedicalContext context) : base(context) { }

    /// <summary>
    /// Writes <paramref name="model"/> and the schema it expects to a .zip file (whole, through a temporary file and a rename),
    /// with the input preprocessing chain:
    /// <paramref name="preprocessing"/> if given, else the one the schema's data view applies
    /// (<see cref="DataViewSchema.Preprocessing"/>, set by <c>ml.Data.LoadFromManifest</c> and <c>LoadFromDecathlon</c>).
    /// </summary>
    public void Save(ITransformer model, DataViewSchema? inputSchema, string filePath, TransformChain? preprocessing = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        // Whole or not at all: a failed or interrupted save leaves the previous file (or none), never a truncated one.
        AtomicFile.Write(filePath, temporary =>
        {
            using var stream = File.Create(temporary);
            ModelArchive.Save(model, inputSchema, stream, preprocessing);
        });
        Context.WriteLog(LogKind.Info, "Model", $"saved model to {filePath}");
    }

    /// <summary>Writes <paramref name="model"/> to a .zip file without an input schema.</summary>
    public void Save(ITransformer model, string filePath) => Save(model, null, filePath);

    /// <summary>Writes <paramref name="model"/> to a stream.</summary>
    public void Save(ITransformer model, DataViewSchema? inputSchema, Stream stream, TransformChain? preprocessing = null) =>
        ModelArchive.Save(model, inputSchema, stream, preprocessing);

    /// <summary>
    /// Reads a model; <paramref name="inputSchema"/> is the schema saved with it (null if none was), its
    /// <see cref="DataViewSchema.Preprocessing"/> the recorded preprocessing chain: pass that to <c>ml.Data.LoadFromManifest</c>
    /// so new data gets the training preprocessing. The file is treated as untrusted: <paramref name="limits"/> (default
    /// <see cref="ModelFileLimits.Default"/>) bounds what it may make the loader decompress, and every problem with it is an
    /// <see cref="InvalidDataException"/> naming it (see <see cref="ModelArchive.Load"/>).
    /// </summary>
    public ITransformer Load(string filePath, out DataViewSchema? inputSchema, ModelFileLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        if (!File.Exists(filePath)) throw new FileNotFoundException($"model file '{filePath}' does not exist", filePath);
        using var stream = File.OpenRead(filePath);
        return WithContextCompute(ModelArchive.Load(stream, filePath, out inputSchema, limits));
    }

    /// <summary>Reads a model from a stream (see <see cref="Load(string, out DataViewSchema?, ModelFileLimits?)"/>).</summary>
    public ITransformer Load(Stream stream, out DataViewSchema? inputSchema, ModelFileLimits? limits = null) =>
        WithContextCompute(ModelArchive.Load(stream, "(stream)", out inputSchema, limits));

    // Loaded networks run on this context's device with its thread budget.
    private ITransformer WithContextCompute(ITransformer model)
    {
        foreach (var network in MlNetMedical.Trainers.NetworkModel.All(model)) network.Compute = Context.Compute;
        return model;
    }

    /// <summary>Registers a custom transformer type so models containing it can be saved and loaded (see <see cref="ModelRegistry"/>).</summary>
    public void RegisterTransformer<TTransformer>(string name, int version, Func<ArchiveLoadContext, TTransformer> load) where TTransformer : ITransformer =>
        ModelRegistry.Register(name, version, load);
}
