using MlNetMedical.Serialization;

namespace MlNetMedical.Pipeline;

/// <summary>
/// A transformer of this framework: an ML.NET <see cref="ITransformer"/> that saves into the framework's model file
/// (<c>ml.Model.SaveMedical</c>). ML.NET lets only its own assemblies register model loaders, so
/// <c>ml.Model.Save</c> cannot store these; it fails with a message naming the call that can.
/// </summary>
public interface IMedicalTransformer : ITransformer
{
    /// <summary>The stage name used in errors and in the model file.</summary>
    string StageName { get; }

    /// <summary>Writes config, blobs and children (see <see cref="ArchiveSaveContext"/>). The type must be registered with
    /// <see cref="ModelRegistry"/> under a stable name.</summary>
    void SaveToArchive(ArchiveSaveContext context);
}

/// <summary>What <c>ml.Model.Save</c> gets when it reaches one of the framework's transformers.</summary>
public sealed class MedicalModelSaveException(string stage) : NotSupportedException(
    $"ml.Model.Save cannot store {stage}, a component of MlNetMedical: ML.NET lets only its own assemblies register model loaders. " +
    "Save the model with ml.Model.SaveMedical(model, inputSchema, path) and load it with ml.Model.LoadMedical(path, out inputSchema): " +
    "one file that holds ML.NET's own components as ML.NET saves them and the framework's networks beside them. " +
    "The file ml.Model.Save was writing is incomplete; delete it.")
{
    /// <summary>The stage that could not be stored.</summary>
    public string Stage { get; } = stage;
}
