using MlNetMedical.AutoML;

namespace MlNetMedical;

/// <summary><c>ml.MedicalAuto()</c>: the sweep engine in ML.NET AutoML's shape (named so as not to clash with Microsoft.ML.AutoML's <c>ml.Auto()</c>).</summary>
public static class MedicalAutoExtensions
{
    public static MedicalAutoCatalog MedicalAuto(this MLContext ml) => new(ml ?? throw new ArgumentNullException(nameof(ml)));
}

/// <summary>As ML.NET AutoML's <c>AutoCatalog</c>: experiments and sweepable estimators on one context.</summary>
public sealed class MedicalAutoCatalog
{
    private readonly MLContext _ml;

    internal MedicalAutoCatalog(MLContext ml) { _ml = ml; }

    /// <summary>An experiment on this context (as <c>ml.Auto().CreateExperiment()</c>).</summary>
    public MedicalAutoMLExperiment CreateExperiment() => new(_ml);

    /// <summary>A sweepable estimator over <paramref name="searchSpace"/> (as <c>ml.Auto().CreateSweepableEstimator</c>).</summary>
    public SweepableEstimator CreateSweepableEstimator(Func<MLContext, ParameterSet, IEstimator<ITransformer>> factory, SearchSpace? searchSpace = null, string? name = null) =>
        new(factory, searchSpace, name) { Context = _ml };

    /// <summary>A sweepable estimator whose factory also takes the trial's <see cref="TrialTraining"/> (the framework's network trainers:
    /// pass its <c>EpochCallback</c>, <c>CancellationToken</c> and group column to <c>TrainingOptions</c> so the pruner sees each epoch).</summary>
    public SweepableEstimator CreateSweepableEstimator(Func<MLContext, ParameterSet, TrialTraining?, IEstimator<ITransformer>> factory, SearchSpace? searchSpace = null, string? name = null) =>
        new(factory, searchSpace, name) { Context = _ml };

    /// <summary>A whole sweepable pipeline (e.g. <see cref="TransferStrategy"/>) as one stage.</summary>
    public SweepableEstimator CreateSweepableEstimator(ISweepablePipeline pipeline, string? name = null) =>
        SweepableEstimator.From(pipeline, name, _ml);

    /// <summary>The transfer-strategy sweep (every branch, the papers' ranges) from a pretrained segmentation model.</summary>
    public TransferStrategy TransferStrategy(ITransformer? pretrained, DataViewSchema trainSchema, TransferStrategyOptions? options = null) =>
        new(_ml, pretrained, trainSchema, options);
}
