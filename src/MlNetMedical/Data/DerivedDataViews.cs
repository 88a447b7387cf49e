namespace MlNetMedical.Data;

/// <summary>The rows of a source view whose positions are in a set, in source order (lazy).</summary>
internal sealed class RowSubsetDataView : IDerivedDataView
{
    /// <summary>The subset view; a dataset view is subset directly, so it loads (and prefetches) only the kept rows.</summary>
    public static IDataView Of(IDataView source, IEnumerable<long> rows)
    {
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

    public long? GetRowCount() => _rows.Count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) =>
        FilteringCursor.Open(_source, columnsNeeded, [], (cursor, _) => _rows.Contains(cursor.Position));
}

/// <summary>The rows of a source view for which a predicate over one column holds (lazy).</summary>
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

    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) =>
        FilteringCursor.Open(_source, columnsNeeded, [_column], (cursor, getters) => _keep((TValue)getters[0]()!));
}

/// <summary>Opens a source cursor and skips the rows a predicate rejects.</summary>
internal static class FilteringCursor
{
    public static DataViewRowCursor Open(IDataView source, IEnumerable<DataViewSchema.Column> columnsNeeded,
        DataViewSchema.Column[] predicateColumns, Func<DataViewRowCursor, Func<object?>[], bool> keep)
    {
        var needed = columnsNeeded.ToArray();
        var inner = source.GetRowCursor(needed.Concat(predicateColumns).DistinctBy(c => c.Name));
        var predicateGetters = predicateColumns.Select(inner.GetBoxedGetter).ToArray();
        var getters = new Func<object?>?[source.Schema.Count];
        foreach (var c in needed) getters[source.Schema[c.Name].Index] = inner.GetBoxedGetter(source.Schema[c.Name]);
        return new BoxedRowCursor(source.Schema, needed,
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
