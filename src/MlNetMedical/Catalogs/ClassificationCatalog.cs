using MlNetMedical.Data;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;

namespace MlNetMedical.Catalogs;

/// <summary>Classification: trainers, evaluation, cross-validation (ML.NET's <c>MulticlassClassificationCatalog</c>; binary is K = 2).</summary>
public sealed class ClassificationCatalog : CatalogBase
{
    internal ClassificationCatalog(MedicalContext context) : base(context) => Trainers = new ClassificationTrainers(context);

    /// <summary>The classification trainers.</summary>
    public ClassificationTrainers Trainers { get; }

    /// <summary>
    /// Scores predictions: <paramref name="labelColumnName"/> must be a key column (its names become the class names)
    /// and <paramref name="scoreColumnName"/> a vector of per-class probabilities of the same length.
    /// A row with a missing label (key 0) is an error.
    /// </summary>
    public MulticlassClassificationMetrics Evaluate(IDataView data, string labelColumnName = DefaultColumnNames.Label,
        string scoreColumnName = DefaultColumnNames.Score, int topKPredictionCount = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        var evaluator = new ClassificationEvaluator(data.Schema, labelColumnName, scoreColumnName);
        Evaluation.Run(data, evaluator);
        return evaluator.Finish(topKPredictionCount);
    }

    /// <summary>
    /// Cross-validates <paramref name="estimator"/> (ML.NET's <c>CrossValidate</c>): splits with
    /// <see cref="DataOperationsCatalog.CrossValidationSplit"/>, fits on each train part, evaluates on the held-out fold.
    /// </summary>
    public IReadOnlyList<CrossValidationResult<MulticlassClassificationMetrics>> CrossValidate(IDataView data, IEstimator<ITransformer> estimator,
        int numberOfFolds = 5, string labelColumnName = DefaultColumnNames.Label, string? samplingKeyColumnName = null, bool stratify = true, int? seed = null)
    {
        var folds = Context.Data.CrossValidationSplit(data, numberOfFolds, samplingKeyColumnName, stratify, seed, labelColumnName);
        return CrossValidation.Run(Context, folds, estimator, scored => Evaluate(scored, labelColumnName));
    }
}

/// <summary>Classification trainers. Network trainers (softmax regression, MLP, fine-tuning) arrive with the engine.</summary>
public sealed partial class ClassificationTrainers : CatalogBase
{
    internal ClassificationTrainers(MedicalContext context) : base(context) { }

    /// <summary>A nearest-centroid classifier over a feature vector: a quick, saveable sanity baseline.</summary>
    public NearestCentroidTrainer NearestCentroid(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features) =>
        new(labelColumnName, featureColumnName);
}
