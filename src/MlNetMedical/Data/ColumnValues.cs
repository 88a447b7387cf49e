using System.Reflection;

namespace MlNetMedical.Data;

/// <summary>
/// Moves column values between ML.NET's raw forms and the plain CLR forms the framework's code works with:
/// text is <c>ReadOnlyMemory&lt;char&gt;</c> in a view and <c>string</c> here, vectors are <c>VBuffer&lt;T&gt;</c> in a
/// view and dense <c>T[]</c> here; keys (<c>uint</c>), numbers, booleans and volumes are the same in both.
/// </summary>
internal static class ColumnValues
{
    /// <summary>A boxed getter that hands out the raw ML.NET value (a fresh buffer per read, so values may be kept).</summary>
    public static Func<object?> GetRawGetter(this DataViewRow row, DataViewSchema.Column column) =>
        (Func<object?>)RawGetterMethod.MakeGenericMethod(column.Type.RawType).Invoke(null, [row, column])!;

    /// <summary>A boxed getter that hands out the plain CLR value (string, T[], uint, float, Volume…).</summary>
    public static Func<object?> GetClrGetter(this DataViewRow row, DataViewSchema.Column column)
    {
        var raw = row.GetRawGetter(column);
        return () => ToClr(raw());
    }

    /// <summary>The plain CLR value of one column of the current row.</summary>
    public static T GetClrValue<T>(this DataViewRow row, string columnName) => (T)ToClr(row.GetRawGetter(row.Schema[columnName])())!;

    /// <summary>Raw → plain: text to string, vectors to dense arrays; anything else unchanged.</summary>
    public static object? ToClr(object? raw) => raw switch
    {
        ReadOnlyMemory<char> text => text.ToString(),
        VBuffer<float> v => Dense(v),
        VBuffer<double> v => Dense(v),
        VBuffer<int> v => Dense(v),
        VBuffer<long> v => Dense(v),
        VBuffer<uint> v => Dense(v),
        VBuffer<ReadOnlyMemory<char>> v => Dense(v).Select(t => t.ToString()).ToArray(),
        _ => raw,
    };

    /// <summary>Plain → raw for a column of <paramref name="type"/>.</summary>
    public static object? ToRaw(object? value, DataViewType type) => value switch
    {
        string s when type.RawType == typeof(ReadOnlyMemory<char>) => s.AsMemory(),
        null when type.RawType == typeof(ReadOnlyMemory<char>) => ReadOnlyMemory<char>.Empty,
        float[] a when type is VectorDataViewType => new VBuffer<float>(a.Length, a),
        double[] a when type is VectorDataViewType => new VBuffer<double>(a.Length, a),
        int[] a when type is VectorDataViewType => new VBuffer<int>(a.Length, a),
        uint[] a when type is VectorDataViewType => new VBuffer<uint>(a.Length, a),
        _ => value,
    };

    /// <summary>
    /// Hands a stored raw value to a getter's caller. ML.NET's getters write vectors into the caller's buffer, which the caller
    /// then owns and may change (ML.NET's own normalisers do, in place); a stored vector is therefore copied, never shared.
    /// </summary>
    public static void Assign<TValue>(object? stored, ref TValue destination)
    {
        if (VectorCopier<TValue>.Copy is { } copy) copy(stored, ref destination);
        else destination = (TValue)stored!;
    }

    private delegate void Copier<TValue>(object? stored, ref TValue destination);

    private static class VectorCopier<TValue>
    {
        public static readonly Copier<TValue>? Copy = Make();

        private static Copier<TValue>? Make()
        {
            if (!typeof(TValue).IsGenericType || typeof(TValue).GetGenericTypeDefinition() != typeof(VBuffer<>)) return null;
            var method = typeof(ColumnValues).GetMethod(nameof(CopyVector), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(typeof(TValue).GetGenericArguments()[0]);
            return (Copier<TValue>)Delegate.CreateDelegate(typeof(Copier<TValue>), method);
        }
    }

    private static void CopyVector<T>(object? stored, ref VBuffer<T> destination) => ((VBuffer<T>)stored!).CopyTo(ref destination);

    /// <summary>The values of a vector as a new dense array.</summary>
    public static T[] Dense<T>(VBuffer<T> vector)
    {
        var dense = new T[vector.Length];
        vector.CopyTo(dense);
        return dense;
    }

    /// <summary>The values of one column, read lazily in plain CLR form.</summary>
    public static IEnumerable<T> ReadColumn<T>(this IDataView data, string columnName)
    {
        var column = data.Schema[columnName];
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetClrGetter(column);
        while (cursor.MoveNext()) yield return (T)getter()!;
    }

    private static readonly MethodInfo RawGetterMethod = typeof(ColumnValues).GetMethod(nameof(RawGetterOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static Func<object?> RawGetterOf<TValue>(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<TValue>(column);
        return () =>
        {
            TValue value = default!;
            getter(ref value);
            return value;
        };
    }
}
