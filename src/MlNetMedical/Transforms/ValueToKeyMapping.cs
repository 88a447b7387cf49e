using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;

namespace MlNetMedical.Transforms;

/// <summary>How <see cref="ValueToKeyMappingEstimator"/> numbers the categories.</summary>
public enum KeyOrdinality
{
    /// <summary>In order of first appearance in the training data (ML.NET's default).</summary>
    ByOccurrence,
    /// <summary>In ordinal string order.</summary>
    ByValue,
}

/// <summary>
/// Learns the distinct values of a text column and maps them to a key column whose names are those values
/// (ML.NET's <c>MapValueToKey</c>). A value unseen in training maps to key 0 (missing), as in ML.NET.
/// </summary>
public sealed class ValueToKeyMappingEstimator(string outputColumnName, string inputColumnName, KeyOrdinality keyOrdinality)
    : EstimatorBase<ValueToKeyMappingTransformer>
{
    /// <inheritdoc/>
    public override string StageName => $"MapValueToKey('{outputColumnName}')";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Scalar(inputColumnName, TextDataViewType.Instance)];

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) =>
        [new SchemaShape.Column(outputColumnName, SchemaShape.VectorKind.Scalar, NumberDataViewType.UInt32, IsKey: true)];

    /// <inheritdoc/>
    protected override ValueToKeyMappingTransformer FitCore(IDataView input)
    {
        var seen = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        long row = 0;
        foreach (var value in input.GetColumn<string>(inputColumnName))
        {
            if (value is null) throw new InvalidOperationException($"{StageName}: column '{inputColumnName}' is null at row {row}");
            if (known.Add(value)) seen.Add(value);
            row++;
        }
        if (seen.Count == 0) throw new InvalidOperationException($"{StageName}: column '{inputColumnName}' has no values to learn keys from");
        if (keyOrdinality == KeyOrdinality.ByValue) seen.Sort(StringComparer.Ordinal);
        return new ValueToKeyMappingTransformer(outputColumnName, inputColumnName, seen);
    }
}

/// <summary>Maps a text column to a key column with fixed names (see <see cref="ValueToKeyMappingEstimator"/>).</summary>
public sealed class ValueToKeyMappingTransformer : RowMappingTransformer
{
    private readonly Dictionary<string, uint> _keys;

    internal ValueToKeyMappingTransformer(string outputColumnName, string inputColumnName, IReadOnlyList<string> keyNames)
    {
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        KeyType = new KeyDataViewType(keyNames);
        _keys = keyNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => (uint)(p.i + 1), StringComparer.Ordinal);
    }

    /// <summary>The key column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>The text column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The key type (its names are the learned values).</summary>
    public KeyDataViewType KeyType { get; }

    /// <inheritdoc/>
    public override string StageName => $"MapValueToKey('{OutputColumnName}')";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Scalar(InputColumnName, TextDataViewType.Instance)];

    /// <inheritdoc/>
    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => [new(OutputColumnName, KeyType)];

    /// <inheritdoc/>
    protected override void MapRow(DataViewRow input, object?[] outputs) =>
        outputs[0] = input.GetValue<string>(InputColumnName) is { } v && _keys.TryGetValue(v, out var key) ? key : 0u;

    /// <inheritdoc/>
    public override void Save(ModelSaveContext context) => context.WriteConfig(new Config(OutputColumnName, InputColumnName, KeyType.KeyNames));

    internal static ValueToKeyMappingTransformer Load(ModelLoadContext context)
    {
        var c = context.ReadConfig<Config>();
        return new ValueToKeyMappingTransformer(c.OutputColumnName, c.InputColumnName, c.KeyNames);
    }

    private sealed record Config(string OutputColumnName, string InputColumnName, IReadOnlyList<string> KeyNames);
}
