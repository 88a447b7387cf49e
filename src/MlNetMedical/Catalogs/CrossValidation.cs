using MlNetMedical.Data;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Catalogs;

/// <summary>One fold of a cross-validation: its metrics, the model trained without it, and its scored rows (as ML.NET's <c>CrossValidationResult</c>).</summary>
public sealed record CrossValidationResult<TMetrics>(TMetrics Metrics, ITransformer Model, IDataView ScoredHoldOutSet, int Fold);

internal static class CrossValidation
{
    /// <summary>Fits on each fold's train set and evaluates on its test set.</summary>
    public static IReadOnlyList<CrossValidationResult<TMetrics>> Run<TMetrics>(MedicalContext context, IReadOnlyList<TrainTestData> folds,
        IEstimator<ITransformer> estimator, Func<IDataView, TMetrics> evaluate)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        var results = new List<CrossValidationResult<TMetrics>>();
        for (var f = 0; f < folds.Count; f++)
        {
            context.WriteLog(LogKind.Info, "CrossValidate", $"fold {f + 1} of {folds.Count}: fitting");
            var model = estimator.Fit(folds[f].TrainSet);
            var scored = model.Transform(folds[f].TestSet);
            results.Add(new CrossValidationResult<TMetrics>(evaluate(scored), model, scored, f));
        }
        return results;
    }
}
