using MlNetMedical.Data;

namespace MlNetMedical.Metrics;

/// <summary>Overlap and surface figures of one class in one case.</summary>
/// <param name="ClassIndex">The label value scored.</param>
/// <param name="Dice">2|T∩P| / (|T| + |P|); 1 when the class is absent from both truth and prediction.</param>
/// <param name="IoU">|T∩P| / |T∪P|; 1 when the class is absent from both.</param>
/// <param name="Hausdorff95">See <see cref="SurfaceDistance"/>: NaN when both are empty, +∞ when exactly one is.</param>
/// <param name="MeanSurfaceDistance">Average symmetric surface distance, same empty conventions.</param>
public readonly record struct SegmentationClassScores(int ClassIndex, double Dice, double IoU, double Hausdorff95, double MeanSurfaceDistance);

/// <summary>One class's figures averaged over cases.</summary>
/// <param name="CaseCount">Cases averaged.</param>
/// <param name="SurfaceCaseCount">Cases with a defined (non-NaN) surface distance, i.e. the class in truth or prediction.</param>
public sealed record SegmentationClassSummary(
    int ClassIndex, string Name, double Dice, double IoU, double Hausdorff95, double MeanSurfaceDistance, int CaseCount, int SurfaceCaseCount);

/// <summary>
/// Segmentation quality over a set of cases: Dice, IoU, HD95 and mean surface distance per class (physical
/// units from the voxel spacing), averaged over cases.
/// </summary>
/// <remarks>
/// Averages over cases skip NaN values (class absent from both truth and prediction, for the surface figures);
/// +∞ (the class missed entirely in one of them) is kept, so one total miss makes the mean +∞ rather than
/// hiding it. The overall figures are means of the per-class means over classes with a defined value.
/// </remarks>
public sealed class SegmentationMetrics
{
    private SegmentationMetrics(IReadOnlyList<SegmentationClassSummary> perClass, IReadOnlyList<IReadOnlyList<SegmentationClassScores>> perCase)
    {
        PerClass = perClass;
        PerCase = perCase;
        MeanDice = MeanOfDefined(perClass.Select(c => c.Dice).ToArray());
        MeanIoU = MeanOfDefined(perClass.Select(c => c.IoU).ToArray());
        MeanHausdorff95 = MeanOfDefined(perClass.Select(c => c.Hausdorff95).ToArray());
        MeanSurfaceDistance = MeanOfDefined(perClass.Select(c => c.MeanSurfaceDistance).ToArray());
    }

    /// <summary>Per-class figures averaged over cases.</summary>
    public IReadOnlyList<SegmentationClassSummary> PerClass { get; }

    /// <summary>Per case, the figures of each scored class (same order as <see cref="PerClass"/>).</summary>
    public IReadOnlyList<IReadOnlyList<SegmentationClassScores>> PerCase { get; }

    /// <summary>Mean over classes of the per-class mean Dice.</summary>
    public double MeanDice { get; }

    /// <summary>Mean over classes of the per-class mean IoU.</summary>
    public double MeanIoU { get; }

    /// <summary>Mean over classes of the per-class mean HD95 (physical units).</summary>
    public double MeanHausdorff95 { get; }

    /// <summary>Mean over classes of the per-class mean surface distance (physical units).</summary>
    public double MeanSurfaceDistance { get; }

    /// <summary>Scores the given classes of one case. Shapes must match and spacings agree within 1e-6 (relative).</summary>
    public static IReadOnlyList<SegmentationClassScores> ComputeCase(LabelMap truth, LabelMap prediction, IReadOnlyList<int> classes)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(classes);
        if (!truth.Shape.SequenceEqual(prediction.Shape))
            throw new ArgumentException($"prediction shape [{string.Join(", ", prediction.Shape)}] differs from truth shape [{string.Join(", ", truth.Shape)}]", nameof(prediction));
        for (var d = 0; d < truth.Spacing.Count; d++)
            if (Math.Abs(truth.Spacing[d] - prediction.Spacing[d]) > 1e-6 * truth.Spacing[d])
                throw new ArgumentException($"prediction spacing [{string.Join(", ", prediction.Spacing)}] differs from truth spacing [{string.Join(", ", truth.Spacing)}]", nameof(prediction));

        var scores = new SegmentationClassScores[classes.Count];
        var t = new bool[truth.Labels.Length];
        var p = new bool[truth.Labels.Length];
        for (var ci = 0; ci < classes.Count; ci++)
        {
            var c = classes[ci];
            long both = 0, inTruth = 0, inPrediction = 0;
            for (var i = 0; i < t.Length; i++)
            {
                t[i] = truth.Labels[i] == c;
                p[i] = prediction.Labels[i] == c;
                if (t[i]) inTruth++;
                if (p[i]) inPrediction++;
                if (t[i] && p[i]) both++;
            }
            var union = inTruth + inPrediction - both;
            var dice = union == 0 ? 1.0 : 2.0 * both / (inTruth + inPrediction);
            var iou = union == 0 ? 1.0 : (double)both / union;
            var (hd95, msd) = SurfaceDistance.Compute(t, p, truth.Shape, truth.Spacing);
            scores[ci] = new SegmentationClassScores(c, dice, iou, hd95, msd);
        }
        return scores;
    }

    /// <summary>Averages per-case scores (each case listing the same classes in the same order).</summary>
    /// <param name="cases">Output of <see cref="ComputeCase"/> per case.</param>
    /// <param name="classNames">Optional name per scored class, aligned with the classes of each case.</param>
    public static SegmentationMetrics Aggregate(IReadOnlyList<IReadOnlyList<SegmentationClassScores>> cases, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(cases);
        if (cases.Count == 0) throw new ArgumentException("there are no cases to evaluate", nameof(cases));
        var classes = cases[0].Select(s => s.ClassIndex).ToArray();
        for (var i = 1; i < cases.Count; i++)
            if (!cases[i].Select(s => s.ClassIndex).SequenceEqual(classes))
                throw new ArgumentException($"case {i} scores classes [{string.Join(", ", cases[i].Select(s => s.ClassIndex))}], case 0 scores [{string.Join(", ", classes)}]", nameof(cases));
        if (classNames is not null && classNames.Count != classes.Length)
            throw new ArgumentException($"{classNames.Count} class names for {classes.Length} scored classes", nameof(classNames));

        var perClass = new SegmentationClassSummary[classes.Length];
        for (var ci = 0; ci < classes.Length; ci++)
        {
            var column = cases.Select(c => c[ci]).ToArray();
            perClass[ci] = new SegmentationClassSummary(
                classes[ci],
                classNames?[ci] ?? classes[ci].ToString(System.Globalization.CultureInfo.InvariantCulture),
                MeanOfDefined(column.Select(s => s.Dice).ToArray()),
                MeanOfDefined(column.Select(s => s.IoU).ToArray()),
                MeanOfDefined(column.Select(s => s.Hausdorff95).ToArray()),
                MeanOfDefined(column.Select(s => s.MeanSurfaceDistance).ToArray()),
                column.Length,
                column.Count(s => !double.IsNaN(s.Hausdorff95)));
        }
        return new SegmentationMetrics(perClass, cases);
    }

    /// <summary>Mean of the non-NaN values (+∞ kept); NaN when every value is NaN.</summary>
    internal static double MeanOfDefined(IReadOnlyList<double> values)
    {
        double sum = 0;
        var count = 0;
        foreach (var v in values)
            if (!double.IsNaN(v)) { sum += v; count++; }
        return count == 0 ? double.NaN : sum / count;
    }
}
