using MlNetMedical.Data;
using MlNetMedical.Serialization;

namespace MlNetMedical.Pipeline;

/// <summary>
/// Estimators run in order, as ML.NET's <c>EstimatorChain</c>. <see cref="GetOutputSchema"/> walks the whole chain,
/// so a column that a later stage needs but no earlier stage provides is reported before anything is trained,
/// naming the column and the stage (with its position).
/// </summary>
public sealed class EstimatorChain<TLastTransformer> : IEstimator<TransformerChain<TLastTransformer>>
    where TLastTransformer : class, ITransformer
{
    private readonly IEstimator<ITransformer>[] _estimators;
    private readonly bool[] _cacheAfter;

    internal EstimatorChain(IEstimator<ITransformer>[] estimators, bool[]? cacheAfter = null)
    {
        _estimators = estimators;
        _cacheAfter = cacheAfter ?? new bool[estimators.Length];
    }

    /// <summary>An empty chain to <see cref="Append{TNew}"/> to.</summary>
    public static EstimatorChain<ITransformer> Empty { get; } = new([]);

    /// <summary>The stages.</summary>
    public IReadOnlyList<IEstimator<ITransformer>> Estimators => _estimators;

    /// <summary>A new chain with <paramref name="estimator"/> at the end.</summary>
    public EstimatorChain<TNew> Append<TNew>(IEstimator<TNew> estimator) where TNew : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(estimator);
        return new EstimatorChain<TNew>([.. _estimators, (IEstimator<ITransformer>)estimator], [.. _cacheAfter, false]);
    }

    /// <summary>
    /// A new chain that, while fitting, keeps the output of the stages so far in memory, so the later stages'
    /// passes over the data do not recompute them (ML.NET's <c>AppendCacheCheckpoint</c>). Fitting only: the
    /// fitted model does not cache.
    /// </summary>
    public EstimatorChain<TLastTransformer> AppendCacheCheckpoint()
    {
        if (_estimators.Length == 0) throw new InvalidOperationException("a cache checkpoint needs at least one stage before it");
        var cacheAfter = (bool[])_cacheAfter.Clone();
        cacheAfter[^1] = true;
        return new EstimatorChain<TLastTransformer>(_estimators, cacheAfter);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var shape = inputSchema;
        for (var i = 0; i < _estimators.Length; i++)
            shape = Stage(i, () => _estimators[i].GetOutputSchema(shape));
        return shape;
    }

    /// <summary>Validates the whole chain against <paramref name="input"/>'s schema, then fits each stage on the
    /// output of the previous ones.</summary>
    public TransformerChain<TLastTransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(SchemaShape.Create(input.Schema));
        var fitted = new ITransformer[_estimators.Length];
        var data = input;
        for (var i = 0; i < _estimators.Length; i++)
        {
            var current = data;
            fitted[i] = Stage(i, () => _estimators[i].Fit(current));
            if (i + 1 < _estimators.Length)
            {
                data = fitted[i].Transform(data);
                if (_cacheAfter[i]) data = new CachedDataView(data);
            }
        }
        return new TransformerChain<TLastTransformer>(fitted);
    }

    private TResult Stage<TResult>(int index, Func<TResult> action)
    {
        try
        {
            return action();
        }
        catch (SchemaMismatchException e) when (!e.Stage.StartsWith("pipeline stage", StringComparison.Ordinal))
        {
            throw new SchemaMismatchException($"pipeline stage {index + 1} of {_estimators.Length} ({e.Stage})",
                e.ColumnName, e.Expected, e.Actual, e.AvailableColumns);
        }
    }
}

/// <summary>Fitted transformers applied in order, as ML.NET's <c>TransformerChain</c>. Saveable when every stage is.</summary>
public sealed class TransformerChain<TLastTransformer> : ITransformer where TLastTransformer : class, ITransformer
{
    private readonly ITransformer[] _transformers;

    internal TransformerChain(ITransformer[] transformers) => _transformers = transformers;

    /// <summary>The stages.</summary>
    public IReadOnlyList<ITransformer> Transformers => _transformers;

    /// <summary>The last stage (e.g. the trained model), or null for an empty chain.</summary>
    public TLastTransformer? LastTransformer => _transformers.Length == 0 ? null : (TLastTransformer)_transformers[^1];

    /// <summary>A new chain with <paramref name="transformer"/> at the end.</summary>
    public TransformerChain<TNew> Append<TNew>(TNew transformer) where TNew : class, ITransformer =>
        new([.. _transformers, transformer ?? throw new ArgumentNullException(nameof(transformer))]);

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        var schema = inputSchema;
        foreach (var t in _transformers) schema = t.GetOutputSchema(schema);
        return schema;
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        var data = input;
        foreach (var t in _transformers) data = t.Transform(data);
        return data;
    }

    /// <inheritdoc/>
    public void Save(ModelSaveContext context)
    {
        context.WriteConfig(new ChainConfig(_transformers.Length));
        for (var i = 0; i < _transformers.Length; i++) context.SaveChild(i.ToString(System.Globalization.CultureInfo.InvariantCulture), _transformers[i]);
    }

    internal static TransformerChain<ITransformer> Load(ModelLoadContext context)
    {
        var config = context.ReadConfig<ChainConfig>();
        if (config.Count < 0) throw new InvalidDataException($"{context.Where}: negative stage count");
        // One child at a time: the count comes from the file, so it must not size an array before the children are found.
        var stages = new List<ITransformer>();
        for (var i = 0; i < config.Count; i++) stages.Add(context.LoadChild(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return new TransformerChain<ITransformer>(stages.ToArray());
    }

    private sealed record ChainConfig(int Count);
}

/// <summary><c>Append</c> for single estimators and transformers, as in ML.NET.</summary>
public static class PipelineExtensions
{
    /// <summary>Chains <paramref name="next"/> after <paramref name="start"/>.</summary>
    public static EstimatorChain<TNew> Append<TNew>(this IEstimator<ITransformer> start, IEstimator<TNew> next) where TNew : class, ITransformer =>
        start is EstimatorChain<ITransformer> chain ? chain.Append(next) : EstimatorChain<ITransformer>.Empty.Append(start).Append(next);

    /// <summary>Chains <paramref name="next"/> after <paramref name="start"/>.</summary>
    public static TransformerChain<TNew> Append<TNew>(this ITransformer start, TNew next) where TNew : class, ITransformer =>
        new TransformerChain<ITransformer>([start]).Append(next);
}
