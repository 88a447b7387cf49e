using System.Collections;
using MlNetMedical.Data;

namespace MlNetMedical.Pipeline;

/// <summary>
/// What estimators know about a schema before data flows: column names, vector-ness, item type and key-ness,
/// as in ML.NET. Key names and vector sizes may not be known until fitting.
/// </summary>
public sealed class SchemaShape : IReadOnlyList<SchemaShape.Column>
{
    /// <summary>How many values a column holds per row.</summary>
    public enum VectorKind
    {
        /// <summary>One value.</summary>
        Scalar,
        /// <summary>A vector of known length.</summary>
        Vector,
        /// <summary>A vector whose length is not known (or varies).</summary>
        VariableVector,
    }

    /// <summary>One column's shape. <see cref="ItemType"/> is the scalar type or the item type of a vector; for a key
    /// column it is <see cref="NumberDataViewType.UInt32"/> (the key's storage type, as in ML.NET), since the categories
    /// may not be known before fitting.</summary>
    public sealed record Column(string Name, VectorKind Kind, DataViewType ItemType, bool IsKey)
    {
        /// <summary>The shape of a schema column.</summary>
        public static Column From(string name, DataViewType type) => type switch
        {
            VectorDataViewType v => new(name, v.IsKnownSize ? VectorKind.Vector : VectorKind.VariableVector, v.ItemType, false),
            KeyDataViewType => new(name, VectorKind.Scalar, NumberDataViewType.UInt32, true),
            _ => new(name, VectorKind.Scalar, type, false),
        };

        /// <inheritdoc/>
        public override string ToString() => Kind switch
        {
            VectorKind.Scalar => IsKey ? "Key" : $"{ItemType}",
            VectorKind.Vector => $"Vector<{ItemType}>",
            _ => $"Vector<{ItemType}, variable length>",
        };
    }

    private readonly Column[] _columns;

    /// <summary>A shape from columns; a later column with an existing name replaces the earlier one.</summary>
    public SchemaShape(IEnumerable<Column> columns)
    {
        var list = new List<Column>();
        foreach (var c in columns)
        {
            var at = list.FindIndex(x => x.Name == c.Name);
            if (at >= 0) list[at] = c; else list.Add(c);
        }
        _columns = list.ToArray();
    }

    /// <summary>The shape of a concrete schema.</summary>
    public static SchemaShape Create(DataViewSchema schema) => new(schema.Select(c => Column.From(c.Name, c.Type)));

    /// <summary>Number of columns.</summary>
    public int Count => _columns.Length;

    /// <summary>The column at <paramref name="index"/>.</summary>
    public Column this[int index] => _columns[index];

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public Column? Find(string name) => Array.Find(_columns, c => c.Name == name);

    /// <summary>This shape plus <paramref name="added"/> (replacing same-named columns).</summary>
    public SchemaShape With(params Column[] added) => new(_columns.Concat(added));

    /// <summary>"Name: Shape, …" for messages.</summary>
    public string Describe() => _columns.Length == 0 ? "(none)" : string.Join(", ", _columns.Select(c => $"{c.Name}: {c}"));

    /// <inheritdoc/>
    public IEnumerator<Column> GetEnumerator() => ((IEnumerable<Column>)_columns).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
