using System.Reflection;

namespace MlNetMedical.Data;

/// <summary>
/// A view over in-memory rows of a class: one column per public readable property (see the column attributes).
/// The enumerable is read afresh by each cursor, so a lazy enumerable stays lazy.
/// </summary>
internal sealed class EnumerableDataView<TRow> : IDataView where TRow : class
{
    private readonly IEnumerable<TRow> _rows;
    private readonly PropertyInfo[] _properties;

    public EnumerableDataView(IEnumerable<TRow> rows)
    {
        _rows = rows ?? throw new ArgumentNullException(nameof(rows));
        var properties = ColumnProperties(typeof(TRow));
        if (properties.Length == 0) throw new ArgumentException($"row type {typeof(TRow).Name} has no public properties to use as columns", nameof(rows));
        _properties = properties;
        Schema = new DataViewSchema(properties.Select(p => new DataViewSchema.DetachedColumn(ColumnNameOf(p), ColumnTypeOf(p))));
        if (Schema.Count != properties.Length)
            throw new ArgumentException($"row type {typeof(TRow).Name} maps two properties to one column name", nameof(rows));
    }

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows.TryGetNonEnumeratedCount(out var n) ? n : null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        var enumerator = _rows.GetEnumerator();
        long row = -1;
        return new BoxedRowCursor(Schema, columnsNeeded,
            () => { var more = enumerator.MoveNext(); row++; return more; },
            index => Read(enumerator.Current, index, row),
            enumerator.Dispose);
    }

    private object? Read(TRow? item, int index, long row)
    {
        var column = Schema[index];
        if (item is null) throw new InvalidOperationException($"row {row} is null");
        var value = _properties[index].GetValue(item);
        switch (column.Type)
        {
            case VectorDataViewType vector:
                var array = value as Array ?? throw new InvalidOperationException($"column '{column.Name}', row {row}: the vector is null");
                if (vector.IsKnownSize && array.Length != vector.Size)
                    throw new InvalidOperationException($"column '{column.Name}', row {row}: vector has {array.Length} items, the column declares {vector.Size}");
                break;
            case KeyDataViewType key when (uint)value! > key.Count:
                throw new InvalidOperationException($"column '{column.Name}', row {row}: key {value} is above the {key.Count} categories");
            case VolumeDataViewType { Kind: VolumeKind.Image } when value is null:   // a null mask means "this row has no mask"
                throw new InvalidOperationException($"column '{column.Name}', row {row}: the image volume is null");
        }
        return value;
    }

    /// <summary>The public instance properties of a row type that map to columns.</summary>
    internal static PropertyInfo[] ColumnProperties(Type rowType) =>
        rowType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<NoColumnAttribute>() is null)
            .ToArray();

    /// <summary>The column a property maps to.</summary>
    internal static string ColumnNameOf(PropertyInfo p) => p.GetCustomAttribute<ColumnNameAttribute>()?.Name ?? p.Name;

    private static DataViewType ColumnTypeOf(PropertyInfo p)
    {
        var t = p.PropertyType;
        if (p.GetCustomAttribute<VolumeColumnAttribute>() is { } volume) return new VolumeDataViewType(volume.Kind, t);
        if (p.GetCustomAttribute<KeyTypeAttribute>() is { } key)
            return t == typeof(uint) ? new KeyDataViewType(key.Names)
                : throw new ArgumentException($"property {p.Name}: [KeyType] needs a uint property, not {t.Name}");
        if (NumberDataViewType.FromClrType(t) is { } number) return number;
        if (t == typeof(string)) return TextDataViewType.Instance;
        if (t == typeof(bool)) return BooleanDataViewType.Instance;
        if (t == typeof(LabelMap)) return VolumeDataViewType.LabelMapMask;
        if (t.IsArray && NumberDataViewType.FromClrType(t.GetElementType()!) is { } item)
            return new VectorDataViewType(item, p.GetCustomAttribute<VectorTypeAttribute>()?.Size ?? 0);
        throw new ArgumentException($"property {p.Name} of type {t.Name} has no column type; use float, double, int, long, bool, string, "
                                    + "a number array, uint with [KeyType], LabelMap, a volume type with [VolumeColumn], or mark it [NoColumn]");
    }
}
