using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;

namespace MlNetMedical.Transforms;

/// <summary>
/// Joins float scalars and known-length float vectors into one vector column, in the order given (ML.NET's
/// <c>Concatenate</c>): e.g. encoder features from two levels plus patient age into <c>Features</c>.
/// Needs no training, so it is both the estimator and the transformer.
/// </summary>
public sealed class ColumnConcatenatingTransformer : RowMappingTransformer, IEstimator<ColumnConcatenatingTransformer>
{
    internal ColumnConcatenatingTransformer(string outputColumnName, IReadOnlyList<string> inputColumnNames)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        if (inputColumnNames is null || inputColumnNames.Count == 0)
            throw new ArgumentException("Concatenate needs at least one input column", nameof(inputColumnNames));
        OutputColumnName = outputColumnName;
        InputColumnNames = inputColumnNames.ToArray();
    }

    /// <summary>The vector column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>The columns joined, in order.</summary>
    public IReadOnlyList<string> InputColumnNames { get; }

    /// <inheritdoc/>
    public override string StageName => $"Concatenate('{OutputColumnName}')";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns =>
        InputColumnNames.Select(n => new ColumnRequirement(n, "a Single scalar or a known-length vector of Single",
            c => c.ItemType.Equals(NumberDataViewType.Single) && !c.IsKey && c.Kind != SchemaShape.VectorKind.VariableVector)).ToArray();

    /// <inheritdoc/>
    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) =>
        [new(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single,
            InputColumnNames.Sum(n => inputSchema[n].Type is VectorDataViewType v ? v.Size : 1)))];

    /// <inheritdoc/>
    protected override void MapRow(DataViewRow input, object?[] outputs)
    {
        var values = new List<float>();
        foreach (var name in InputColumnNames)
        {
            if (input.Schema[name].Type is VectorDataViewType) values.AddRange(input.GetValue<float[]>(name));
            else values.Add(input.GetValue<float>(name));
        }
        outputs[0] = values.ToArray();
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var r in RequiredColumns) r.Check(inputSchema, StageName);
        return inputSchema.With(new SchemaShape.Column(OutputColumnName, SchemaShape.VectorKind.Vector, NumberDataViewType.Single, false));
    }

    /// <inheritdoc/>
    public ColumnConcatenatingTransformer Fit(IDataView input)
    {
        GetOutputSchema(input.Schema);
        return this;
    }

    /// <inheritdoc/>
    public override void Save(ModelSaveContext context) => context.WriteConfig(new Config(OutputColumnName, InputColumnNames));

    internal static ColumnConcatenatingTransformer Load(ModelLoadContext context)
    {
        var c = context.ReadConfig<Config>();
        return new ColumnConcatenatingTransformer(c.OutputColumnName, c.InputColumnNames);
    }

    private sealed record Config(string OutputColumnName, IReadOnlyList<string> InputColumnNames);
}
