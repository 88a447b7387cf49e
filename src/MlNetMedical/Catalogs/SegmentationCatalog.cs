using MlNetMedical.Data;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Catalogs;

/// <summary>Segmentation: evaluation and cross-validation now; U-Net trainers arrive with the engine and models.</summary>
public sealed partial class SegmentationCatalog : CatalogBase
{
    internal SegmentationCatalog(MedicalContext context) : base(context) { }

    /// <summary>
    /// Scores predicted masks against true masks, case by case, then averages (see <see cref="SegmentationMetrics"/>).
    /// Both columns must be mask volumes whose values <see cref="MaskConverters"/> can read.
    /// </summary>
    /// <param name="data">Rows with both masks.</param>
    /// <param name="labelColumnName">The true mask.</param>
    /// <param name="predictedMaskColumnName">The predicted mask.</param>
    /// <param name="classes">Label values to score; default every label 1..max found in either column.</param>
    /// <param name="classNames">Optional names aligned with <paramref name="classes"/>.</param>
    public SegmentationMetrics Evaluate(IDataView data, string labelColumnName = DefaultColumnNames.Mask,
        string predictedMaskColumnName = DefaultColumnNames.PredictedMask, IReadOnlyList<int>? classes = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var evaluator = new SegmentationEvaluator(data.Schema, labelColumnName, predictedMaskColumnName, classes);
        Evaluation.Run(data, evaluator);
        return evaluator.Finish(classNames);
    }

    /// <summary>Cross-validates a segmentation estimator, scoring each held-out fold with <see cref="Evaluate"/>.</summary>
    public IReadOnlyList<CrossValidationResult<SegmentationMetrics>> CrossValidate(IDataView data, IEstimator<ITransformer> estimator,
        int numberOfFolds = 5, string labelColumnName = DefaultColumnNames.Mask, string predictedMaskColumnName = DefaultColumnNames.PredictedMask,
        string? samplingKeyColumnName = null, int? seed = null)
    {
        var folds = Context.Data.CrossValidationSplit(data, numberOfFolds, samplingKeyColumnName, stratify: false, seed);
        return CrossValidation.Run(Context, folds, estimator, scored => Evaluate(scored, labelColumnName, predictedMaskColumnName));
    }
}
