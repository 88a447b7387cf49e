using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Serialization;
using MlNetMedical.Trainers;

namespace MlNetMedical;

/// <summary>
/// Saving and loading models that hold the framework's components, on ML.NET's <c>ml.Model</c>: <c>ml.Model.SaveMedical</c> and
/// <c>ml.Model.LoadMedical</c>. <c>ml.Model.Save</c> cannot store those components (ML.NET lets only its own assemblies register
/// model loaders); this file stores ML.NET's transformers as ML.NET saves them and the framework's beside them, in one zip
/// (format described on <see cref="ModelArchive"/>).
/// </summary>
/// <remarks>
/// ML.NET's catalogs do not expose their <see cref="MLContext"/>; the context of <c>ml.Model</c> is found by
/// <see cref="CatalogContexts"/> (contexts registered by <c>ml.Medical()</c>, else its reflection path pinned to Microsoft.ML
/// 6.0.0). Loading needs it for the device and threads of the loaded networks (<see cref="MedicalSettings.Compute"/>); saving only
/// for its log line.
/// </remarks>
public static class ModelCatalogExtensions
{
    /// <summary>
    /// Writes <paramref name="model"/> and the schema it expects to a .zip file, whole or not at all (through a temporary file and a
    /// rename). The preprocessing chain annotated on the schema's image column (<see cref="PreprocessingAnnotation"/>, set by
    /// <c>ml.Data.LoadFromManifest</c>) is recorded with it, or <paramref name="preprocessing"/> when given.
    /// </summary>
    /// <param name="catalog">ML.NET's <c>ml.Model</c>; it saves the ML.NET parts.</param>
    /// <param name="model">A framework transformer, an ML.NET transformer, or a <see cref="TransformerChain{TLastTransformer}"/> of both.</param>
    /// <param name="inputSchema">The schema of the data the model was trained on (<c>data.Schema</c>), or null.</param>
    /// <param name="filePath">The .zip file to write.</param>
    /// <param name="preprocessing">The preprocessing chain to record on the image column, in place of the schema's.</param>
    public static void SaveMedical(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema, string filePath,
        TransformChain? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        AtomicFile.Write(filePath, temporary =>
        {
            using var stream = File.Create(temporary);
            ModelArchive.Save(catalog, model, inputSchema, stream, preprocessing);
        });
        // The file is written: a context that cannot be found costs the log line, not the save.
        try { CatalogSettings.Medical(catalog).WriteLog(LogKind.Info, "Model", $"saved model to {filePath}"); }
        catch (CatalogContextException) { }
    }

    /// <summary>Writes <paramref name="model"/> to a stream (see
    /// <see cref="SaveMedical(ModelOperationsCatalog, ITransformer, DataViewSchema?, string, TransformChain?)"/>).</summary>
    /// <param name="catalog">ML.NET's <c>ml.Model</c>.</param>
    /// <param name="model">The model.</param>
    /// <param name="inputSchema">The schema of the data the model was trained on, or null.</param>
    /// <param name="stream">Where the zip is written (left open).</param>
    /// <param name="preprocessing">The preprocessing chain to record on the image column, in place of the schema's.</param>
    public static void SaveMedical(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema, Stream stream,
        TransformChain? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ModelArchive.Save(catalog, model, inputSchema, stream, preprocessing);
    }

    /// <summary>
    /// Reads a model written by <c>SaveMedical</c>. The file is treated as untrusted: <paramref name="limits"/> bounds what it may
    /// make the loader decompress, and every problem with it is an <see cref="InvalidDataException"/> naming it (see
    /// <see cref="ModelArchive.Load"/>). The loaded networks run with this context's <see cref="MedicalSettings.Compute"/>.
    /// </summary>
    /// <exception cref="CatalogContextException">The context of <paramref name="catalog"/> cannot be found (a Microsoft.ML other than
    /// 6.0.0 and a context never used with <c>ml.Medical()</c>).</exception>
    /// <param name="catalog">ML.NET's <c>ml.Model</c>; it loads the ML.NET parts.</param>
    /// <param name="filePath">The .zip file.</param>
    /// <param name="inputSchema">The schema saved with the model (null if none was); the recorded preprocessing chain is the
    /// <see cref="PreprocessingAnnotation"/> of its image column (<c>PreprocessingAnnotation.Read(inputSchema)</c>): pass it to
    /// <c>ml.Data.LoadFromManifest</c> so new data gets the training preprocessing.</param>
    /// <param name="limits">Default <see cref="ModelFileLimits.Default"/>.</param>
    /// <returns>The model: a <c>TransformerChain&lt;ITransformer&gt;</c> if a chain was saved, else the single transformer.</returns>
    public static ITransformer LoadMedical(this ModelOperationsCatalog catalog, string filePath, out DataViewSchema? inputSchema, ModelFileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        if (!File.Exists(filePath)) throw new FileNotFoundException($"model file '{filePath}' does not exist", filePath);
        var compute = ComputeOf(catalog);
        using var stream = File.OpenRead(filePath);
        return WithCompute(compute, ModelArchive.Load(catalog, stream, filePath, out inputSchema, limits));
    }

    /// <summary>Reads a model from a stream (see
    /// <see cref="LoadMedical(ModelOperationsCatalog, string, out DataViewSchema?, ModelFileLimits?)"/>).</summary>
    /// <param name="catalog">ML.NET's <c>ml.Model</c>.</param>
    /// <param name="stream">The zip (left open).</param>
    /// <param name="inputSchema">The schema saved with the model, or null.</param>
    /// <param name="limits">Default <see cref="ModelFileLimits.Default"/>.</param>
    /// <returns>The model.</returns>
    public static ITransformer LoadMedical(this ModelOperationsCatalog catalog, Stream stream, out DataViewSchema? inputSchema, ModelFileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var compute = ComputeOf(catalog);
        return WithCompute(compute, ModelArchive.Load(catalog, stream, "(stream)", out inputSchema, limits));
    }

    // Read before loading, so a context that cannot be found or a device that is not there fails before the file is read.
    private static ComputeResources ComputeOf(ModelOperationsCatalog catalog) => CatalogSettings.Medical(catalog).Compute;

    // Loaded networks run on the context's device with its thread budget.
    private static ITransformer WithCompute(ComputeResources compute, ITransformer model)
    {
        foreach (var network in NetworkModel.All(model)) network.Compute = compute;
        return model;
    }
}
