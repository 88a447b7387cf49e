namespace MlNetMedical.Data;

/// <summary>Small reads of any ML.NET data view that messages and logs need.</summary>
public static class DataViewExtensions
{
    /// <summary>The number of rows, counting them when the view does not know.</summary>
    public static long CountRows(this IDataView data)
    {
        if (data.GetRowCount() is { } known) return known;
        using var cursor = data.GetRowCursor([]);
        long n = 0;
        while (cursor.MoveNext()) n++;
        return n;
    }

    /// <summary>"Name: Type, …" for error messages (visible columns only).</summary>
    public static string Describe(this DataViewSchema schema) =>
        schema.Count == 0 ? "(none)" : string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"{c.Name}: {c.Type}"));
}
