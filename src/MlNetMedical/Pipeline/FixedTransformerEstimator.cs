namespace MlNetMedical.Pipeline;

/// <summary>
/// Base of estimators that learn nothing: the transformer is made up front from the settings, and fitting only checks the
/// input columns before handing it back (as ML.NET's trivial estimators do).
/// </summary>
public abstract class FixedTransformerEstimator<TTransformer>(TTransformer transformer, string stageName,
    IReadOnlyList<ColumnRequirement> requiredColumns, IReadOnlyList<DataViewSchema.DetachedColumn> outputColumns)
    : EstimatorBase<TTransformer> where TTransformer : ITransformer
{
    /// <inheritdoc/>
    public override string StageName => stageName;

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => requiredColumns;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) =>
        outputColumns.Select(c => SchemaShapes.ColumnOf(c.Name, c.Type, c.Annotations)).ToArray();

    /// <inheritdoc/>
    protected override TTransformer FitCore(IDataView input) => transformer;
}
