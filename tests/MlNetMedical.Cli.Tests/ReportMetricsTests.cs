using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Pipeline;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>The report's classification figures from ML.NET's evaluator: the F1 and undefined-ratio conventions.</summary>
public sealed class ReportMetricsTests
{
    private sealed class Row
    {
        public uint Label { get; set; }
        public float[] Score { get; set; } = [];
        public uint PredictedLabel { get; set; }
    }

    private static IDataView Scored(MLContext ml, string[] classes, (int Label, float[] Score)[] rows)
    {
        var key = SchemaShapes.ClassKey(classes).Type;
        var definition = SchemaDefinition.Create(typeof(Row));
        var keyValues = new VBuffer<ReadOnlyMemory<char>>(classes.Length, classes.Select(c => c.AsMemory()).ToArray());
        foreach (var column in new[] { "Label", "PredictedLabel" })
        {
            definition[column].ColumnType = key;
            definition[column].AddAnnotation("KeyValues", keyValues, new VectorDataViewType(TextDataViewType.Instance, classes.Length));
        }
        definition["Score"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classes.Length);
        return ml.Data.LoadFromEnumerable(rows.Select(r => new Row
        {
            // ML.NET's LoadFromEnumerable takes a key property as the 0-based index (stored + 1).
            Label = (uint)r.Label, Score = r.Score, PredictedLabel = (uint)Array.IndexOf(r.Score, r.Score.Max()),
        }).ToList(), definition);
    }

    [Fact]
    public void ClassNeverPredictedHasNaNPrecisionAndZeroF1()
    {
        var ml = new MLContext(seed: 1);
        // a: 2 rows, both right; b: 2 rows, predicted a and c; c: 1 row, right. b is never predicted.
        var scored = Scored(ml, ["a", "b", "c"],
        [
            (0, [0.8f, 0.1f, 0.1f]), (0, [0.7f, 0.2f, 0.1f]),
            (1, [0.6f, 0.3f, 0.1f]), (1, [0.1f, 0.3f, 0.6f]),
            (2, [0.1f, 0.1f, 0.8f]),
        ]);
        var result = ReportMetrics.Classification(ml, scored);
        Assert.Equal(["a", "b", "c"], result.ClassNames);
        Assert.Equal(3.0 / 5, result.Accuracy, 9);
        Assert.Equal((1 + 0 + 1) / 3.0, result.BalancedAccuracy, 9);
        Assert.Equal([[2L, 0, 0], [1, 0, 1], [0, 0, 1]], result.ConfusionMatrix);
        Assert.Equal(2.0 / 3, result.PerClassPrecision[0], 9);
        Assert.True(double.IsNaN(result.PerClassPrecision[1]));   // never predicted: undefined, not 0
        Assert.Equal(0.5, result.PerClassPrecision[2], 9);
        Assert.Equal([1.0, 0.0, 1.0], result.PerClassRecall);
        var f1 = ReportMetrics.PerClassF1(result.ConfusionMatrix);
        Assert.Equal(0.8, f1[0], 9);
        Assert.Equal(0.0, f1[1], 9);                              // occurs, never predicted right
        Assert.Equal(2.0 / 3, f1[2], 9);
        Assert.Equal((0.8 + 0 + 2.0 / 3) / 3, result.MacroF1, 9);
        Assert.Equal(3, result.RocCurves.Count);

        // ML.NET itself reports 0, not NaN, as the precision of a class it never predicts.
        Assert.Equal(0.0, ml.MulticlassClassification.Evaluate(scored).ConfusionMatrix.PerClassPrecision[1]);
    }

    [Fact]
    public void ClassAbsentFromLabelsAndPredictionsIsLeftOutOfMacroF1()
    {
        var ml = new MLContext(seed: 1);
        var scored = Scored(ml, ["a", "b", "c"], [(0, [0.9f, 0.05f, 0.05f]), (2, [0.1f, 0.1f, 0.8f]), (2, [0.6f, 0.1f, 0.3f])]);
        var result = ReportMetrics.Classification(ml, scored);
        Assert.True(double.IsNaN(result.PerClassRecall[1]));
        Assert.True(double.IsNaN(ReportMetrics.PerClassF1(result.ConfusionMatrix)[1]));
        Assert.Equal((2.0 / 3 + 2.0 / 3) / 2, result.MacroF1, 9);  // a: P 1/2 R 1; c: P 1 R 1/2
    }
}
