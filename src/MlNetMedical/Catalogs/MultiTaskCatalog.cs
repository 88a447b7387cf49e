using MlNetMedical.Data;
using MlNetMedical.Metrics;

namespace MlNetMedical.Catalogs;

/// <summary>Both halves of a joint segmentation + classification evaluation.</summary>
public sealed record MultiTaskMetrics(MulticlassClassificationMetrics Classification, SegmentationMetrics Segmentation);

/// <summary>Joint segmentation + classification. The joint trainers (simple joint U-Net, Y-Net) arrive with the engine and models.</summary>
public sealed class MultiTaskCatalog : CatalogBase
{
    internal MultiTaskCatalog(MedicalContext context) : base(context) { }

    /// <summary>Evaluates the classification and segmentation outputs of a joint model on the same rows.</summary>
    public MultiTaskMetrics Evaluate(IDataView data, string labelColumnName = DefaultColumnNames.Label, string scoreColumnName = DefaultColumnNames.Score,
        string maskColumnName = DefaultColumnNames.Mask, string predictedMaskColumnName = DefaultColumnNames.PredictedMask) =>
        new(Context.Classification.Evaluate(data, labelColumnName, scoreColumnName),
            Context.Segmentation.Evaluate(data, maskColumnName, predictedMaskColumnName));
}
