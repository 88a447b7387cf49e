using MlNetMedical.Data;

namespace MlNetMedical.Pipeline;

/// <summary>
/// Base class of the framework's estimators: declare the input columns and the output shape, implement
/// <see cref="FitCore"/>. <see cref="Fit"/> checks the schema first, so a bad column fails before any training.
/// </summary>
public abstract class EstimatorBase<TTransformer> : IEstimator<TTransformer> where TTransformer : ITransformer
{
    /// <summary>The stage name used in errors (default: the type name).</summary>
    public virtual string StageName => GetType().Name;

    /// <summary>The input columns this estimator reads when fitting and its transformer reads when applied.</summary>
    protected abstract IReadOnlyList<ColumnRequirement> RequiredColumns { get; }

    /// <summary>The columns the fitted transformer adds, given a validated input shape.</summary>
    protected abstract IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema);

    /// <summary>Trains on validated input.</summary>
    protected abstract TTransformer FitCore(IDataView input);

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (var r in RequiredColumns) r.Check(inputSchema, StageName);
        return inputSchema.With([.. GetOutputColumns(inputSchema)]);
    }

    /// <inheritdoc/>
    public TTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(SchemaShapes.Create(input.Schema));
        return FitCore(input);
    }
}
