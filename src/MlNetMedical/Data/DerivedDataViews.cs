namespace MlNetMedical.Data;

/// <summary>The rows of a source view whose positions are in a set, in source order (lazy).</summary>
internal sealed class RowSubsetDataView : IDerivedDataView
{
    /// <summary>The subset view; a dataset view is subset directly, so it loads (and prefetches) only the kept rows.</summary>
    public static IDataView Of(IDataView source, IEnumerable<long> rows)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source is not DatasetDataView dataset) return new RowSubsetDataView(source, rows);
        var keep = rows.ToHashSet();
        return dataset.Subset((i, _) => keep.Contains(i));
    }

    private readonly IDataView _source;
    private readonly HashSet<long> _rows;

    public RowSubsetDataView(IDataView source, IEnumerable<long> rows)
    {
        _source = source;
        _rows = [.. rows];
    }

    public DataViewSchema Schema => _source.Schema;

    public IDataView Source => _source;

    public bool CanShuffle => false;

    // The positions come from a pass over the source, so each selects one row.
    public long? GetRowCount() => _rows.Count;

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    // Positions count the source's rows in order (its cursor is never shuffled: no Random is passed on).
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        FilteringCursor.Open(_source, columnsNeeded, [], (cursor, _) => _rows.Contains(cursor.Position));
}

/// <summary>The rows of a source view for which a predicate over one column's plain CLR value (string for text, see
/// <see cref="ColumnValues.ToClr"/>) holds (lazy).</summary>
internal sealed class ColumnFilterDataView<TValue> : IDerivedDataView
{
    private readonly IDataView _source;
    private readonly DataViewSchema.Column _column;
    private readonly Func<TValue, bool> _keep;

    public ColumnFilterDataView(IDataView source, DataViewSchema.Column column, Func<TValue, bool> keep)
    {
        _source = source;
        _column = column;
        _keep = keep;
    }

    public DataViewSchema Schema => _source.Schema;

    public IDataView Source => _source;

    public bool CanShuffle => false;

    public long? GetRowCount() => null;

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        FilteringCursor.Open(_source, columnsNeeded, [_column], (_, values) => _keep((TValue)ColumnValues.ToClr(values[0]())!));
}

/// <summary>Opens a source cursor (in source order) and skips the rows a predicate rejects.</summary>
internal static class FilteringCursor
{
    /// <summary>A cursor over <paramref name="source"/>'s schema with <paramref name="columnsNeeded"/> active; <paramref name="keep"/>
    /// sees the source cursor and raw getters of <paramref name="predicateColumns"/>.</summary>
    public static DataViewRowCursor Open(IDataView source, IEnumerable<DataViewSchema.Column> columnsNeeded,
        DataViewSchema.Column[] predicateColumns, Func<DataViewRowCursor, Func<object?>[], bool> keep)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var schema = source.Schema;
        var needed = columnsNeeded.ToArray(); // BoxedRowCursor checks they belong to the schema
        var inner = source.GetRowCursor(needed.Concat(predicateColumns).DistinctBy(c => c.Index).ToArray());
        var predicateGetters = predicateColumns.Select(inner.GetRawGetter).ToArray();
        var getters = new Func<object?>?[schema.Count];
        foreach (var c in needed) getters[c.Index] = inner.GetRawGetter(c);
        return new BoxedRowCursor(schema, needed,
            () =>
            {
                while (inner.MoveNext())
                    if (keep(inner, predicateGetters)) return true;
                return false;
            },
            index => getters[index]!(),
            inner.Dispose);
    }
}

/// <summary>A view computed from one source view (lets a stage find what is upstream, e.g. an augmentation stage).</summary>
internal interface IDerivedDataView : IDataView
{
    /// <summary>The view this one reads.</summary>
    IDataView Source { get; }
}

/// <summary>Every column of a source view (volumes included), read once on first use and then served from memory.</summary>
internal sealed class InMemoryDataView(IDataView source) : IDerivedDataView
{
    private readonly Lazy<List<object?[]>> _rows = new(() =>
    {
        var rows = new List<object?[]>();
        using var cursor = source.GetRowCursor(source.Schema);
        var getters = source.Schema.Select(cursor.GetRawGetter).ToArray(); // fresh buffers per read, so rows may be kept
        while (cursor.MoveNext()) rows.Add(getters.Select(g => g()).ToArray());
        return rows;
    });

    public DataViewSchema Schema => source.Schema;

    public IDataView Source => source;

    public bool CanShuffle => false;

    public long? GetRowCount() => _rows.IsValueCreated ? _rows.Value.Count : source.GetRowCount();

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var rows = _rows.Value;
        var at = -1;
        return new BoxedRowCursor(Schema, columnsNeeded, () => ++at < rows.Count, index => rows[at][index]);
    }
}
