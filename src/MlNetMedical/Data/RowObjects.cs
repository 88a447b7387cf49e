namespace MlNetMedical.Data;

/// <summary>Reads a view back into objects (ML.NET's <c>CreateEnumerable</c>).</summary>
internal static class RowObjects
{
    /// <summary>One new <typeparamref name="TRow"/> per row, each mapped property set from its column (same
    /// naming attributes as loading). A property without a column, or of another type than the column's values, is an error.</summary>
    public static IEnumerable<TRow> Create<TRow>(IDataView data) where TRow : class, new()
    {
        ArgumentNullException.ThrowIfNull(data);
        var properties = EnumerableDataView<TRow>.ColumnProperties(typeof(TRow)).Where(p => p.CanWrite).ToArray();
        var columns = properties.Select(p =>
        {
            var name = EnumerableDataView<TRow>.ColumnNameOf(p);
            var column = data.Schema.GetColumnOrNull(name)
                ?? throw new ArgumentException($"{typeof(TRow).Name}.{p.Name} needs column '{name}', which the data lacks; columns: {data.Schema.Describe()}", nameof(data));
            if (!p.PropertyType.IsAssignableFrom(column.Type.RawType))
                throw new ArgumentException($"{typeof(TRow).Name}.{p.Name} is {p.PropertyType.Name} but column '{name}' holds {column.Type.RawType.Name} ({column.Type})", nameof(data));
            return column;
        }).ToArray();
        return Enumerate<TRow>(data, properties, columns);
    }

    private static IEnumerable<TRow> Enumerate<TRow>(IDataView data, System.Reflection.PropertyInfo[] properties, DataViewSchema.Column[] columns) where TRow : class, new()
    {
        using var cursor = data.GetRowCursor(columns.DistinctBy(c => c.Name));
        var getters = columns.Select(cursor.GetBoxedGetter).ToArray();
        while (cursor.MoveNext())
        {
            var row = new TRow();
            for (var i = 0; i < properties.Length; i++) properties[i].SetValue(row, getters[i]());
            yield return row;
        }
    }
}
