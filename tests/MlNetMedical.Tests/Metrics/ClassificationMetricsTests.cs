using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;
using Xunit;

namespace MlNetMedical.Tests.Metrics;

/// <summary>
/// One-vs-rest ROC curves and AUC (<c>ml.MulticlassClassification.EvaluateRoc</c>), which ML.NET's multiclass evaluation lacks.
/// Accuracy, log-loss, confusion matrix and the rest are ML.NET's own (<c>ml.MulticlassClassification.Evaluate</c>).
/// </summary>
public class ClassificationMetricsTests
{
    private readonly MLContext _ml = new(seed: 1);

    // In ML.NET's row classes a [KeyType] property holds the 0-based class index (0 → key 1); the view's keys are 1-based.
    public sealed class ScoredRow3
    {
        [KeyType(3)] public uint Label { get; set; }
        [VectorType(3)] public float[] Score { get; set; } = [];
    }

    public sealed class ScoredRow2
    {
        [KeyType(2)] public uint Label { get; set; }
        [VectorType(2)] public float[] Score { get; set; } = [];
    }

    // Six rows, three classes (0-based indices); every figure below was worked out by hand.
    private static readonly uint[] Labels = [0, 0, 1, 1, 2, 2];
    private static readonly float[][] Probabilities =
    [
        [0.7f, 0.2f, 0.1f],
        [0.4f, 0.5f, 0.1f],
        [0.1f, 0.8f, 0.1f],
        [0.3f, 0.3f, 0.4f],
        [0.2f, 0.2f, 0.6f],
        [0.5f, 0.25f, 0.25f],
    ];

    private IDataView Rows3(uint[] labels, float[][] scores) =>
        _ml.Data.LoadFromEnumerable(labels.Zip(scores, (l, s) => new ScoredRow3 { Label = l, Score = s }).ToArray());

    private IDataView Rows2(uint[] labels, float[][] scores) =>
        _ml.Data.LoadFromEnumerable(labels.Zip(scores, (l, s) => new ScoredRow2 { Label = l, Score = s }).ToArray());

    [Fact]
    public void OneVsRestAuc()
    {
        var roc = _ml.MulticlassClassification.EvaluateRoc(Rows3(Labels, Probabilities));
        // Each class: one positive beats all four negatives, the other beats three of four → 7/8.
        Assert.All(roc.PerClass, c => Assert.Equal(0.875, c.Auc, 12));
        Assert.Equal(0.875, roc.MacroAuc, 12);
        Assert.Equal([0, 1, 2], roc.PerClass.Select(c => c.ClassIndex));
        Assert.All(roc.PerClass, c => Assert.Equal((2L, 4L), (c.Positives, c.Negatives)));
        Assert.Equal(["1", "2", "3"], roc.ClassNames);   // a key without KeyValues: its values 1..K
    }

    [Fact]
    public void ClassNamesComeFromTheKeyValuesOfMapValueToKey()
    {
        var names = new[] { "a", "b", "c" };
        var rows = Labels.Zip(Probabilities, (l, s) => new NamedRow { Diagnosis = names[l], Score = s }).ToArray();
        var data = _ml.Data.LoadFromEnumerable(rows);
        var keyed = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Fit(data).Transform(data);
        var roc = _ml.MulticlassClassification.EvaluateRoc(keyed);
        Assert.Equal(names, roc.ClassNames);
        Assert.Equal(0.875, roc.MacroAuc, 12);
    }

    public sealed class NamedRow
    {
        public string Diagnosis { get; set; } = "";
        [VectorType(3)] public float[] Score { get; set; } = [];
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
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => RocCurve.Compute(0, new[] { double.NaN }, new[] { true })).Message);
    }

    [Fact]
    public void BinaryAucIsTheSameForBothClasses()
    {
        // Positives (class 2) score .7 .4 .8, negatives .1 .2: all six pairs won.
        var roc = _ml.MulticlassClassification.EvaluateRoc(Rows2([0, 1, 1, 0, 1],
            [[0.9f, 0.1f], [0.3f, 0.7f], [0.6f, 0.4f], [0.8f, 0.2f], [0.2f, 0.8f]]));
        Assert.Equal(1.0, roc.PerClass[1].Auc, 12);
        Assert.Equal(1.0, roc.PerClass[0].Auc, 12);
    }

    [Fact]
    public void AbsentClassIsNaNAndLeftOutOfTheMacroAuc()
    {
        // Class 3 never occurs.
        var roc = _ml.MulticlassClassification.EvaluateRoc(Rows3([0, 1, 1], [[0.6f, 0.3f, 0.1f], [0.2f, 0.7f, 0.1f], [0.6f, 0.3f, 0.1f]]));
        Assert.True(double.IsNaN(roc.PerClass[2].Auc));
        Assert.Empty(roc.PerClass[2].Points);
        // Class 1 AUC: positive .6 vs negatives .2 (win) and .6 (tie) → 1.5/2; class 2 likewise: .3 vs .7(+), .3(+).
        Assert.Equal(0.75, roc.PerClass[0].Auc, 12);
        Assert.Equal(0.75, roc.MacroAuc, 12);
    }

    [Fact]
    public void MissingLabelsAreSkippedAndAllWrongIsZero()
    {
        // Key 0 (a row without a label: "?" is not among the key's values) is skipped; the two labelled rows are ranked the wrong way round.
        var keyData = _ml.Data.LoadFromEnumerable(new[] { new KeyOnly { Diagnosis = "a" }, new KeyOnly { Diagnosis = "b" } });
        var data = _ml.Data.LoadFromEnumerable(new[]
        {
            new NamedRow2 { Diagnosis = "?", Score = [0.5f, 0.5f] }, new NamedRow2 { Diagnosis = "a", Score = [0f, 1f] }, new NamedRow2 { Diagnosis = "b", Score = [1f, 0f] },
        });
        var keyed = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis", keyData: keyData).Fit(data).Transform(data);
        Assert.Equal([0u, 1u, 2u], keyed.GetColumn<uint>("Label"));
        var roc = _ml.MulticlassClassification.EvaluateRoc(keyed);
        Assert.Equal(0.0, roc.MacroAuc, 12);
        Assert.All(roc.PerClass, c => Assert.Equal(2, c.Positives + c.Negatives));
        var single = _ml.MulticlassClassification.EvaluateRoc(Rows2([0, 0], [[1f, 0f], [1f, 0f]]));
        Assert.True(double.IsNaN(single.MacroAuc));
    }

    [Fact]
    public void BadColumnsAreNamed()
    {
        var text = _ml.Data.LoadFromEnumerable(PatientRow.Make());
        var label = Assert.Throws<SchemaMismatchException>(() => _ml.MulticlassClassification.EvaluateRoc(text, labelColumnName: "Diagnosis", scoreColumnName: "Features"));
        Assert.Equal("MulticlassClassification.EvaluateRoc", label.Stage);
        Assert.Equal("Diagnosis", label.ColumnName);
        Assert.Contains("needs column 'Diagnosis' to be a key column", label.Message);
        var keyed = PatientRow.Labelled(_ml);
        var score = Assert.Throws<SchemaMismatchException>(() => _ml.MulticlassClassification.EvaluateRoc(keyed));
        Assert.Contains("needs column 'Score' (a known-length vector of Single), but the input has no such column", score.Message);
        // Two classes, three scores.
        var shortScore = Assert.Throws<InvalidOperationException>(() => _ml.MulticlassClassification.EvaluateRoc(Mismatched()));
        Assert.Contains("score column 'Score' has 3 values at row 0, label 'Label' has 2 classes", shortScore.Message);
    }

    public sealed class KeyOnly { public string Diagnosis { get; set; } = ""; }

    public sealed class NamedRow2
    {
        public string Diagnosis { get; set; } = "";
        [VectorType(2)] public float[] Score { get; set; } = [0, 0];
    }

    public sealed class MismatchedRow
    {
        [KeyType(2)] public uint Label { get; set; } = 0;
        [VectorType(3)] public float[] Score { get; set; } = [0.2f, 0.3f, 0.5f];
    }

    private IDataView Mismatched() => _ml.Data.LoadFromEnumerable(new[] { new MismatchedRow() });
}
