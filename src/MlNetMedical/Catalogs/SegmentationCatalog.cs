using MlNetMedical.Data;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Catalogs;

/// <summary>Segmentation: evaluation and cross-validation now; U-Net trainers arrive with the engine and models.</summary>
public sealed class SegmentationCatalog : CatalogBase
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
        var shape = SchemaShape.Create(data.Schema);
        ColumnRequirement.Volume(labelColumnName, VolumeKind.Mask).Check(shape, "Segmentation.Evaluate");
        ColumnRequirement.Volume(predictedMaskColumnName, VolumeKind.Mask).Check(shape, "Segmentation.Evaluate");
        if (classes is null)
        {
            var max = 0;
            foreach (var (truth, predicted, _) in Cases(data, labelColumnName, predictedMaskColumnName))
                max = Math.Max(max, Math.Max(truth.MaxLabel, predicted.MaxLabel));
            if (max == 0) throw new InvalidOperationException($"Segmentation.Evaluate: masks '{labelColumnName}' and '{predictedMaskColumnName}' hold only background; pass the classes to score");
            classes = Enumerable.Range(1, max).ToArray();
        }
        var perCase = new List<IReadOnlyList<SegmentationClassScores>>();
        foreach (var (truth, predicted, row) in Cases(data, labelColumnName, predictedMaskColumnName))
        {
            try
            {
                perCase.Add(SegmentationMetrics.ComputeCase(truth, predicted, classes));
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException($"Segmentation.Evaluate: row {row}, columns '{labelColumnName}' and '{predictedMaskColumnName}': {e.Message}", e);
            }
        }
        if (perCase.Count == 0) throw new InvalidOperationException("Segmentation.Evaluate: there are no rows to evaluate");
        return SegmentationMetrics.Aggregate(perCase, classNames);
    }

    /// <summary>Cross-validates a segmentation estimator, scoring each held-out fold with <see cref="Evaluate"/>.</summary>
    public IReadOnlyList<CrossValidationResult<SegmentationMetrics>> CrossValidate(IDataView data, IEstimator<ITransformer> estimator,
        int numberOfFolds = 5, string labelColumnName = DefaultColumnNames.Mask, string predictedMaskColumnName = DefaultColumnNames.PredictedMask,
        string? samplingKeyColumnName = null, int? seed = null)
    {
        var folds = Context.Data.CrossValidationSplit(data, numberOfFolds, samplingKeyColumnName, stratify: false, seed);
        return CrossValidation.Run(Context, folds, estimator, scored => Evaluate(scored, labelColumnName, predictedMaskColumnName));
    }

    private static IEnumerable<(LabelMap Truth, LabelMap Predicted, long Row)> Cases(IDataView data, string truthColumn, string predictedColumn)
    {
        using var cursor = data.GetRowCursor([data.Schema[truthColumn], data.Schema[predictedColumn]]);
        var truth = cursor.GetBoxedGetter(data.Schema[truthColumn]);
        var predicted = cursor.GetBoxedGetter(data.Schema[predictedColumn]);
        while (cursor.MoveNext())
            yield return (MaskConverters.ToLabelMap(truth()!), MaskConverters.ToLabelMap(predicted()!), cursor.Position);
    }
}
