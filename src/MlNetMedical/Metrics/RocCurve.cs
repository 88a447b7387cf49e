namespace MlNetMedical.Metrics;

/// <summary>One operating point of a ROC curve: predict positive when score ≥ <see cref="Threshold"/>.</summary>
public readonly record struct RocPoint(double FalsePositiveRate, double TruePositiveRate, double Threshold);

/// <summary>
/// A one-vs-rest ROC curve for one class. Points run from (0, 0) at threshold +∞ to (1, 1); rows with equal
/// scores are one step (a diagonal segment), so the trapezoid area equals the tie-aware
/// Mann–Whitney AUC (ties count one half).
/// </summary>
public sealed class RocCurve
{
    private RocCurve(int classIndex, IReadOnlyList<RocPoint> points, double auc, long positives, long negatives)
    {
        ClassIndex = classIndex;
        Points = points;
        Auc = auc;
        Positives = positives;
        Negatives = negatives;
    }

    /// <summary>The class treated as positive.</summary>
    public int ClassIndex { get; }

    /// <summary>Curve points by decreasing threshold; empty when AUC is undefined.</summary>
    public IReadOnlyList<RocPoint> Points { get; }

    /// <summary>Area under the curve; NaN when there are no positives or no negatives.</summary>
    public double Auc { get; }

    /// <summary>Number of rows of the positive class.</summary>
    public long Positives { get; }

    /// <summary>Number of rows of the other classes.</summary>
    public long Negatives { get; }

    /// <summary>Builds the curve from per-row scores for the positive class and whether each row is positive.</summary>
    public static RocCurve Compute(int classIndex, ReadOnlySpan<double> scores, ReadOnlySpan<bool> isPositive)
    {
        if (scores.Length != isPositive.Length)
            throw new ArgumentException($"scores has {scores.Length} rows but isPositive has {isPositive.Length}", nameof(isPositive));
        foreach (var s in scores)
            if (double.IsNaN(s)) throw new ArgumentException("scores contains NaN", nameof(scores));

        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var keys = scores.ToArray();
        Array.Sort(keys, order);   // ascending; ties form runs handled below
        long positives = 0;
        foreach (var p in isPositive) if (p) positives++;
        long negatives = scores.Length - positives;
        if (positives == 0 || negatives == 0)
            return new RocCurve(classIndex, Array.Empty<RocPoint>(), double.NaN, positives, negatives);

        // Walk from the highest score down; each run of equal scores is one threshold.
        var points = new List<RocPoint> { new(0, 0, double.PositiveInfinity) };
        long tp = 0, fp = 0;
        double area = 0;
        for (var end = keys.Length; end > 0;)
        {
            var start = end - 1;
            while (start > 0 && keys[start - 1] == keys[end - 1]) start--;
            long runTp = 0;
            for (var i = start; i < end; i++) if (isPositive[order[i]]) runTp++;
            long runFp = end - start - runTp;
            // Trapezoid in count units: a tied run adds half of its TP×FP rectangle.
            area += runFp * (tp + runTp / 2.0);
            tp += runTp;
            fp += runFp;
            points.Add(new RocPoint((double)fp / negatives, (double)tp / positives, keys[start]));
            end = start;
        }
        return new RocCurve(classIndex, points, area / ((double)positives * negatives), positives, negatives);
    }
}

/// <summary>One-vs-rest ROC curves of every class (<c>ml.MulticlassClassification.EvaluateRoc</c>).</summary>
public sealed class MulticlassRocCurves
{
    internal MulticlassRocCurves(IReadOnlyList<RocCurve> perClass, IReadOnlyList<string> classNames)
    {
        PerClass = perClass;
        ClassNames = classNames;
        MacroAuc = SegmentationMetrics.MeanOfDefined(perClass.Select(c => c.Auc).ToArray());
    }

    /// <summary>The curve of each class, in key order (<see cref="RocCurve.ClassIndex"/> is the 0-based class).</summary>
    public IReadOnlyList<RocCurve> PerClass { get; }

    /// <summary>The class names (the label's key values).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Mean AUC over the classes whose AUC is defined (both positives and negatives present).</summary>
    public double MacroAuc { get; }
}
