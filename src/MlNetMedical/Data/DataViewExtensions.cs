using System.Reflection;

namespace MlNetMedical.Data;

/// <summary>Convenience reads over rows and views.</summary>
public static class DataViewExtensions
{
    /// <summary>The current row's value of the column named <paramref name="columnName"/>.</summary>
    public static TValue GetValue<TValue>(this DataViewRow row, string columnName)
    {
        TValue value = default!;
        row.GetGetter<TValue>(row.Schema[columnName])(ref value);
        return value;
    }

    /// <summary>Every value of one column, read lazily through a cursor.</summary>
    public static IEnumerable<TValue> GetColumn<TValue>(this IDataView data, string columnName)
    {
        var column = data.Schema[columnName];
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<TValue>(column);
        while (cursor.MoveNext())
        {
            TValue value = default!;
            getter(ref value);
            yield return value;
        }
    }

    /// <summary>Opens a cursor over every column.</summary>
    public static DataViewRowCursor GetRowCursor(this IDataView data) => data.GetRowCursor(data.Schema);

    private static readonly MethodInfo BoxedGetterMethod =
        typeof(DataViewExtensions).GetMethod(nameof(BoxedGetterOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>A getter that returns the current value as an object, whatever the column type.</summary>
    internal static Func<object?> GetBoxedGetter(this DataViewRow row, DataViewSchema.Column column) =>
        (Func<object?>)BoxedGetterMethod.MakeGenericMethod(column.Type.RawType).Invoke(null, [row, column])!;

    private static Func<object?> BoxedGetterOf<TValue>(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<TValue>(column);
        return () =>
        {
            TValue value = default!;
            getter(ref value);
            return value;
        };
    }

    /// <summary>Counts rows, reading through a cursor when the view does not know its count.</summary>
    public static long CountRows(this IDataView data)
    {
        if (data.GetRowCount() is { } known) return known;
        using var cursor = data.GetRowCursor([]);
        long n = 0;
        while (cursor.MoveNext()) n++;
        return n;
    }
}
