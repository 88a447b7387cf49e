using System.Collections.Concurrent;
using MlNetMedical.Data;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Prediction;

/// <summary>
/// Predicts one row at a time (ML.NET's <c>PredictionEngine</c>): the input object's properties become columns (as
/// <c>LoadFromEnumerable</c>), the model's outputs are read back into a new <typeparamref name="TDst"/>. Not thread-safe;
/// use <see cref="PredictionEnginePool{TSrc, TDst}"/> from several threads.
/// </summary>
public sealed class PredictionEngine<TSrc, TDst> where TSrc : class where TDst : class, new()
{
    private readonly ITransformer _model;
    private readonly TSrc?[] _row = new TSrc?[1];
    private readonly IDataView _input;

    internal PredictionEngine(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _input = new EnumerableDataView<TSrc>(_row.Select(r => r!));
        OutputSchema = model.GetOutputSchema(_input.Schema);
    }

    /// <summary>The schema of the model's output for this input type.</summary>
    public DataViewSchema OutputSchema { get; }

    /// <summary>Runs the model on <paramref name="example"/>.</summary>
    public TDst Predict(TSrc example)
    {
        ArgumentNullException.ThrowIfNull(example);
        _row[0] = example;
        try
        {
            return RowObjects.Create<TDst>(_model.Transform(_input)).Single();
        }
        finally
        {
            _row[0] = null;
        }
    }
}

/// <summary>A thread-safe pool of <see cref="PredictionEngine{TSrc, TDst}"/>s over one model (engines are reused, created on demand).</summary>
public sealed class PredictionEnginePool<TSrc, TDst> where TSrc : class where TDst : class, new()
{
    private readonly ITransformer _model;
    private readonly ConcurrentBag<PredictionEngine<TSrc, TDst>> _idle = [];
    private readonly SemaphoreSlim? _limit;

    internal PredictionEnginePool(ITransformer model, int maxEngines)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(maxEngines);
        _model = model;
        _limit = maxEngines > 0 ? new SemaphoreSlim(maxEngines, maxEngines) : null;
        _idle.Add(new PredictionEngine<TSrc, TDst>(model)); // validates the schema now
    }

    /// <summary>Predicts with an engine of its own (safe from any thread).</summary>
    public TDst Predict(TSrc example)
    {
        _limit?.Wait();
        var engine = _idle.TryTake(out var e) ? e : new PredictionEngine<TSrc, TDst>(_model);
        try
        {
            return engine.Predict(example);
        }
        finally
        {
            _idle.Add(engine);
            _limit?.Release();
        }
    }
}
