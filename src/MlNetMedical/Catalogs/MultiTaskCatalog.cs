using MlNetMedical.Data;
using MlNetMedical.Metrics;

namespace MlNetMedical.Catalogs;

/// <summary>Both halves of a joint segmentation + classification evaluation.</summary>
public sealed record MultiTaskMetrics(MulticlassClassificationMetrics Classification, SegmentationMetrics Segmentation);

/// <summary>Joint segmentation + classification. The joint trainers (simple joint U-Net, Y-Net) arrive with the engine and models.</summary>
public sealed partial class MultiTaskCatalog : CatalogBase
{
    internal MultiTaskCatalog(MedicalContext context) : base(context) { }

    /// <summary>Evaluates the classification and segmentation outputs of a joint model on the same rows, in one pass
    /// over <paramref name="data"/> (so a lazily scored view runs the model once).</summary>
    public MultiTaskMetrics Evaluate(IDataView data, string labelColumnName = DefaultColumnNames.Label, string scoreColumnName = DefaultColumnNames.Score,
        string maskColumnName = DefaultColumnNames.Mask, string predictedMaskColumnName = DefaultColumnNames.PredictedMask,
        IReadOnlyList<int>? classes = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var classification = new ClassificationEvaluator(data.Schema, labelColumnName, scoreColumnName);
        var segmentation = new SegmentationEvaluator(data.Schema, maskColumnName, predictedMaskColumnName, classes);
        Evaluation.Run(data, classification, segmentation);
        return new MultiTaskMetrics(classification.Finish(topKPredictionCount: 0), segmentation.Finish(classNames));
    }
}
