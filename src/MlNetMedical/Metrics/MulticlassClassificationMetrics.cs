namespace MlNetMedical.Metrics;

/// <summary>
/// Classification quality over a set of rows, named as in ML.NET's <c>MulticlassClassificationMetrics</c>
/// where ML.NET has the figure, plus balanced accuracy, macro-F1 and one-vs-rest ROC-AUC.
/// Binary tasks are the K = 2 case.
/// </summary>
/// <remarks>
/// <para>The predicted class of a row is the arg-max of its probabilities; ties go to the lowest class index.</para>
/// <para>Undefined figures are NaN, never 0 (see <see cref="ConfusionMatrix"/> for per-class rules):
/// a class absent from the labels has NaN recall, per-class log-loss and ROC-AUC and is left out of the
/// macro averages; with a single class present, ROC-AUC and <see cref="LogLossReduction"/> are NaN.
/// An empty row set is an error.</para>
/// </remarks>
public sealed class MulticlassClassificationMetrics
{
    /// <summary>Probabilities are clipped to [<see cref="ProbabilityEpsilon"/>, 1] before taking logs, so a
    /// confident wrong answer costs −ln(1e-15) ≈ 34.5 instead of infinity.</summary>
    public const double ProbabilityEpsilon = 1e-15;

    private MulticlassClassificationMetrics() { }

    /// <summary>Number of rows evaluated.</summary>
    public long RowCount { get; private init; }

    /// <summary>Number of classes K.</summary>
    public int NumberOfClasses => ConfusionMatrix.NumberOfClasses;

    /// <summary>Class names, index-aligned with every per-class list.</summary>
    public IReadOnlyList<string> ClassNames => ConfusionMatrix.ClassNames;

    /// <summary>Fraction of rows predicted correctly (plain accuracy).</summary>
    public double MicroAccuracy { get; private init; }

    /// <summary>Mean per-class recall over the classes present in the labels (ML.NET's name for balanced accuracy).</summary>
    public double MacroAccuracy { get; private init; }

    /// <summary>Same value as <see cref="MacroAccuracy"/>, under the name used in the medical literature.</summary>
    public double BalancedAccuracy => MacroAccuracy;

    /// <summary>Mean of <see cref="ConfusionMatrix.PerClassF1"/> over classes present in the labels or predictions.</summary>
    public double MacroF1 { get; private init; }

    /// <summary>Mean −ln p(true class), probabilities clipped at <see cref="ProbabilityEpsilon"/>.</summary>
    public double LogLoss { get; private init; }

    /// <summary>(LL_prior − LogLoss) / LL_prior, where LL_prior is the log-loss of always predicting the label
    /// frequencies of these rows. 1 is perfect, 0 is no better than the prior, negative is worse; NaN with one class present.</summary>
    public double LogLossReduction { get; private init; }

    /// <summary>Mean log-loss over the rows of each class; NaN for a class absent from the labels.</summary>
    public IReadOnlyList<double> PerClassLogLoss { get; private init; } = [];

    /// <summary>The K requested for <see cref="TopKAccuracy"/>; 0 when none was requested.</summary>
    public int TopKPredictionCount { get; private init; }

    /// <summary>Fraction of rows whose true class is among the <see cref="TopKPredictionCount"/> most probable; NaN when not requested.</summary>
    public double TopKAccuracy { get; private init; }

    /// <summary>Top-k accuracy for k = 1..K (index 0 is k = 1, equal to <see cref="MicroAccuracy"/>).</summary>
    public IReadOnlyList<double> TopKAccuracyForAllK { get; private init; } = [];

    /// <summary>Per-class precision, from the confusion matrix.</summary>
    public IReadOnlyList<double> PerClassPrecision => ConfusionMatrix.PerClassPrecision;

    /// <summary>Per-class recall, from the confusion matrix.</summary>
    public IReadOnlyList<double> PerClassRecall => ConfusionMatrix.PerClassRecall;

    /// <summary>One-vs-rest ROC-AUC per class (ties count one half); NaN where a class has no positives or no negatives.</summary>
    public IReadOnlyList<double> PerClassRocAuc => RocCurves.Select(c => c.Auc).ToArray();

    /// <summary>Mean of the defined <see cref="PerClassRocAuc"/> values; NaN if none is defined.
    /// For K = 2 both classes have the same AUC, so this is the usual binary AUC.</summary>
    public double MacroRocAuc { get; private init; }

    /// <summary>One-vs-rest ROC curve per class, for plots and reports.</summary>
    public IReadOnlyList<RocCurve> RocCurves { get; private init; } = [];

    /// <summary>The confusion matrix (rows actual, columns predicted).</summary>
    public ConfusionMatrix ConfusionMatrix { get; private init; } = null!;

    /// <summary>
    /// Computes every metric from true class indices and per-row class probabilities.
    /// </summary>
    /// <param name="labels">True class index per row, in [0, K).</param>
    /// <param name="probabilities">Per row, K probabilities (finite, in [0, 1], summing to 1 within 1e-3).</param>
    /// <param name="classNames">K class names; defaults to "0".."K-1".</param>
    /// <param name="topKPredictionCount">The K for <see cref="TopKAccuracy"/>; 0 for none.</param>
    public static MulticlassClassificationMetrics Compute(
        IReadOnlyList<int> labels, IReadOnlyList<float[]> probabilities, IReadOnlyList<string>? classNames = null, int topKPredictionCount = 0)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(probabilities);
        if (labels.Count == 0) throw new ArgumentException("there are no rows to evaluate", nameof(labels));
        if (labels.Count != probabilities.Count)
            throw new ArgumentException($"labels has {labels.Count} rows but probabilities has {probabilities.Count}", nameof(probabilities));
        var k = classNames?.Count ?? probabilities[0].Length;
        if (k < 1) throw new ArgumentException("there must be at least one class", nameof(classNames));
        if (topKPredictionCount < 0 || topKPredictionCount > k)
            throw new ArgumentOutOfRangeException(nameof(topKPredictionCount), topKPredictionCount, $"must be in [0, {k}]");
        ValidateRows(labels, probabilities, k);

        var n = labels.Count;
        var counts = new long[k][];
        for (var c = 0; c < k; c++) counts[c] = new long[k];
        var classRows = new long[k];
        var classLoss = new double[k];
        var hitsAtRank = new long[k];   // hitsAtRank[r]: rows whose true class ranks r-th (0 = top)
        double totalLoss = 0;
        for (var i = 0; i < n; i++)
        {
            var p = probabilities[i];
            var y = labels[i];
            var rank = 0;   // classes ranked before y: higher probability, or equal with a lower index
            for (var c = 0; c < k; c++)
                if (p[c] > p[y] || (p[c] == p[y] && c < y)) rank++;
            counts[y][rank == 0 ? y : ArgMax(p)]++;
            hitsAtRank[rank]++;
            var loss = -Math.Log(Math.Max(p[y], ProbabilityEpsilon));
            totalLoss += loss;
            classLoss[y] += loss;
            classRows[y]++;
        }

        var matrix = new ConfusionMatrix(counts, classNames?.ToArray() ?? Enumerable.Range(0, k).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        var topK = new double[k];
        long cumulative = 0;
        for (var r = 0; r < k; r++) topK[r] = (double)(cumulative += hitsAtRank[r]) / n;

        var logLoss = totalLoss / n;
        double prior = 0;
        foreach (var rows in classRows)
            if (rows > 0) prior -= (double)rows / n * Math.Log((double)rows / n);

        var curves = new RocCurve[k];
        var isPositive = new bool[n];
        var scores = new double[n];
        for (var c = 0; c < k; c++)
        {
            for (var i = 0; i < n; i++) { isPositive[i] = labels[i] == c; scores[i] = probabilities[i][c]; }
            curves[c] = RocCurve.Compute(c, scores, isPositive);
        }

        return new MulticlassClassificationMetrics
        {
            RowCount = n,
            ConfusionMatrix = matrix,
            MicroAccuracy = topK[0],
            MacroAccuracy = MeanOfDefined(matrix.PerClassRecall),
            MacroF1 = MeanOfDefined(matrix.PerClassF1),
            LogLoss = logLoss,
            LogLossReduction = prior > 0 ? (prior - logLoss) / prior : double.NaN,
            PerClassLogLoss = classLoss.Select((l, c) => classRows[c] > 0 ? l / classRows[c] : double.NaN).ToArray(),
            TopKPredictionCount = topKPredictionCount,
            TopKAccuracy = topKPredictionCount > 0 ? topK[topKPredictionCount - 1] : double.NaN,
            TopKAccuracyForAllK = topK,
            RocCurves = curves,
            MacroRocAuc = MeanOfDefined(curves.Select(c => c.Auc).ToArray()),
        };
    }

    /// <summary>Mean of the non-NaN values; NaN when every value is NaN.</summary>
    internal static double MeanOfDefined(IReadOnlyList<double> values)
    {
        double sum = 0;
        var count = 0;
        foreach (var v in values)
            if (!double.IsNaN(v)) { sum += v; count++; }
        return count == 0 ? double.NaN : sum / count;
    }

    /// <summary>Index of the largest value; the lowest index wins a tie.</summary>
    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var c = 1; c < values.Length; c++)
            if (values[c] > values[best]) best = c;
        return best;
    }

    private static void ValidateRows(IReadOnlyList<int> labels, IReadOnlyList<float[]> probabilities, int k)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i] < 0 || labels[i] >= k)
                throw new ArgumentOutOfRangeException(nameof(labels), $"row {i}: label {labels[i]} is outside [0, {k})");
            var p = probabilities[i] ?? throw new ArgumentException($"row {i}: probabilities are missing", nameof(probabilities));
            if (p.Length != k)
                throw new ArgumentException($"row {i}: {p.Length} probabilities for {k} classes", nameof(probabilities));
            double sum = 0;
            foreach (var v in p)
            {
                if (!float.IsFinite(v) || v < 0 || v > 1)
                    throw new ArgumentException($"row {i}: probability {v} is not in [0, 1]", nameof(probabilities));
                sum += v;
            }
            if (Math.Abs(sum - 1) > 1e-3)
                throw new ArgumentException($"row {i}: probabilities sum to {sum:G6}, not 1 (apply softmax to raw scores first)", nameof(probabilities));
        }
    }
}
