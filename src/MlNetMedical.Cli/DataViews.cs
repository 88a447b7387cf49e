namespace MlNetMedical.Cli;

/// <summary>Small reads of ML.NET data views the commands need (the core's value helpers are internal to it).</summary>
internal static class DataViews
{
    /// <summary>A getter of column <paramref name="name"/>'s value as ML.NET stores it (<typeparamref name="T"/> = its raw type:
    /// <c>uint</c> for keys, <c>Volume</c>/<c>LabelMap</c> for volume columns).</summary>
    public static Func<T> Getter<T>(this DataViewRow row, string name)
    {
        var getter = row.GetGetter<T>(row.Schema[name]);
        return () =>
        {
            T value = default!;
            getter(ref value);
            return value;
        };
    }

    /// <summary>A getter of a vector column of Single as a dense array.</summary>
    public static Func<float[]> VectorGetter(this DataViewRow row, string name)
    {
        var getter = row.GetGetter<VBuffer<float>>(row.Schema[name]);
        return () =>
        {
            VBuffer<float> value = default;
            getter(ref value);
            return value.DenseValues().ToArray();
        };
    }

    /// <summary>A getter of a text column as a string.</summary>
    public static Func<string> TextGetter(this DataViewRow row, string name)
    {
        var getter = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[name]);
        return () =>
        {
            ReadOnlyMemory<char> value = default;
            getter(ref value);
            return value.ToString();
        };
    }
}
