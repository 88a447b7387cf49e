using MlNetMedical.Catalogs;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Data;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>ML.NET's and the framework's metrics objects as the report's plain data.</summary>
public static class ReportMetrics
{
    /// <summary>
    /// Classification figures of scored rows (a key <c>Label</c>, a <c>Score</c> vector and a <c>PredictedLabel</c> key):
    /// ML.NET's <c>ml.MulticlassClassification.Evaluate</c> (accuracy, balanced accuracy = its macro accuracy, log-loss, the
    /// confusion matrix), the framework's <c>EvaluateRoc</c> (one-vs-rest ROC curves and AUC), and F1 from the confusion matrix.
    /// Class names are the label's KeyValues.
    /// </summary>
    /// <remarks>
    /// Undefined per-class ratios are NaN, never 0 (the report shows "n/a"): precision = TP/(TP+FP) is NaN for a class never
    /// predicted, recall = TP/(TP+FN) for a class absent from the labels (ML.NET's confusion matrix reports 0 for both; its
    /// counts are used here). F1 = 2TP/(2TP+FP+FN), which is 2PR/(P+R) where both are defined, 0 for a class that occurs but
    /// is never predicted correctly, and NaN only for a class absent from both labels and predictions. Macro F1 is the mean of
    /// the defined per-class F1 values, i.e. over the classes present in the labels or the predictions.
    /// </remarks>
    public static ClassificationResult Classification(MLContext ml, IDataView scored, string labelColumnName = DefaultColumnNames.Label,
        string scoreColumnName = DefaultColumnNames.Score, string predictedLabelColumnName = DefaultColumnNames.PredictedLabel)
    {
        var metrics = ml.MulticlassClassification.Evaluate(scored, labelColumnName, scoreColumnName, predictedLabelColumnName);
        var roc = ml.MulticlassClassification.EvaluateRoc(scored, labelColumnName, scoreColumnName);
        var names = scored.Schema[labelColumnName].ClassNames();
        var k = names.Length;
        // ML.NET's matrix has one row and column per score slot: as many as the label's classes for the framework's and
        // ML.NET's trainers alike. Rows or columns it lacks count as zero.
        var counts = Enumerable.Range(0, k).Select(t => Enumerable.Range(0, k)
            .Select(p => t < metrics.ConfusionMatrix.Counts.Count && p < metrics.ConfusionMatrix.Counts[t].Count
                ? (long)Math.Round(metrics.ConfusionMatrix.Counts[t][p]) : 0L).ToList()).ToList();
        var f1 = PerClassF1(counts);
        var truth = scored.GetColumn<uint>(labelColumnName).ToList();
        var predicted = scored.GetColumn<uint>(predictedLabelColumnName).ToList();
        return new ClassificationResult
        {
            ClassNames = [.. names],
            Accuracy = metrics.MicroAccuracy,
            BalancedAccuracy = metrics.MacroAccuracy,
            MacroF1 = MeanOfDefined(f1),
            LogLoss = metrics.LogLoss,
            MacroRocAuc = roc.MacroAuc,
            PerClassPrecision = Enumerable.Range(0, k).Select(c => Ratio(counts[c][c], counts.Sum(row => row[c]))).ToList(),
            PerClassRecall = Enumerable.Range(0, k).Select(c => Ratio(counts[c][c], counts[c].Sum())).ToList(),
            ConfusionMatrix = counts,
            CorrectPerCase = truth.Select((t, i) => t != 0 && t == predicted[i]).ToList(),
            RocCurves = roc.PerClass.Select(c => new RocCurveData
            {
                ClassName = names[c.ClassIndex],
                Auc = c.Auc,
                FalsePositiveRate = c.Points.Select(p => p.FalsePositiveRate).ToList(),
                TruePositiveRate = c.Points.Select(p => p.TruePositiveRate).ToList(),
            }).ToList(),
        };
    }

    /// <summary>Per-class F1 = 2TP/(2TP+FP+FN) of a confusion matrix (rows true, columns predicted); NaN for a class absent from
    /// both labels and predictions (see <see cref="Classification"/>).</summary>
    public static List<double> PerClassF1(IReadOnlyList<IReadOnlyList<long>> counts) =>
        Enumerable.Range(0, counts.Count).Select(c =>
        {
            long tp = counts[c][c], fn = counts[c].Sum() - tp, fp = counts.Sum(row => row[c]) - tp;
            return Ratio(2 * tp, 2 * tp + fp + fn);
        }).ToList();

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? double.NaN : (double)numerator / denominator;

    private static double MeanOfDefined(IEnumerable<double> values)
    {
        var defined = values.Where(v => !double.IsNaN(v)).ToList();
        return defined.Count == 0 ? double.NaN : defined.Average();
    }

    /// <summary>
    /// Fills <see cref="MethodResult.VersusScratch"/> of every classifying method: its test accuracy minus that of the first method of
    /// kind <c>scratch</c>, paired over the same test cases, with Student's t 95% interval (<see cref="PairedStatistics.TInterval"/>).
    /// Left null without a scratch method or when the two scored different numbers of cases.
    /// </summary>
    public static void PairWithScratch(IReadOnlyList<MethodResult> methods)
    {
        var scratch = methods.FirstOrDefault(m => m.Kind == "scratch" && m.Classification is { CorrectPerCase.Count: > 0 });
        if (scratch is null) return;
        var baseline = scratch.Classification!.CorrectPerCase;
        foreach (var m in methods)
        {
            if (ReferenceEquals(m, scratch) || m.Classification is not { } c || c.CorrectPerCase.Count != baseline.Count) continue;
            var differences = c.CorrectPerCase.Select((right, i) => (right ? 1.0 : 0.0) - (baseline[i] ? 1.0 : 0.0)).ToList();
            var interval = PairedStatistics.TInterval(differences);
            m.VersusScratch = new PairedDifference
            {
                Baseline = scratch.Name, MeanDifference = interval.Mean, Ci95Lower = interval.Lower, Ci95Upper = interval.Upper, Cases = interval.N,
            };
        }
    }

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
