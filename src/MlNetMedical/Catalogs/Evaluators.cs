using MlNetMedical.Data;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Catalogs;

/// <summary>Accumulates one kind of metrics from rows, so several evaluations can share one pass over a (possibly
/// expensive, lazily scored) view.</summary>
internal interface IRowEvaluator
{
    IEnumerable<string> Columns { get; }
    void Attach(DataViewRow row);
    void Accept(long position);
}

internal static class Evaluation
{
    /// <summary>Reads <paramref name="data"/> once, feeding every evaluator each row.</summary>
    public static void Run(IDataView data, params IRowEvaluator[] evaluators)
    {
        using var cursor = data.GetRowCursor(evaluators.SelectMany(e => e.Columns).Distinct().Select(n => data.Schema[n]));
        foreach (var e in evaluators) e.Attach(cursor);
        while (cursor.MoveNext())
            foreach (var e in evaluators) e.Accept(cursor.Position);
    }
}

/// <summary>Collects key labels and probability vectors for <see cref="MulticlassClassificationMetrics"/>.</summary>
internal sealed class ClassificationEvaluator : IRowEvaluator
{
    private const string Stage = "Classification.Evaluate";
    private readonly string _label;
    private readonly string _score;
    private readonly KeyDataViewType _keyType;
    private readonly List<int> _labels = [];
    private readonly List<float[]> _probabilities = [];
    private LabelledVectors? _reader;

    public ClassificationEvaluator(DataViewSchema schema, string labelColumnName, string scoreColumnName)
    {
        var shape = SchemaShape.Create(schema);
        ColumnRequirement.Key(labelColumnName).Check(shape, Stage);
        new ColumnRequirement(scoreColumnName, "a vector of Single probabilities",
            c => c.Kind != SchemaShape.VectorKind.Scalar && c.ItemType.Equals(NumberDataViewType.Single)).Check(shape, Stage);
        _label = labelColumnName;
        _score = scoreColumnName;
        _keyType = (KeyDataViewType)schema[labelColumnName].Type;
    }

    public IEnumerable<string> Columns => [_label, _score];

    public void Attach(DataViewRow row) => _reader = new LabelledVectors(row, _label, _score, Stage);

    public void Accept(long position)
    {
        var (label, p) = _reader!.Read(position);
        if (p.Length != _keyType.Count)
            throw new InvalidOperationException($"{Stage}: score column '{_score}' has {p.Length} values at row {position}, label '{_label}' has {_keyType.Count} classes");
        _labels.Add(label);
        _probabilities.Add(p);
    }

    public MulticlassClassificationMetrics Finish(int topKPredictionCount)
    {
        try
        {
            return MulticlassClassificationMetrics.Compute(_labels, _probabilities, _keyType.KeyNames, topKPredictionCount);
        }
        catch (ArgumentException e) when (e.ParamName == "probabilities")
        {
            throw new InvalidOperationException($"{Stage}: score column '{_score}': {e.Message}", e);
        }
    }
}

/// <summary>
/// Scores each case's masks as it is read. Without a class list it scores the labels present in the case and, at the
/// end, gives every case the classes 1..max seen anywhere: a class absent from both masks of a case has fixed scores
/// (Dice 1, IoU 1, surface NaN), so one pass suffices.
/// </summary>
internal sealed class SegmentationEvaluator : IRowEvaluator
{
    private const string Stage = "Segmentation.Evaluate";
    private readonly string _truth;
    private readonly string _predicted;
    private readonly IReadOnlyList<int>? _classes;
    private readonly List<Dictionary<int, SegmentationClassScores>> _cases = [];
    private Func<object?>? _getTruth;
    private Func<object?>? _getPredicted;
    private int _maxLabel;

    public SegmentationEvaluator(DataViewSchema schema, string truthColumnName, string predictedColumnName, IReadOnlyList<int>? classes)
    {
        var shape = SchemaShape.Create(schema);
        ColumnRequirement.Volume(truthColumnName, VolumeKind.Mask).Check(shape, Stage);
        ColumnRequirement.Volume(predictedColumnName, VolumeKind.Mask).Check(shape, Stage);
        if (classes is not null && (classes.Count == 0 || classes.Any(c => c < 1)))
            throw new ArgumentException($"classes must be non-empty label values ≥ 1, got [{string.Join(", ", classes)}]", nameof(classes));
        _truth = truthColumnName;
        _predicted = predictedColumnName;
        _classes = classes;
    }

    public IEnumerable<string> Columns => [_truth, _predicted];

    public void Attach(DataViewRow row)
    {
        _getTruth = row.GetBoxedGetter(row.Schema[_truth]);
        _getPredicted = row.GetBoxedGetter(row.Schema[_predicted]);
    }

    public void Accept(long position)
    {
        try
        {
            var truth = MaskConverters.ToLabelMap(_getTruth!() ?? throw new ArgumentException("the true mask is empty"));
            var predicted = MaskConverters.ToLabelMap(_getPredicted!() ?? throw new ArgumentException("the predicted mask is empty"));
            var classes = _classes ?? Present(truth, predicted);
            _cases.Add(SegmentationMetrics.ComputeCase(truth, predicted, classes).ToDictionary(s => s.ClassIndex));
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{Stage}: row {position}, columns '{_truth}' and '{_predicted}': {e.Message}", e);
        }
    }

    public SegmentationMetrics Finish(IReadOnlyList<string>? classNames)
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
