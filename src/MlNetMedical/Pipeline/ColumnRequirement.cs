using MlNetMedical.Data;

namespace MlNetMedical.Pipeline;

/// <summary>A column a stage reads: its name, what it must be (in words, for errors) and the check.</summary>
public sealed record ColumnRequirement(string Name, string Expected, Func<SchemaShape.Column, bool> Accepts)
{
    /// <summary>A key (categorical) column, e.g. a label.</summary>
    public static ColumnRequirement Key(string name) => new(name, "a key column (map text labels with ml.Transforms.Conversion.MapValueToKey)",
        c => c.IsKey && c.Kind == SchemaShape.Column.VectorKind.Scalar);

    /// <summary>A known-length vector of float (a feature vector).</summary>
    public static ColumnRequirement SingleVector(string name) =>
        new(name, "a known-length vector of Single", c => c.Kind == SchemaShape.Column.VectorKind.Vector && c.ItemType.Equals(NumberDataViewType.Single));

    /// <summary>A scalar column of exactly <paramref name="type"/>.</summary>
    public static ColumnRequirement Scalar(string name, DataViewType type) =>
        new(name, $"a scalar {type} column", c => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey && c.ItemType.Equals(type));

    /// <summary>A scalar column whose values can be grouped or compared: text, bool, number or key.</summary>
    public static ColumnRequirement Categorical(string name) =>
        new(name, "a scalar text, boolean, number or key column",
            c => c.Kind == SchemaShape.Column.VectorKind.Scalar && c.ItemType is TextDataViewType or BooleanDataViewType or NumberDataViewType or KeyDataViewType);

    /// <summary>A volume column of the given kind.</summary>
    public static ColumnRequirement Volume(string name, VolumeKind kind) =>
        new(name, $"a {kind.ToString().ToLowerInvariant()} volume column", c => c.ItemType is VolumeDataViewType v && v.Kind == kind);

    /// <summary>Throws <see cref="SchemaMismatchException"/> unless <paramref name="shape"/> satisfies this requirement.</summary>
    public void Check(SchemaShape shape, string stage)
    {
        var column = shape.Find(Name);
        if (column is null) throw new SchemaMismatchException(stage, Name, Expected, null, shape.Describe());
        if (!Accepts(column.Value)) throw new SchemaMismatchException(stage, Name, Expected, SchemaShapes.Describe(column.Value), shape.Describe());
    }

    /// <summary>Checks a schema (see <see cref="Check(SchemaShape, string)"/>).</summary>
    public void Check(DataViewSchema schema, string stage) => Check(SchemaShapes.Create(schema), stage);
}

/// <summary>A stage's input lacks a column it needs, or has it with the wrong type. An <see cref="ArgumentOutOfRangeException"/>,
/// as ML.NET's own schema errors are, so code that catches those catches these.</summary>
public sealed class SchemaMismatchException : ArgumentOutOfRangeException
{
    /// <summary>Creates the exception; <paramref name="actual"/> is null when the column is missing.</summary>
    public SchemaMismatchException(string stage, string columnName, string expected, string? actual, string available)
        : base("inputSchema", actual is null
            ? $"{stage} needs column '{columnName}' ({expected}), but the input has no such column. Input columns: {available}"
            : $"{stage} needs column '{columnName}' to be {expected}, but it is {actual}")
    {
        Stage = stage;
        ColumnName = columnName;
        Expected = expected;
        Actual = actual;
        AvailableColumns = available;
    }

    /// <inheritdoc/>
    public override string Message => base.Message.Replace(" (Parameter 'inputSchema')", "", StringComparison.Ordinal);

    /// <summary>The input columns the stage saw, for the message.</summary>
    public string AvailableColumns { get; }

    /// <summary>The stage that needs the column.</summary>
    public string Stage { get; }

    /// <summary>The column's name.</summary>
    public string ColumnName { get; }

    /// <summary>What the column must be.</summary>
    public string Expected { get; }

    /// <summary>What the column is; null when missing.</summary>
    public string? Actual { get; }
}
