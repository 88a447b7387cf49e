using System.Collections;
using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Data;

/// <summary>The named, typed columns of a data view, in order. Names are unique and case-sensitive.</summary>
public sealed class DataViewSchema : IReadOnlyList<DataViewSchema.Column>
{
    private readonly Column[] _columns;
    private readonly Dictionary<string, Column> _byName;

    /// <summary>One column: its position, name and type.</summary>
    public sealed record Column(int Index, string Name, DataViewType Type)
    {
        /// <inheritdoc/>
        public override string ToString() => $"{Name}: {Type}";
    }

    /// <summary>A column not yet attached to a schema.</summary>
    public sealed record DetachedColumn(string Name, DataViewType Type);

    /// <summary>
    /// Builds a schema; a later column with an existing name replaces the earlier one in place.
    /// <paramref name="preprocessing"/> is the chain the view applies to its volumes as it reads them (see <see cref="Preprocessing"/>).
    /// </summary>
    public DataViewSchema(IEnumerable<DetachedColumn> columns, TransformChain? preprocessing = null)
    {
        Preprocessing = preprocessing;
        var list = new List<DetachedColumn>();
        foreach (var c in columns)
        {
            if (string.IsNullOrWhiteSpace(c.Name)) throw new ArgumentException("column names must not be empty", nameof(columns));
            ArgumentNullException.ThrowIfNull(c.Type);
            var at = list.FindIndex(x => x.Name == c.Name);
            if (at >= 0) list[at] = c; else list.Add(c);
        }
        _columns = list.Select((c, i) => new Column(i, c.Name, c.Type)).ToArray();
        _byName = _columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
    }

    /// <summary>
    /// The preprocessing chain the data view applies to its image and mask volumes when rows are read (the one given to
    /// <c>ml.Data.LoadFromManifest</c>/<c>LoadFromDecathlon</c>; null when none). <c>ml.Model.Save</c> records it with the input
    /// schema and <c>ml.Model.Load</c> returns it here, so new data can be loaded with the model's own preprocessing.
    /// </summary>
    public TransformChain? Preprocessing { get; }

    /// <summary>Number of columns.</summary>
    public int Count => _columns.Length;

    /// <summary>The column at <paramref name="index"/>.</summary>
    public Column this[int index] => _columns[index];

    /// <summary>The column named <paramref name="name"/>; throws naming the missing column and the available ones.</summary>
    public Column this[string name] => GetColumnOrNull(name)
        ?? throw new ArgumentOutOfRangeException(nameof(name), $"there is no column '{name}'; columns: {Describe()}");

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public Column? GetColumnOrNull(string name) => _byName.GetValueOrDefault(name);

    /// <summary>"Name: Type, …" for messages.</summary>
    public string Describe() => _columns.Length == 0 ? "(none)" : string.Join(", ", _columns.Select(c => c.ToString()));

    /// <summary>This schema's columns as detached ones, to extend or replace.</summary>
    public IEnumerable<DetachedColumn> Detach() => _columns.Select(c => new DetachedColumn(c.Name, c.Type));

    /// <inheritdoc/>
    public IEnumerator<Column> GetEnumerator() => ((IEnumerable<Column>)_columns).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() => Describe();
}
