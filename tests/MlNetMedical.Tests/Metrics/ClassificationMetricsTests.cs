using MlNetMedical.Metrics;
using Xunit;

namespace MlNetMedical.Tests.Metrics;

public class ClassificationMetricsTests
{
    // Six rows, three classes; every figure below was worked out by hand.
    private static readonly int[] Labels = [0, 0, 1, 1, 2, 2];
    private static readonly float[][] Probabilities =
    [
        [0.7f, 0.2f, 0.1f],   // right
        [0.4f, 0.5f, 0.1f],   // predicted 1
        [0.1f, 0.8f, 0.1f],   // right
        [0.3f, 0.3f, 0.4f],   // predicted 2
        [0.2f, 0.2f, 0.6f],   // right
        [0.5f, 0.25f, 0.25f], // predicted 0
    ];

    private static MulticlassClassificationMetrics Example(int topK = 2) =>
        MulticlassClassificationMetrics.Compute(Labels, Probabilities, ["a", "b", "c"], topK);

    [Fact]
    public void AccuracyConfusionPrecisionRecallF1()
    {
        var m = Example();
        Assert.Equal(0.5, m.MicroAccuracy, 12);
        Assert.Equal(0.5, m.MacroAccuracy, 12);
        Assert.Equal(0.5, m.BalancedAccuracy, 12);
        Assert.Equal(6, m.RowCount);
        long[][] expected = [[1, 1, 0], [0, 1, 1], [1, 0, 1]];   // rows actual, columns predicted
        for (var r = 0; r < 3; r++) Assert.Equal(expected[r], m.ConfusionMatrix.Counts[r]);
        Assert.Equal(1, m.ConfusionMatrix.GetCount(actual: 2, predicted: 0));
        Assert.All(m.PerClassPrecision, p => Assert.Equal(0.5, p, 12));
        Assert.All(m.PerClassRecall, r => Assert.Equal(0.5, r, 12));
        Assert.Equal(0.5, m.MacroF1, 12);
        Assert.Contains("Precision", m.ConfusionMatrix.GetFormattedConfusionTable());
    }

    [Fact]
    public void LogLossAndReduction()
    {
        var m = Example();
        // −(ln .7 + ln .4 + ln .8 + ln .3 + ln .6 + ln .25) / 6, with the float inputs rounding at 1e-7.
        Assert.Equal(0.7662004, m.LogLoss, 6);
        Assert.Equal((1.0986123 - 0.7662004) / 1.0986123, m.LogLossReduction, 6);   // prior: ln 3
        Assert.Equal(0.6364830, m.PerClassLogLoss[0], 6);
        Assert.Equal(0.7135584, m.PerClassLogLoss[1], 6);
        Assert.Equal(0.9485599, m.PerClassLogLoss[2], 6);
    }

    [Fact]
    public void TopKUsesTheArgMaxTieRule()
    {
        var m = Example(topK: 2);
        // Rows 4 and 6: the true class ties with a lower-index class and loses to a higher one, so it ranks third.
        Assert.Equal(4.0 / 6, m.TopKAccuracy, 12);
        Assert.Equal([0.5, 4.0 / 6, 1.0], m.TopKAccuracyForAllK);
        Assert.True(double.IsNaN(Example(topK: 0).TopKAccuracy));
        Assert.Throws<ArgumentOutOfRangeException>(() => Example(topK: 4));
    }

    [Fact]
    public void OneVsRestAuc()
    {
        var m = Example();
        // Each class: one positive beats all four negatives, the other beats three of four → 7/8.
        Assert.All(m.PerClassRocAuc, a => Assert.Equal(0.875, a, 12));
        Assert.Equal(0.875, m.MacroRocAuc, 12);
    }

    [Fact]
    public void RocCurveCountsTiesAsHalfAndMatchesTrapezoid()
    {
        // Positives score .5 and .8, negatives .5 and .2: pairs won 1 + 1 + 1 + ½ (the tie) → 3.5 / 4.
        var curve = RocCurve.Compute(1, new[] { 0.5, 0.5, 0.8, 0.2 }, new[] { true, false, true, false });
        Assert.Equal(0.875, curve.Auc, 12);
        Assert.Equal(
            [new RocPoint(0, 0, double.PositiveInfinity), new RocPoint(0, 0.5, 0.8), new RocPoint(0.5, 1, 0.5), new RocPoint(1, 1, 0.2)],
            curve.Points);
        double trapezoid = 0;
        for (var i = 1; i < curve.Points.Count; i++)
            trapezoid += (curve.Points[i].FalsePositiveRate - curve.Points[i - 1].FalsePositiveRate)
                         * (curve.Points[i].TruePositiveRate + curve.Points[i - 1].TruePositiveRate) / 2;
        Assert.Equal(curve.Auc, trapezoid, 12);
        // All scores tied: the curve is the diagonal and AUC is one half.
        Assert.Equal(0.5, RocCurve.Compute(0, new[] { 0.3, 0.3, 0.3 }, new[] { true, false, false }).Auc, 12);
    }

    [Fact]
    public void BinaryAucIsTheSameForBothClasses()
    {
        int[] labels = [0, 1, 1, 0, 1];
        float[][] p = [[0.9f, 0.1f], [0.3f, 0.7f], [0.6f, 0.4f], [0.8f, 0.2f], [0.2f, 0.8f]];
        var m = MulticlassClassificationMetrics.Compute(labels, p);
        // Positives (class 1) score .7 .4 .8, negatives .1 .2: all six pairs won.
        Assert.Equal(1.0, m.PerClassRocAuc[1], 12);
        Assert.Equal(1.0, m.PerClassRocAuc[0], 12);
        Assert.Equal(0.8, m.MicroAccuracy, 12);
        Assert.Equal(["0", "1"], m.ClassNames);
    }

    [Fact]
    public void AbsentClassIsNaNAndLeftOutOfMacroAverages()
    {
        // Class 2 never occurs and is never predicted.
        int[] labels = [0, 1, 1];
        float[][] p = [[0.6f, 0.3f, 0.1f], [0.2f, 0.7f, 0.1f], [0.6f, 0.3f, 0.1f]];
        var m = MulticlassClassificationMetrics.Compute(labels, p);
        Assert.True(double.IsNaN(m.PerClassRecall[2]));
        Assert.True(double.IsNaN(m.PerClassPrecision[2]));
        Assert.True(double.IsNaN(m.ConfusionMatrix.PerClassF1[2]));
        Assert.True(double.IsNaN(m.PerClassLogLoss[2]));
        Assert.True(double.IsNaN(m.PerClassRocAuc[2]));
        Assert.Equal((1.0 + 0.5) / 2, m.MacroAccuracy, 12);
        // F1: class 0 = 2/(2+1+0) = 2/3, class 1 = 2/(2+0+1) = 2/3.
        Assert.Equal(2.0 / 3, m.MacroF1, 12);
        // Class 0 AUC: positive .6 vs negatives .2 (win) and .6 (tie) → 1.5/2.
        Assert.Equal(0.75, m.PerClassRocAuc[0], 12);
        Assert.Equal(0.75, m.MacroRocAuc, 12);   // class 1 has the same ranking problem: .3 vs .7(+), .3(+) → 1.5/2
    }

    [Fact]
    public void SingleClassHasAccuracyButNoAucOrReduction()
    {
        var m = MulticlassClassificationMetrics.Compute([0, 0], [[1f], [1f]], ["only"]);
        Assert.Equal(1.0, m.MicroAccuracy);
        Assert.Equal(0.0, m.LogLoss, 12);
        Assert.True(double.IsNaN(m.LogLossReduction));
        Assert.True(double.IsNaN(m.MacroRocAuc));
        Assert.Empty(m.RocCurves[0].Points);
    }

    [Fact]
    public void AllWrongWithZeroProbabilityIsClipped()
    {
        var m = MulticlassClassificationMetrics.Compute([0, 1], [[0f, 1f], [1f, 0f]]);
        Assert.Equal(0.0, m.MicroAccuracy);
        Assert.Equal(0.0, m.MacroAccuracy);
        Assert.Equal(0.0, m.MacroF1);   // both classes occur, none right: F1 = 0, not NaN
        Assert.True(double.IsNaN(m.PerClassPrecision[0]) == false);
        Assert.Equal(-Math.Log(1e-15), m.LogLoss, 9);   // 34.538776...
        Assert.Equal(0.0, m.MacroRocAuc, 12);
        Assert.True(m.LogLossReduction < 0);
    }

    [Fact]
    public void BadInputNamesTheRowAndParameter()
    {
        var sum = Assert.Throws<ArgumentException>(() => MulticlassClassificationMetrics.Compute([0, 1], [[0.5f, 0.5f], [2f, 0.1f]]));
        Assert.Contains("row 1", sum.Message);
        Assert.Equal("probabilities", sum.ParamName);
        var label = Assert.Throws<ArgumentOutOfRangeException>(() => MulticlassClassificationMetrics.Compute([0, 2], [[0.5f, 0.5f], [0.5f, 0.5f]]));
        Assert.Contains("row 1: label 2", label.Message);
        Assert.Throws<ArgumentException>(() => MulticlassClassificationMetrics.Compute([], Array.Empty<float[]>()));
        var raw = Assert.Throws<ArgumentException>(() => MulticlassClassificationMetrics.Compute([0], [[0.2f, 0.3f]]));
        Assert.Contains("softmax", raw.Message);
    }
}
