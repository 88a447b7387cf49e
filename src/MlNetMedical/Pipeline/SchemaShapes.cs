using MlNetMedical.Data;

namespace MlNetMedical.Pipeline;

/// <summary>
/// Helpers over ML.NET's <see cref="SchemaShape"/> (its column constructor is internal, so new columns are made by
/// building a one-column schema and reading its shape back).
/// </summary>
public static class SchemaShapes
{
    /// <summary>The shape of a column of <paramref name="type"/> (with <paramref name="annotations"/>, e.g. key values).</summary>
    public static SchemaShape.Column ColumnOf(string name, DataViewType type, DataViewSchema.Annotations? annotations = null)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(name, type, annotations);
        return SchemaShape.Create(builder.ToSchema())[0];
    }

    /// <summary><paramref name="shape"/> with <paramref name="added"/> columns; a column of the same name is replaced,
    /// as ML.NET estimators do.</summary>
    public static SchemaShape With(this SchemaShape shape, params SchemaShape.Column[] added)
    {
        var columns = shape.ToDictionary(c => c.Name);
        foreach (var c in added) columns[c.Name] = c;
        return new SchemaShape(columns.Values);
    }

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public static SchemaShape.Column? Find(this SchemaShape shape, string name) => shape.TryFindColumn(name, out var column) ? column : null;

    /// <summary>"Name: Type, …" for error messages.</summary>
    public static string Describe(this SchemaShape shape) =>
        !shape.Any() ? "(none)" : string.Join(", ", shape.Select(c => $"{c.Name}: {Describe(c)}"));

    /// <summary>A column's kind in words.</summary>
    public static string Describe(SchemaShape.Column c) => c.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => c.IsKey ? "Key" : $"{c.ItemType}",
        SchemaShape.Column.VectorKind.Vector => $"Vector<{c.ItemType}>",
        _ => $"Vector<{c.ItemType}, variable length>",
    };

    /// <summary>A key type of <paramref name="names"/>.Count classes and the annotation that names them (ML.NET's
    /// KeyValues), as <c>MapValueToKey</c> makes.</summary>
    public static (KeyDataViewType Type, DataViewSchema.Annotations Annotations) ClassKey(IReadOnlyList<string> names)
    {
        if (names.Count == 0) throw new ArgumentException("a key type needs at least one class", nameof(names));
        var builder = new DataViewSchema.Annotations.Builder();
        var values = new VBuffer<ReadOnlyMemory<char>>(names.Count, names.Select(n => n.AsMemory()).ToArray());
        builder.AddKeyValues(names.Count, TextDataViewType.Instance, (ref VBuffer<ReadOnlyMemory<char>> v) => values.CopyTo(ref v));
        return (new KeyDataViewType(typeof(uint), names.Count), builder.ToAnnotations());
    }

    /// <summary>The class names of a key column: its KeyValues annotation, else "1".."K".</summary>
    public static string[] ClassNames(this DataViewSchema.Column column)
    {
        var count = column.Type is KeyDataViewType key ? (int)key.Count
            : column.Type is VectorDataViewType { Size: > 0 } vector ? vector.Size
            : throw new ArgumentException($"column '{column.Name}' is {column.Type}, not a key or a known-size vector");
        var annotation = column.Type is KeyDataViewType ? AnnotationUtils.Kinds.KeyValues : AnnotationUtils.Kinds.SlotNames;
        if (column.Annotations.Schema.GetColumnOrNull(annotation) is { } a && a.Type is VectorDataViewType { ItemType: TextDataViewType })
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.Annotations.GetValue(annotation, ref names);
            if (names.Length == count) return ColumnValues.Dense(names).Select(n => n.ToString()).ToArray();
        }
        return Enumerable.Range(1, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }
}
