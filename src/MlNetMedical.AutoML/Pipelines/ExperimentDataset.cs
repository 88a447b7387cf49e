using MlNetMedical.Data;
namespace MlNetMedical.AutoML;

/// <summary>One train/validation pair a trial fits and scores on (the single split, or one cross-validation fold).</summary>
public sealed record TrialFold(int Index, IDataView Train, IDataView Validation);

/// <summary>
/// What <see cref="AutoMLExperiment.SetDataset(IDataView, IDataView)"/> gives the trials: the folds to fit and score, the rows
/// the best configuration is refitted on (train + validation, or all the data), and the group column that keeps a patient
/// on one side of every split.
/// </summary>
public sealed class ExperimentDataset
{
    internal ExperimentDataset(IReadOnlyList<TrialFold> folds, IDataView all, string? groupColumnName)
    {
        Folds = folds; All = all; GroupColumnName = groupColumnName;
    }

    public IReadOnlyList<TrialFold> Folds { get; }

    /// <summary>Every row (train and validation): what the best configuration is refitted on.</summary>
    public IDataView All { get; }

    public string? GroupColumnName { get; }

    /// <summary>A single split; <paramref name="validation"/> must have <paramref name="train"/>'s columns.</summary>
    public static ExperimentDataset FromSplit(IDataView train, IDataView validation, string? groupColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        CheckGroupColumn(train.Schema, groupColumnName, "train");
        return new ExperimentDataset([new TrialFold(0, train, validation)], new ConcatenatedDataView(train, validation), groupColumnName);
    }

    /// <summary><paramref name="folds"/> folds of <paramref name="data"/> made by ML.NET's <c>ml.Data.CrossValidationSplit</c>, a group
    /// never split across train and validation (the group column is its sampling key; no stratification).</summary>
    /// <param name="context">The context whose data catalog splits the rows.</param>
    /// <param name="data">All rows.</param>
    /// <param name="folds">Number of folds (at least 2).</param>
    /// <param name="groupColumnName">The sampling key (e.g. a patient id): rows sharing it land in the same fold; null = rows are split at random.</param>
    /// <param name="seed">The split's seed.</param>
    public static ExperimentDataset FromFolds(MLContext context, IDataView data, int folds, string? groupColumnName, int seed)
    {
        ArgumentNullException.ThrowIfNull(context);
        CheckFolds(data, folds, groupColumnName);
        var split = context.Data.CrossValidationSplit(data, folds, groupColumnName, seed);
        return new ExperimentDataset(split.Select((s, i) => new TrialFold(i, s.TrainSet, s.TestSet)).ToList(), data, groupColumnName);
    }

    /// <summary>The argument checks of <see cref="FromFolds"/>, for callers that draw the folds later.</summary>
    internal static void CheckFolds(IDataView data, int folds, string? groupColumnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (folds < 2) throw new ArgumentOutOfRangeException(nameof(folds), folds, "Cross-validation needs at least 2 folds.");
        CheckGroupColumn(data.Schema, groupColumnName, "data");
    }

    private static void CheckGroupColumn(DataViewSchema schema, string? name, string what)
    {
        if (name is not null && schema.GetColumnOrNull(name) is null)
            throw new ArgumentException($"The group column '{name}' is not in the {what} view; its columns: {schema.Describe()}.", nameof(name));
    }
}

/// <summary>The rows of one view followed by the rows of another with the same columns (lazy, never shuffled).</summary>
internal sealed class ConcatenatedDataView : IDataView
{
    private readonly IDataView _first, _second;

    public ConcatenatedDataView(IDataView first, IDataView second)
    {
        if (first.Schema.Count != second.Schema.Count || first.Schema.Zip(second.Schema).Any(p => p.First.Name != p.Second.Name || !p.First.Type.Equals(p.Second.Type)))
            throw new ArgumentException($"Train and validation views must have the same columns: train has {first.Schema.Describe()}; validation has {second.Schema.Describe()}.");
        _first = first; _second = second;
    }

    public DataViewSchema Schema => _first.Schema;

    // Row order is train then validation; shuffling would need both parts' cursors interleaved, which no caller asks for.
    public bool CanShuffle => false;

    public long? GetRowCount() => _first.GetRowCount() is { } a && _second.GetRowCount() is { } b ? a + b : null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.Select(c => Schema[c.Name]).ToArray());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(ConcatenatedDataView view, DataViewSchema.Column[] active) : DataViewRowCursor
    {
        private readonly DataViewRowCursor[] _parts = [view._first.GetRowCursor(active), view._second.GetRowCursor(active.Select(c => view._second.Schema[c.Name]))];
        private readonly Dictionary<int, Delegate>[] _getters = [new(), new()];
        private int _part;
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;
        public override long Position => _position;
        public override long Batch => 0;
        public override bool IsColumnActive(DataViewSchema.Column column) => active.Any(c => c.Index == column.Index);

        // Ids stay unique across the parts: the part number goes in the high word.
        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, (ulong)_part);

        public override bool MoveNext()
        {
            while (_part < _parts.Length)
            {
                if (_parts[_part].MoveNext()) { _position++; return true; }
                _part++;
            }
            return false;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < 0 || column.Index >= Schema.Count || Schema[column.Index].Name != column.Name)
                throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' is not in this view ({Schema.Describe()}).");
            var own = Schema[column.Index];
            if (typeof(TValue) != own.Type.RawType)
                throw new InvalidOperationException($"Column '{own.Name}' holds {own.Type} values ({own.Type.RawType.Name}); a getter of {typeof(TValue).Name} was asked for.");
            if (!IsColumnActive(own))
                throw new InvalidOperationException($"Column '{own.Name}' was not requested when the cursor was opened.");
            return (ref TValue value) =>
            {
                int part = Math.Min(_part, _parts.Length - 1);
                if (!_getters[part].TryGetValue(own.Index, out var getter))
                    _getters[part][own.Index] = getter = _parts[part].GetGetter<TValue>(_parts[part].Schema[own.Name]);
                ((ValueGetter<TValue>)getter)(ref value);
            };
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) foreach (var p in _parts) p.Dispose();
            base.Dispose(disposing);
        }
    }
}
