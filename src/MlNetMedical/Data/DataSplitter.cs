namespace MlNetMedical.Data;

/// <summary>A train set and a test set drawn from one view (lazy subsets of it, in its row order).</summary>
internal sealed record DataSplit(IDataView TrainSet, IDataView TestSet);

/// <summary>
/// The framework's internal splitter (trainers' validation splits; users split with ML.NET's <c>ml.Data.TrainTestSplit</c>,
/// which groups by a sampling key but does not stratify). Group-aware, optionally stratified splitting over any ML.NET view. Rows sharing a sampling-key value (e.g. a patient) form one group
/// and always land on the same side. With stratification, each group belongs to the stratum of its most frequent
/// label (ties: the label seen first), and each stratum is split separately so label proportions are kept.
/// Groups are shuffled with <see cref="SeededRandom"/>: the same seed and data give the same split on every machine.
/// </summary>
internal static class DataSplitter
{
    private sealed class Group(object key)
    {
        public object Key { get; } = key;
        public List<long> Rows { get; } = [];
        public Dictionary<object, int> LabelCounts { get; } = [];
        public object? Stratum { get; set; }
    }

    public static DataSplit TrainTest(IDataView data, double testFraction, string? samplingKeyColumnName, string? stratifyColumnName, long seed)
    {
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "testFraction must be strictly between 0 and 1");
        var strata = Strata(data, samplingKeyColumnName, stratifyColumnName, seed);
        var test = new List<long>();
        var train = new List<long>();
        foreach (var groups in strata)
        {
            var target = testFraction * groups.Sum(g => g.Rows.Count);
            long taken = 0;
            foreach (var g in groups)
            {
                // Greedy: a group goes to test when that brings the stratum's test size closer to its target.
                if (Math.Abs(taken + g.Rows.Count - target) < Math.Abs(taken - target)) { taken += g.Rows.Count; test.AddRange(g.Rows); }
                else train.AddRange(g.Rows);
            }
        }
        if (test.Count == 0 || train.Count == 0)
            throw new ArgumentException(
                $"testFraction {testFraction} leaves the {(test.Count == 0 ? "test" : "train")} set empty ({strata.Sum(s => s.Count)} groups, {train.Count + test.Count} rows)", nameof(testFraction));
        return new DataSplit(RowSubsetDataView.Of(data, train), RowSubsetDataView.Of(data, test));
    }

    public static IReadOnlyList<DataSplit> Folds(IDataView data, int numberOfFolds, string? samplingKeyColumnName, string? stratifyColumnName, long seed)
    {
        if (numberOfFolds < 2) throw new ArgumentOutOfRangeException(nameof(numberOfFolds), numberOfFolds, "numberOfFolds must be at least 2");
        var strata = Strata(data, samplingKeyColumnName, stratifyColumnName, seed);
        var groupCount = strata.Sum(s => s.Count);
        if (groupCount < numberOfFolds)
            throw new ArgumentException($"numberOfFolds {numberOfFolds} is more than the {groupCount} groups" +
                                        (samplingKeyColumnName is null ? " (rows)" : $" of samplingKeyColumnName '{samplingKeyColumnName}'"), nameof(numberOfFolds));
        var folds = Enumerable.Range(0, numberOfFolds).Select(_ => new List<long>()).ToArray();
        foreach (var groups in strata)
        {
            var inStratum = new long[numberOfFolds];
            foreach (var g in groups)
            {
                // The fold with the fewest rows of this stratum, then the fewest rows overall, then the lowest index.
                var best = 0;
                for (var f = 1; f < numberOfFolds; f++)
                    if (inStratum[f] < inStratum[best] || (inStratum[f] == inStratum[best] && folds[f].Count < folds[best].Count)) best = f;
                inStratum[best] += g.Rows.Count;
                folds[best].AddRange(g.Rows);
            }
        }
        return folds.Select((test, f) => new DataSplit(
            RowSubsetDataView.Of(data, folds.Where((_, o) => o != f).SelectMany(x => x)),
            RowSubsetDataView.Of(data, test))).ToArray();
    }

    /// <summary>Groups by sampling key, assigns strata, and returns each stratum's groups shuffled (strata in order of first appearance).</summary>
    private static List<List<Group>> Strata(IDataView data, string? samplingKeyColumnName, string? stratifyColumnName, long seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        var needed = new List<DataViewSchema.Column>(); // only these are read: volumes are never loaded to split
        if (samplingKeyColumnName is not null)
        {
            Require(data.Schema, samplingKeyColumnName, "samplingKeyColumnName");
            needed.Add(data.Schema[samplingKeyColumnName]);
        }
        if (stratifyColumnName is not null)
        {
            Require(data.Schema, stratifyColumnName, "labelColumnName (for stratification)");
            needed.Add(data.Schema[stratifyColumnName]);
        }

        var groups = new Dictionary<object, Group>();
        var order = new List<Group>();
        using (var cursor = data.GetRowCursor(needed.DistinctBy(c => c.Name)))
        {
            // Plain values (string, not ReadOnlyMemory<char>) so equal keys compare equal.
            var key = samplingKeyColumnName is null ? null : cursor.GetClrGetter(data.Schema[samplingKeyColumnName]);
            var label = stratifyColumnName is null ? null : cursor.GetClrGetter(data.Schema[stratifyColumnName]);
            while (cursor.MoveNext())
            {
                var k = key is null ? cursor.Position : key()
                    ?? throw new InvalidOperationException($"row {cursor.Position} has no value in samplingKeyColumnName '{samplingKeyColumnName}'");
                if (!groups.TryGetValue(k, out var g)) { groups[k] = g = new Group(k); order.Add(g); }
                g.Rows.Add(cursor.Position);
                if (label is not null)
                {
                    var l = label() ?? throw new InvalidOperationException($"row {cursor.Position} has no value in label column '{stratifyColumnName}'");
                    g.LabelCounts[l] = g.LabelCounts.GetValueOrDefault(l) + 1;
                }
            }
        }
        if (order.Count == 0) throw new ArgumentException("the data has no rows to split", nameof(data));

        var labelOrder = new Dictionary<object, int>();
        foreach (var g in order)
            foreach (var l in g.LabelCounts.Keys)
                labelOrder.TryAdd(l, labelOrder.Count);
        var strata = new List<List<Group>>();
        var byStratum = new Dictionary<object, List<Group>>();
        foreach (var g in order)
        {
            g.Stratum = g.LabelCounts.Count == 0 ? "" : g.LabelCounts.OrderByDescending(p => p.Value).ThenBy(p => labelOrder[p.Key]).First().Key;
            if (!byStratum.TryGetValue(g.Stratum, out var list)) { byStratum[g.Stratum] = list = []; strata.Add(list); }
            list.Add(g);
        }
        var random = new SeededRandom(seed);
        foreach (var s in strata) random.Shuffle(s);
        return strata;
    }

    /// <summary>The column must exist and hold values that can be grouped: scalar text, boolean, number or key.</summary>
    private static void Require(DataViewSchema schema, string column, string parameter)
    {
        var found = schema.GetColumnOrNull(column)
            ?? throw new ArgumentException($"data splitting: {parameter} '{column}' is not a column of the data; columns: {schema.Describe()}", parameter);
        if (found.Type is not (TextDataViewType or BooleanDataViewType or NumberDataViewType or KeyDataViewType))
            throw new ArgumentException($"data splitting: {parameter} '{column}' is {found.Type}, expected a scalar text, boolean, number or key column", parameter);
    }
}
