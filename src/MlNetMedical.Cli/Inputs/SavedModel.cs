using System.Runtime.InteropServices;
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
    /// Opens <paramref name="path"/> with the preprocessing chain recorded in it (ml.Model.Save stores the training data's);
    /// a chain JSON file <paramref name="preprocessingPath"/>, when given, overrides it.
    /// </summary>
    public static SavedModel Open(MedicalContext ml, string path, string? preprocessingPath)
    {
        if (!File.Exists(path)) throw new CliUserException($"model file '{path}' does not exist (expected a .zip written by ml.Model.Save or mlnm run)");
        ITransformer model;
        DataViewSchema? inputSchema;
        try { model = ml.Model.Load(path, out inputSchema); }
        catch (InvalidDataException e) { throw new CliUserException(e.Message); }
        if (preprocessingPath is null)
            return new SavedModel(path, model, inputSchema?.Preprocessing, inputSchema?.Preprocessing is null ? null : RecordedInModel);
        if (!File.Exists(preprocessingPath)) throw new CliUserException($"preprocessing file '{preprocessingPath}' does not exist (expected a transform chain JSON)");
        try { return new SavedModel(path, model, TransformChain.Load(preprocessingPath), preprocessingPath); }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException or NotSupportedException)
        {
            throw new CliUserException($"preprocessing file '{preprocessingPath}' is not a transform chain JSON ({{\"version\":1,\"transforms\":[...]}}): {e.Message}");
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
            if (Added(schema, next, DefaultColumnNames.Score))
            {
                classifier = StageName(stage);
                classNames = next.GetColumnOrNull(DefaultColumnNames.PredictedLabel)?.Type is KeyDataViewType key
                    ? key.KeyNames
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

    private static string StageName(ITransformer stage) => (stage as RowMappingTransformer)?.StageName ?? stage.GetType().Name;

    /// <summary>The model's stages in order, chains flattened.</summary>
    private static IEnumerable<ITransformer> Stages(ITransformer model) =>
        model.GetType().GetProperty(nameof(TransformerChain<ITransformer>.Transformers))?.GetValue(model) is IReadOnlyList<ITransformer> stages
            ? stages.SelectMany(Stages)
            : [model];
}
