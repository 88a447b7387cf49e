using MlNetMedical.Data;

namespace MlNetMedical.Pipeline;

/// <summary>
/// Helpers over ML.NET's <see cref="SchemaShape"/> (its column constructor is internal, so new columns are made by
/// building a one-column schema and reading its shape back).
/// </summary>
public static class SchemaShapes
{
    /// <summary>Annotation kinds ML.NET's own components read (its <c>AnnotationUtils.Kinds</c> is internal).</summary>
    public static class AnnotationKinds
    {
        /// <summary>Names of a key column's values.</summary>
        public const string KeyValues = "KeyValues";
        /// <summary>Names of a vector column's slots.</summary>
        public const string SlotNames = "SlotNames";
    }

    /// <summary>The shape of a schema (ML.NET's <c>SchemaShape.Create</c>, which is internal): visible columns, with their annotations' shapes.</summary>
    public static SchemaShape Create(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return new SchemaShape(schema.Where(c => !c.IsHidden).Select(c => Shape(c.Name, c.Type, AnnotationShape(c.Annotations))));
    }

    /// <summary>The shape of a column of <paramref name="type"/> (with <paramref name="annotations"/>, e.g. key values).</summary>
    public static SchemaShape.Column ColumnOf(string name, DataViewType type, DataViewSchema.Annotations? annotations = null) =>
        Shape(name, type, annotations is null ? null : AnnotationShape(annotations));

    /// <summary>The shape of a key column (ML.NET's shapes keep no key count), with <paramref name="annotations"/>, e.g. key values.</summary>
    public static SchemaShape.Column KeyColumnOf(string name, DataViewSchema.Annotations? annotations = null) =>
        MlNetInternals.NewColumn(name, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, annotations is null ? null : AnnotationShape(annotations));

    private static SchemaShape AnnotationShape(DataViewSchema.Annotations annotations) =>
        new(annotations.Schema.Select(a => Shape(a.Name, a.Type, null)));

    private static SchemaShape.Column Shape(string name, DataViewType type, SchemaShape? annotations) => type switch
    {
        VectorDataViewType v => MlNetInternals.NewColumn(name, v.IsKnownSize ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector,
            ItemOf(v.ItemType), v.ItemType is KeyDataViewType, annotations),
        _ => MlNetInternals.NewColumn(name, SchemaShape.Column.VectorKind.Scalar, ItemOf(type), type is KeyDataViewType, annotations),
    };

    // A shape column of a key holds the key's raw number type with isKey set (ML.NET's SchemaShape.Create does the same; its
    // constructor refuses a key item type).
    private static DataViewType ItemOf(DataViewType type) => type is not KeyDataViewType key ? type : key.RawType switch
    {
        var t when t == typeof(byte) => NumberDataViewType.Byte,
        var t when t == typeof(ushort) => NumberDataViewType.UInt16,
        var t when t == typeof(ulong) => NumberDataViewType.UInt64,
        _ => NumberDataViewType.UInt32,
    };

    /// <summary><paramref name="shape"/> with <paramref name="added"/> columns; a column of the same name is replaced,
    /// as ML.NET estimators do.</summary>
    public static SchemaShape With(this SchemaShape shape, params SchemaShape.Column[] added)
    {
        var columns = shape.ToDictionary(c => c.Name);
        foreach (var c in added) columns[c.Name] = c;
        return new SchemaShape(columns.Values);
    }

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public static SchemaShape.Column? Find(this SchemaShape shape, string name)
    {
        foreach (var c in shape)
            if (c.Name == name) return c;
        return null;
    }

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
        return (new KeyDataViewType(typeof(uint), names.Count), NamesAnnotation(AnnotationKinds.KeyValues, names));
    }

    /// <summary>An annotation holding <paramref name="names"/> as a text vector (KeyValues of a key, SlotNames of a vector).</summary>
    public static DataViewSchema.Annotations NamesAnnotation(string kind, IReadOnlyList<string> names)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        var values = new VBuffer<ReadOnlyMemory<char>>(names.Count, names.Select(n => n.AsMemory()).ToArray());
        builder.Add(kind, new VectorDataViewType(TextDataViewType.Instance, names.Count), (ref VBuffer<ReadOnlyMemory<char>> v) => values.CopyTo(ref v));
        return builder.ToAnnotations();
    }

    /// <summary>The class names of a key column: its KeyValues annotation, else "1".."K".</summary>
    public static string[] ClassNames(this DataViewSchema.Column column)
    {
        var count = column.Type is KeyDataViewType key ? (int)key.Count
            : column.Type is VectorDataViewType { Size: > 0 } vector ? vector.Size
            : throw new ArgumentException($"column '{column.Name}' is {column.Type}, not a key or a known-size vector");
        var annotation = column.Type is KeyDataViewType ? AnnotationKinds.KeyValues : AnnotationKinds.SlotNames;
        if (column.Annotations.Schema.GetColumnOrNull(annotation) is { } a && a.Type is VectorDataViewType { ItemType: TextDataViewType })
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.Annotations.GetValue(annotation, ref names);
            if (names.Length == count) return ColumnValues.Dense(names).Select(n => n.ToString()).ToArray();
        }
        return Enumerable.Range(1, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }
}
