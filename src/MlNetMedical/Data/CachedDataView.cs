namespace MlNetMedical.Data;

/// <summary>
/// Keeps every row of a source view in memory after the first read, so expensive upstream transforms (e.g. encoder
/// features) run once however many passes a trainer makes (ML.NET's <c>Cache</c>). All columns are cached.
/// </summary>
internal sealed class CachedDataView(IDataView source) : IDataView
{
    private readonly Lazy<object?[][]> _rows = new(() => ReadAll(source), LazyThreadSafetyMode.ExecutionAndPublication);

    public DataViewSchema Schema => source.Schema;

    public long? GetRowCount() => _rows.IsValueCreated ? _rows.Value.Length : source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        var rows = _rows.Value;
        var at = -1;
        return new BoxedRowCursor(Schema, columnsNeeded, () => ++at < rows.Length, index => rows[at][index]);
    }

    private static object?[][] ReadAll(IDataView source)
    {
        var rows = new List<object?[]>();
        using var cursor = source.GetRowCursor(source.Schema);
        var getters = source.Schema.Select(cursor.GetBoxedGetter).ToArray();
        while (cursor.MoveNext()) rows.Add(getters.Select(g => g()).ToArray());
        return rows.ToArray();
    }
}
