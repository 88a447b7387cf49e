namespace MlNetMedical.AutoML;

/// <summary>
/// An estimator whose options are a point of <see cref="SearchSpace"/>, as ML.NET AutoML's <c>SweepableEstimator</c>: a factory
/// from a context and one configuration (this estimator's own parameters, without the pipeline's prefix) to an estimator.
/// Stock ML.NET estimators and the framework's estimators both fit; <see cref="Append(SweepableEstimator)"/> builds a
/// <see cref="SweepablePipeline"/>. Made by <c>ml.MedicalAuto().CreateSweepableEstimator(...)</c> or directly.
/// </summary>
public sealed class SweepableEstimator
{
    private readonly Func<MLContext, ParameterSet, TrialTraining?, IEstimator<ITransformer>> _factory;

    /// <param name="factory">Makes the estimator of one configuration (e.g. <c>(ml, p) => ml.MulticlassClassification.Trainers
    /// .LbfgsMaximumEntropy(l2Regularization: (float)p.GetDouble("l2"))</c>).</param>
    /// <param name="searchSpace">Its parameters; null or empty: nothing to tune (a fixed stage).</param>
    /// <param name="name">Its label when it is one of several alternatives of a stage (default: <c>c0</c>, <c>c1</c>, … by position).</param>
    public SweepableEstimator(Func<MLContext, ParameterSet, IEstimator<ITransformer>> factory, SearchSpace? searchSpace = null, string? name = null)
        : this(Wrap(factory), searchSpace, name) { }

    /// <summary>A factory that also takes the trial's <see cref="TrialTraining"/> (epoch callback for the pruner, cancellation, group
    /// column), for the framework's network trainers; <see cref="TrialTraining"/> is null when the estimator is built outside a trial.</summary>
    public SweepableEstimator(Func<MLContext, ParameterSet, TrialTraining?, IEstimator<ITransformer>> factory, SearchSpace? searchSpace = null, string? name = null)
    {
        _factory = factory ?? throw new ArgumentNullException(nameof(factory));
        SearchSpace = searchSpace ?? new SearchSpace();
        Name = name;
    }

    private static Func<MLContext, ParameterSet, TrialTraining?, IEstimator<ITransformer>> Wrap(Func<MLContext, ParameterSet, IEstimator<ITransformer>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return (ml, p, _) => factory(ml, p);
    }

    /// <summary>A fixed estimator (no parameters) as a stage.</summary>
    public static SweepableEstimator From(IEstimator<ITransformer> estimator, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        return new SweepableEstimator((_, _) => estimator, null, name);
    }

    /// <summary>A whole <see cref="ISweepablePipeline"/> (e.g. <see cref="TransferStrategy"/>) as one stage.</summary>
    public static SweepableEstimator From(ISweepablePipeline pipeline, string? name = null) => From(pipeline, name, null);

    internal static SweepableEstimator From(ISweepablePipeline pipeline, string? name, MLContext? context)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        return new SweepableEstimator((_, p, t) => pipeline.BuildEstimator(p, t ?? new TrialTraining(null, SweepMetrics.EpochMetricOf(SweepMetrics.Accuracy), default, null)),
                                      pipeline.SearchSpace, name) { Context = context };
    }

    public SearchSpace SearchSpace { get; }

    public string? Name { get; }

    /// <summary>The context given by <c>ml.MedicalAuto().CreateSweepableEstimator</c>; null when made directly (the experiment's is used).</summary>
    public MLContext? Context { get; internal init; }

    /// <summary>The estimator of one configuration (as ML.NET's <c>BuildFromOption</c>); <paramref name="parameters"/> are this estimator's own.</summary>
    public IEstimator<ITransformer> BuildFromOption(MLContext context, ParameterSet parameters, TrialTraining? training = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(parameters);
        return _factory(context, parameters, training) ?? throw new InvalidOperationException($"Sweepable estimator '{Name ?? "(unnamed)"}' built a null estimator.");
    }

    public SweepablePipeline Append(SweepableEstimator next) => new SweepablePipeline().Append(this).Append(next);

    /// <summary>Appends a stage that is a choice between <paramref name="alternatives"/> (e.g. several trainers).</summary>
    public SweepablePipeline Append(params SweepableEstimator[] alternatives) => new SweepablePipeline().Append(this).Append(alternatives);

    public SweepablePipeline Append(IEstimator<ITransformer> next) => new SweepablePipeline().Append(this).Append(next);

    /// <summary>This estimator alone as a pipeline.</summary>
    public SweepablePipeline BuildSweepablePipeline() => new SweepablePipeline().Append(this);
}

/// <summary>
/// Stages of sweepable estimators, each one estimator or a choice between several (ML.NET AutoML's <c>SweepablePipeline</c>). Stage
/// <c>i</c> is a choice <c>e{i}</c> whose labels are its alternatives' names (one label when it has one alternative), each with its
/// parameters under <c>e{i}.label.param</c> (<c>e1.lbfgs.l2</c>); a fixed stage (one estimator, no parameters) has no dimension.
/// Immutable: <see cref="Append(SweepableEstimator)"/> returns a new pipeline.
/// </summary>
public sealed class SweepablePipeline : ISweepablePipeline
{
    private readonly IReadOnlyList<IReadOnlyList<SweepableEstimator>> _stages;
    private SearchSpace? _space;

    public SweepablePipeline() : this([]) { }

    private SweepablePipeline(IReadOnlyList<IReadOnlyList<SweepableEstimator>> stages) { _stages = stages; }

    /// <summary>The stages, each a list of alternatives.</summary>
    public IReadOnlyList<IReadOnlyList<SweepableEstimator>> Stages => _stages;

    public SweepablePipeline Append(SweepableEstimator next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return Append([next]);
    }

    public SweepablePipeline Append(params SweepableEstimator[] alternatives)
    {
        ArgumentNullException.ThrowIfNull(alternatives);
        if (alternatives.Length == 0) throw new ArgumentException("A pipeline stage needs at least one sweepable estimator.", nameof(alternatives));
        if (alternatives.Any(a => a is null)) throw new ArgumentNullException(nameof(alternatives), "A pipeline stage's alternatives must not be null.");
        var labels = Labels(alternatives);
        var dup = labels.GroupBy(l => l).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Stage e{_stages.Count} has two alternatives named '{dup.Key}'; give them distinct names.", nameof(alternatives));
        return new SweepablePipeline([.. _stages, alternatives.ToArray()]);
    }

    public SweepablePipeline Append(IEstimator<ITransformer> next) => Append(SweepableEstimator.From(next));

    private static string[] Labels(IReadOnlyList<SweepableEstimator> alternatives) =>
        alternatives.Select((a, i) => a.Name ?? $"c{i}").ToArray();

    /// <summary>Stage keys e0, e1, … with each stage's parameters nested under its key.</summary>
    public SearchSpace SearchSpace => _space ??= BuildSpace();

    private SearchSpace BuildSpace()
    {
        if (_stages.Count == 0) throw new InvalidOperationException("The sweepable pipeline has no stages; Append a sweepable estimator.");
        var space = new SearchSpace();
        for (int i = 0; i < _stages.Count; i++)
            if (IsSwept(_stages[i]))
                space.Choice($"e{i}", Labels(_stages[i]).Zip(_stages[i], (l, a) => ((object)l, (SearchSpace?)a.SearchSpace)).ToArray());
        return space;
    }

    /// <summary>A fixed stage (one estimator, no parameters) has no dimension; any other is a choice, of one alternative or several.</summary>
    private static bool IsSwept(IReadOnlyList<SweepableEstimator> stage) => stage.Count > 1 || stage[0].SearchSpace.Count > 0;

    /// <summary>The context of the first stage made by <c>ml.MedicalAuto()</c>; null when none was.</summary>
    public MLContext? Context => _stages.SelectMany(s => s).Select(a => a.Context).FirstOrDefault(c => c is not null);

    /// <summary>The chained estimator of one configuration of the whole pipeline.</summary>
    public IEstimator<ITransformer> BuildEstimator(MLContext context, ParameterSet parameters, TrialTraining? training = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(parameters);
        if (_stages.Count == 0) throw new InvalidOperationException("The sweepable pipeline has no stages; Append a sweepable estimator.");
        IEstimator<ITransformer>? chain = null;
        for (int i = 0; i < _stages.Count; i++)
        {
            var stage = _stages[i];
            SweepableEstimator chosen;
            string prefix;
            if (!IsSwept(stage)) { chosen = stage[0]; prefix = $"e{i}."; }
            else
            {
                string label = parameters.GetString($"e{i}");
                int index = Array.IndexOf(Labels(stage), label);
                if (index < 0) throw new ArgumentException($"Stage e{i} has no alternative '{label}' (has: {string.Join(", ", Labels(stage))}).", nameof(parameters));
                chosen = stage[index];
                prefix = $"e{i}.{label}.";
            }
            var own = new ParameterSet(parameters.Values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                                                        .Select(kv => new KeyValuePair<string, object>(kv.Key[prefix.Length..], kv.Value)));
            var estimator = chosen.BuildFromOption(context, own, training);
            chain = chain is null ? estimator : chain.Append(estimator);
        }
        return chain!;
    }

    /// <summary>For <see cref="AutoMLExperiment.SetPipeline"/>: builds with the context of the stages made by <c>ml.MedicalAuto()</c>.</summary>
    IEstimator<ITransformer> ISweepablePipeline.BuildEstimator(ParameterSet parameters, TrialTraining training) =>
        BuildEstimator(Context ?? throw new InvalidOperationException(
            "This sweepable pipeline has no context: make its estimators with ml.MedicalAuto().CreateSweepableEstimator, or run it with ml.MedicalAuto().CreateExperiment()."),
            parameters, training);
}

/// <summary><c>estimator.Append(sweepable)</c>, as ML.NET AutoML's extension.</summary>
public static class SweepableEstimatorExtensions
{
    public static SweepablePipeline Append(this IEstimator<ITransformer> estimator, SweepableEstimator next) =>
        SweepableEstimator.From(estimator).Append(next);
}
