using System.Runtime.CompilerServices;
using MlNetMedical.Data;
using MlNetMedical.Metrics;
using MlNetMedical.Models;
using MlNetMedical.Trainers;
using MlNetMedical.Training;

namespace MlNetMedical.Catalogs;

/// <summary>
/// Segmentation, which ML.NET has no catalog for (<c>ml.Segmentation</c>): trainers that write a <c>PredictedMask</c> volume column,
/// <see cref="Evaluate"/> and <see cref="CrossValidate"/>.
/// </summary>
public sealed class SegmentationCatalog
{
    private static readonly ConditionalWeakTable<MLContext, SegmentationCatalog> Catalogs = new();
    private readonly MLContext _ml;

    private SegmentationCatalog(MLContext ml)
    {
        _ml = ml;
        Trainers = new SegmentationTrainers(ml);
        CatalogContexts.Register(ml);
    }

    internal static SegmentationCatalog For(MLContext ml) =>
        Catalogs.GetValue(ml ?? throw new ArgumentNullException(nameof(ml)), m => new SegmentationCatalog(m));

    /// <summary>The segmentation trainers.</summary>
    public SegmentationTrainers Trainers { get; }

    /// <summary>
    /// Scores predicted masks against true masks, case by case, then averages (see <see cref="SegmentationMetrics"/>: Dice, IoU, HD95
    /// and mean surface distance (ASSD) in physical units). Both columns must be mask volumes (<see cref="LabelMap"/> or imaging-layer
    /// volumes).
    /// </summary>
    /// <param name="data">Rows with both masks (e.g. a fitted segmentation model's output).</param>
    /// <param name="labelColumnName">The true mask.</param>
    /// <param name="predictedMaskColumnName">The predicted mask.</param>
    /// <param name="classes">Label values to score; default every label 1..max found in either column.</param>
    /// <param name="classNames">Optional names aligned with <paramref name="classes"/>.</param>
    public SegmentationMetrics Evaluate(IDataView data, string labelColumnName = DefaultColumnNames.Mask,
        string predictedMaskColumnName = DefaultColumnNames.PredictedMask, IReadOnlyList<int>? classes = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new SegmentationEvaluator(data.Schema, labelColumnName, predictedMaskColumnName, classes).Run(data, classNames);
    }

    /// <summary>
    /// Cross-validates a segmentation estimator (as ML.NET's <c>CrossValidate</c>): splits with ML.NET's
    /// <c>ml.Data.CrossValidationSplit</c>, fits on each train part and scores the held-out fold with <see cref="Evaluate"/>.
    /// </summary>
    /// <param name="data">The rows.</param>
    /// <param name="estimator">What to fit on each train part.</param>
    /// <param name="numberOfFolds">Number of folds (≥ 2).</param>
    /// <param name="labelColumnName">The true mask.</param>
    /// <param name="predictedMaskColumnName">The mask the fitted model writes.</param>
    /// <param name="samplingKeyColumnName">Rows sharing a value stay in one fold; null = <c>GroupId</c> when the data has it (patients
    /// never straddle folds), else none.</param>
    /// <param name="seed">Split seed; null = the context's.</param>
    public IReadOnlyList<SegmentationCrossValidationResult> CrossValidate(IDataView data, IEstimator<ITransformer> estimator,
        int numberOfFolds = 5, string labelColumnName = DefaultColumnNames.Mask, string predictedMaskColumnName = DefaultColumnNames.PredictedMask,
        string? samplingKeyColumnName = null, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(estimator);
        samplingKeyColumnName ??= data.Schema.GetColumnOrNull(DefaultColumnNames.GroupId) is { IsHidden: false } ? DefaultColumnNames.GroupId : null;
        var folds = _ml.Data.CrossValidationSplit(data, numberOfFolds, samplingKeyColumnName, seed);
        var results = new List<SegmentationCrossValidationResult>();
        for (var f = 0; f < folds.Count; f++)
        {
            _ml.Medical().WriteLog(LogKind.Info, "Segmentation.CrossValidate", $"fold {f + 1} of {folds.Count}: fitting");
            var model = estimator.Fit(folds[f].TrainSet);
            var scored = model.Transform(folds[f].TestSet);
            results.Add(new SegmentationCrossValidationResult(Evaluate(scored, labelColumnName, predictedMaskColumnName), model, scored, f));
        }
        return results;
    }
}

/// <summary>One fold of <see cref="SegmentationCatalog.CrossValidate"/> (as ML.NET's <c>CrossValidationResult</c>).</summary>
/// <param name="Metrics">The held-out fold's metrics.</param>
/// <param name="Model">The model fitted without the fold.</param>
/// <param name="ScoredHoldOutSet">The fold's rows as the model scored them.</param>
/// <param name="Fold">The fold's index.</param>
public sealed record SegmentationCrossValidationResult(SegmentationMetrics Metrics, ITransformer Model, IDataView ScoredHoldOutSet, int Fold);

/// <summary>Segmentation trainers (<c>ml.Segmentation.Trainers</c>).</summary>
public sealed class SegmentationTrainers
{
    private readonly MLContext _ml;

    internal SegmentationTrainers(MLContext ml) => _ml = ml;

    /// <summary>
    /// Segmentation (pretraining): a U-Net trained with Dice + cross-entropy, validation Dice picking the best epoch (early stopping
    /// per <paramref name="training"/>). Writes <c>PredictedMask</c>. Seed, device, progress and log come from the context.
    /// </summary>
    /// <param name="network">The U-Net (default <see cref="UNetConfig"/>).</param>
    /// <param name="training">Loop settings; the validation split is patient-safe by default (<see cref="TrainingOptions.GroupColumnName"/>).</param>
    /// <param name="columns">Columns read: <c>Image</c> and <c>Mask</c> by default.</param>
    public UNetSegmentationTrainer UNet(UNetConfig? network = null, TrainingOptions? training = null, ImageColumns? columns = null)
    {
        var settings = _ml.Medical();
        return new UNetSegmentationTrainer(network ?? new UNetConfig(), columns ?? new ImageColumns(), TrainerSettings.Options(settings, training), settings.Seed)
            { Compute = settings.Compute, Log = settings.WriteLog };
    }
}
