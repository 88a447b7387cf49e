using System.Globalization;
using System.Text;

namespace MlNetMedical.Metrics;

/// <summary>
/// Counts of (actual, predicted) class pairs. Rows are the actual (true) classes and columns the
/// predicted classes, as in ML.NET: <c>Counts[actual][predicted]</c>.
/// </summary>
/// <remarks>
/// Per-class figures follow one rule for undefined ratios: a ratio whose denominator is zero is NaN,
/// never 0, so an absent class is visible rather than counted as a failure.
/// <list type="bullet">
/// <item>precision = TP / (TP + FP): NaN when the class is never predicted;</item>
/// <item>recall = TP / (TP + FN): NaN when the class never occurs in the labels;</item>
/// <item>F1 = 2TP / (2TP + FP + FN): NaN only when the class occurs neither in labels nor in predictions
/// (a class that occurs but is never predicted correctly has F1 = 0).</item>
/// </list>
/// </remarks>
public sealed class ConfusionMatrix
{
    private readonly long[][] _counts;

    internal ConfusionMatrix(long[][] counts, IReadOnlyList<string> classNames)
    {
        _counts = counts;
        ClassNames = classNames;
        var k = counts.Length;
        var precision = new double[k];
        var recall = new double[k];
        var f1 = new double[k];
        for (var c = 0; c < k; c++)
        {
            long tp = counts[c][c], actual = 0, predicted = 0;
            for (var j = 0; j < k; j++)
            {
                actual += counts[c][j];
                predicted += counts[j][c];
            }
            long fn = actual - tp, fp = predicted - tp;
            precision[c] = Ratio(tp, predicted);
            recall[c] = Ratio(tp, actual);
            f1[c] = Ratio(2 * tp, 2 * tp + fp + fn);
        }
        PerClassPrecision = precision;
        PerClassRecall = recall;
        PerClassF1 = f1;
    }

    /// <summary>Number of classes K (the matrix is K × K).</summary>
    public int NumberOfClasses => _counts.Length;

    /// <summary>Class names, index-aligned with rows and columns.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary><c>Counts[actual][predicted]</c>: rows are true classes, columns predicted classes.</summary>
    public IReadOnlyList<IReadOnlyList<long>> Counts => _counts;

    /// <summary>Per-class precision TP/(TP+FP); NaN for a class that is never predicted.</summary>
    public IReadOnlyList<double> PerClassPrecision { get; }

    /// <summary>Per-class recall TP/(TP+FN); NaN for a class absent from the labels.</summary>
    public IReadOnlyList<double> PerClassRecall { get; }

    /// <summary>Per-class F1 = 2TP/(2TP+FP+FN); NaN for a class absent from both labels and predictions.</summary>
    public IReadOnlyList<double> PerClassF1 { get; }

    /// <summary>Number of rows whose true class is <paramref name="actual"/> and predicted class <paramref name="predicted"/>.</summary>
    public long GetCount(int actual, int predicted) => _counts[actual][predicted];

    /// <summary>A plain-text table: one row per true class, one column per predicted class, then recall.</summary>
    public string GetFormattedConfusionTable()
    {
        var names = ClassNames;
        var width = Math.Max(6, names.Max(n => n.Length) + 1);
        var sb = new StringBuilder();
        sb.Append("actual \\ predicted".PadRight(width + 2));
        foreach (var n in names) sb.Append(n.PadLeft(width));
        sb.Append("  Recall".PadLeft(width + 2)).AppendLine();
        for (var r = 0; r < NumberOfClasses; r++)
        {
            sb.Append(names[r].PadRight(width + 2));
            foreach (var v in _counts[r]) sb.Append(v.ToString(CultureInfo.InvariantCulture).PadLeft(width));
            sb.Append(PerClassRecall[r].ToString("0.0000", CultureInfo.InvariantCulture).PadLeft(width + 2)).AppendLine();
        }
        sb.Append("Precision".PadRight(width + 2));
        foreach (var p in PerClassPrecision) sb.Append(p.ToString("0.0000", CultureInfo.InvariantCulture).PadLeft(width));
        return sb.AppendLine().ToString();
    }

    private static double Ratio(long numerator, long denominator) =>
        denominator == 0 ? double.NaN : (double)numerator / denominator;
}
