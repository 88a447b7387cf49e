using MlNetMedical.Data;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Metrics;

/// <summary>
/// Scores each case's masks as it is read. Without a class list it scores the labels present in the case and, at the
/// end, gives every case the classes 1..max seen anywhere: a class absent from both masks of a case has fixed scores
/// (Dice 1, IoU 1, surface NaN), so one pass suffices.
/// </summary>
internal sealed class SegmentationEvaluator
{
    private const string Stage = "Segmentation.Evaluate";
    private readonly string _truth;
    private readonly string _predicted;
    private readonly IReadOnlyList<int>? _classes;
    private readonly List<Dictionary<int, SegmentationClassScores>> _cases = [];
    private int _maxLabel;

    public SegmentationEvaluator(DataViewSchema schema, string truthColumnName, string predictedColumnName, IReadOnlyList<int>? classes)
    {
        ColumnRequirement.Volume(truthColumnName, VolumeKind.Mask).Check(schema, Stage);
        ColumnRequirement.Volume(predictedColumnName, VolumeKind.Mask).Check(schema, Stage);
        if (classes is not null && (classes.Count == 0 || classes.Any(c => c < 1)))
            throw new ArgumentException($"classes must be non-empty label values ≥ 1, got [{string.Join(", ", classes)}]", nameof(classes));
        _truth = truthColumnName;
        _predicted = predictedColumnName;
        _classes = classes;
    }

    /// <summary>Reads every row of <paramref name="data"/> and averages (see <see cref="SegmentationMetrics"/>).</summary>
    public SegmentationMetrics Run(IDataView data, IReadOnlyList<string>? classNames)
    {
        using (var cursor = data.GetRowCursor([data.Schema[_truth], data.Schema[_predicted]]))
        {
            var truth = cursor.GetClrGetter(data.Schema[_truth]);
            var predicted = cursor.GetClrGetter(data.Schema[_predicted]);
            while (cursor.MoveNext()) Accept(cursor.Position, truth(), predicted());
        }
        return Finish(classNames);
    }

    private void Accept(long position, object? truthValue, object? predictedValue)
    {
        try
        {
            var truth = MaskConverters.ToLabelMap(truthValue ?? throw new ArgumentException("the true mask is empty"));
            var predicted = MaskConverters.ToLabelMap(predictedValue ?? throw new ArgumentException("the predicted mask is empty"));
            var classes = _classes ?? Present(truth, predicted);
            _cases.Add(SegmentationMetrics.ComputeCase(truth, predicted, classes).ToDictionary(s => s.ClassIndex));
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{Stage}: row {position}, columns '{_truth}' and '{_predicted}': {e.Message}", e);
        }
    }

    private SegmentationMetrics Finish(IReadOnlyList<string>? classNames)
    {
        if (_cases.Count == 0) throw new InvalidOperationException($"{Stage}: there are no rows to evaluate");
        var classes = _classes ?? Enumerable.Range(1, _maxLabel).ToArray();
        if (classes.Count == 0)
            throw new InvalidOperationException($"{Stage}: masks '{_truth}' and '{_predicted}' hold only background; pass the classes to score");
        var perCase = _cases.Select(c => (IReadOnlyList<SegmentationClassScores>)classes
            .Select(k => c.TryGetValue(k, out var s) ? s : new SegmentationClassScores(k, 1, 1, double.NaN, double.NaN)).ToArray()).ToArray();
        return SegmentationMetrics.Aggregate(perCase, classNames);
    }

    private int[] Present(LabelMap truth, LabelMap predicted)
    {
        var max = Math.Max(truth.MaxLabel, predicted.MaxLabel);
        _maxLabel = Math.Max(_maxLabel, max);
        var seen = new bool[max + 1];
        foreach (var v in truth.Labels) seen[v] = true;
        foreach (var v in predicted.Labels) seen[v] = true;
        return Enumerable.Range(1, max).Where(c => seen[c]).ToArray();
    }
}
