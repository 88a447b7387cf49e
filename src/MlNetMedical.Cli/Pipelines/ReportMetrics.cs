using MlNetMedical.Cli.Reporting;
using MlNetMedical.Metrics;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>The library's metrics objects as the report's plain data.</summary>
public static class ReportMetrics
{
    public static ClassificationResult Classification(MulticlassClassificationMetrics m) => new()
    {
        ClassNames = [.. m.ClassNames],
        Accuracy = m.MicroAccuracy,
        BalancedAccuracy = m.BalancedAccuracy,
        MacroF1 = m.MacroF1,
        LogLoss = m.LogLoss,
        MacroRocAuc = m.MacroRocAuc,
        PerClassPrecision = [.. m.PerClassPrecision],
        PerClassRecall = [.. m.PerClassRecall],
        ConfusionMatrix = m.ConfusionMatrix.Counts.Select(row => row.ToList()).ToList(),
        RocCurves = m.RocCurves.Select(c => new RocCurveData
        {
            ClassName = m.ClassNames[c.ClassIndex],
            Auc = c.Auc,
            FalsePositiveRate = c.Points.Select(p => p.FalsePositiveRate).ToList(),
            TruePositiveRate = c.Points.Select(p => p.TruePositiveRate).ToList(),
        }).ToList(),
    };

    public static SegmentationResult Segmentation(SegmentationMetrics m) => new()
    {
        ClassNames = m.PerClass.Select(c => c.Name).ToList(),
        Dice = m.PerClass.Select(c => c.Dice).ToList(),
        IoU = m.PerClass.Select(c => c.IoU).ToList(),
        Hausdorff95 = m.PerClass.Select(c => c.Hausdorff95).ToList(),
        MeanSurfaceDistance = m.PerClass.Select(c => c.MeanSurfaceDistance).ToList(),
        MeanDice = m.MeanDice,
    };
}
