using System.Runtime.InteropServices;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Cli.Inputs;

/// <summary>What a model writes for a given input: class probabilities (with the class names) and/or a mask, and which stage does it.</summary>
public sealed record ModelOutputs(IReadOnlyList<string>? ClassNames, string? ClassifierStage, string? SegmenterStage)
{
    public bool Classifies => ClassNames is not null;
    public bool Segments => SegmenterStage is not null;
}

/// <summary>A model file opened for `evaluate` and `predict`: load errors and schema mismatches become <see cref="CliUserException"/>s.</summary>
public sealed class SavedModel
{
    /// <summary>What <see cref="PreprocessingSource"/> says when the chain is the one recorded in the model file.</summary>
    public const string RecordedInModel = "model";

    private SavedModel(string path, ITransformer model, TransformChain? preprocessing, string? preprocessingSource)
    {
        Path = path;
        Model = model;
        Preprocessing = preprocessing;
        PreprocessingSource = preprocessingSource;
    }

    public string Path { get; }
    public ITransformer Model { get; }

    /// <summary>The preprocessing applied to inputs before the model: the --preprocessing file's, else the one recorded in the model file.</summary>
    public TransformChain? Preprocessing { get; }

    /// <summary>How reports name a preprocessing source ("recorded in the model" or the file's path).</summary>
    public static string DescribePreprocessing(string source) => source == RecordedInModel ? "recorded in the model" : source;

    /// <summary>Where <see cref="Preprocessing"/> came from: the --preprocessing file's path, <see cref="RecordedInModel"/>, or null for none.</summary>
    public string? PreprocessingSource { get; }

    /// <summary>
    /// Opens <paramref name="path"/> with the preprocessing chain recorded in it (ml.Model.SaveMedical stores the training data's);
    /// a chain JSON file <paramref name="preprocessingPath"/>, when given, overrides it.
    /// </summary>
    public static SavedModel Open(MLContext ml, string path, string? preprocessingPath)
    {
        if (!File.Exists(path)) throw new CliUserException($"model file '{path}' does not exist (expected a .zip written by ml.Model.SaveMedical or mlnm run)");
        ITransformer model;
        DataViewSchema? inputSchema;
        try { model = ml.Model.LoadMedical(path, out inputSchema); }
        catch (InvalidDataException e) { throw new CliUserException(NotLoadable(path, e)); }
        catch (UnauthorizedAccessException e) { throw new CliUserException($"model file '{path}' cannot be read: {e.Message}"); }
        catch (IOException e) { throw new CliUserException($"model file '{path}' cannot be read: {e.Message}"); }
        if (preprocessingPath is null)
        {
            var recorded = inputSchema is null ? null : ReadPreprocessing(path, inputSchema);
            return new SavedModel(path, model, recorded, recorded is null ? null : RecordedInModel);
        }
        if (!File.Exists(preprocessingPath)) throw new CliUserException($"preprocessing file '{preprocessingPath}' does not exist (expected a transform chain JSON)");
        try { return new SavedModel(path, model, TransformChain.Load(preprocessingPath), preprocessingPath); }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException or NotSupportedException)
        {
            throw new CliUserException($"preprocessing file '{preprocessingPath}' is not a transform chain JSON ({{\"version\":1,\"transforms\":[...]}}): {e.Message}");
        }
    }

    /// <summary>The message for a file LoadMedical refused; one written by ML.NET's own ml.Model.Save (its zip layout, no
    /// MlNetMedical manifest) says so and names the call that writes a loadable file.</summary>
    private static string NotLoadable(string path, InvalidDataException e)
    {
        if (!LooksLikeMlNetModel(path)) return e.Message;
        return $"model file '{path}' was written by ML.NET's ml.Model.Save, not by ml.Model.SaveMedical or mlnm run; mlnm reads only "
               + "MlNetMedical model files (ML.NET's own format cannot hold the framework's stages): save it with ml.Model.SaveMedical(model, data.Schema, path)";
    }

    // ML.NET's model zips hold Model.key entries (ModelSaveContext's layout) and no MlNetMedical manifest. Only the central
    // directory is read, and only to word the error.
    private static bool LooksLikeMlNetModel(string path)
    {
        try
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(path);
            var names = zip.Entries.Take(10_000).Select(entry => entry.FullName).ToList();
            return !names.Contains(Serialization.ModelArchive.ManifestEntry) && names.Any(name => name.EndsWith("Model.key", StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The preprocessing chain recorded on the model's input schema (<see cref="PreprocessingAnnotation"/>); a bad one is a user error.</summary>
    private static TransformChain? ReadPreprocessing(string path, DataViewSchema inputSchema)
    {
        try { return PreprocessingAnnotation.Read(inputSchema); }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException or NotSupportedException or InvalidDataException)
        {
            throw new CliUserException($"model file '{path}': its recorded preprocessing chain cannot be read: {e.Message}");
        }
    }

    /// <summary>
    /// Walks the model's stages over <paramref name="input"/> and reports what it outputs; a column the model needs but
    /// <paramref name="inputDescription"/> lacks is a user error naming the column and the stage.
    /// </summary>
    public ModelOutputs Outputs(DataViewSchema input, string inputDescription)
    {
        IReadOnlyList<string>? classNames = null;
        string? classifier = null, segmenter = null;
        var schema = input;
        foreach (var stage in Stages(Model))
        {
            DataViewSchema next;
            try { next = stage.GetOutputSchema(schema); }
            catch (SchemaMismatchException e)
            {
                throw new CliUserException($"{inputDescription} does not fit model '{Path}': stage {e.Stage} needs column '{e.ColumnName}' ({e.Expected}), "
                                           + $"but {(e.Actual is null ? "there is no such column" : $"it is {e.Actual}")}; available columns: {e.AvailableColumns}");
            }
            catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
            {
                // ML.NET's own stages (normalizers, trainers) say "Schema mismatch for input column 'X': expected ..., got ...".
                throw new CliUserException($"{inputDescription} does not fit model '{Path}': stage {StageName(stage)}: {e.Message.Split('\n')[0]}; "
                                           + $"available columns: {schema.Describe()}");
            }
            if (Added(schema, next, DefaultColumnNames.Score))
            {
                classifier = StageName(stage);
                classNames = next.GetColumnOrNull(DefaultColumnNames.PredictedLabel) is { Type: KeyDataViewType } predicted
                    ? predicted.ClassNames()
                    : throw new CliUserException($"model '{Path}': stage {classifier} writes '{DefaultColumnNames.Score}' without a '{DefaultColumnNames.PredictedLabel}' key column, so its class names are unknown");
            }
            if (Added(schema, next, DefaultColumnNames.PredictedMask)) segmenter = StageName(stage);
            schema = next;
        }
        if (classifier is null && segmenter is null)
            throw new CliUserException($"model '{Path}' writes neither class probabilities ('{DefaultColumnNames.Score}') nor a mask ('{DefaultColumnNames.PredictedMask}'); "
                                       + $"its output columns are: {schema.Describe()}");
        return new ModelOutputs(classNames, classifier, segmenter);
    }

    /// <summary>
    /// Runs <paramref name="apply"/> (which reads images and applies the model): an unreadable image, or one the network
    /// cannot take (other dimensions or channels), becomes a user error naming <paramref name="what"/>.
    /// </summary>
    public T Apply<T>(Func<T> apply, Func<string> what)
    {
        try { return apply(); }
        catch (ImageFormatException e) { throw new CliUserException(e.Message); }
        catch (Exception e) when (e is ExternalException or ArgumentException)
        {
            throw new CliUserException($"model '{Path}' cannot be applied to {what()}: {e.Message.Split('\n')[0]}");
        }
    }

    private static bool Added(DataViewSchema before, DataViewSchema after, string column) =>
        before.GetColumnOrNull(column) is null && after.GetColumnOrNull(column) is not null;

    private static string StageName(ITransformer stage) => (stage as IMedicalTransformer)?.StageName ?? TypeName(stage.GetType());

    // ML.NET's stages are generic: MulticlassPredictionTransformer<MaximumEntropyModelParameters>.
    private static string TypeName(Type type) => !type.IsGenericType ? type.Name
        : $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>";

    /// <summary>The model's stages in order, chains (ML.NET's <see cref="TransformerChain{TLastTransformer}"/>) flattened.</summary>
    private static IEnumerable<ITransformer> Stages(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Stages) : [model];
}
