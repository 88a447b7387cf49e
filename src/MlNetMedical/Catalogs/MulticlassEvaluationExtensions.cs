using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;

namespace MlNetMedical;

/// <summary>What the framework adds to ML.NET's multiclass evaluation (<c>ml.MulticlassClassification.Evaluate</c> gives the rest).</summary>
public static class MulticlassEvaluationExtensions
{
    /// <summary>
    /// One-vs-rest ROC curves and AUCs per class, which ML.NET's multiclass evaluation lacks: for class k, rows of class k are the
    /// positives and their score is the k-th probability of <paramref name="scoreColumnName"/>. Rows with a missing label are skipped.
    /// </summary>
    /// <param name="catalog">ML.NET's multiclass catalog.</param>
    /// <param name="data">Scored rows.</param>
    /// <param name="labelColumnName">The label: a key column of K classes.</param>
    /// <param name="scoreColumnName">The scores: a vector of K Single.</param>
    public static MulticlassRocCurves EvaluateRoc(this MulticlassClassificationCatalog catalog, IDataView data,
        string labelColumnName = DefaultColumnNames.Label, string scoreColumnName = DefaultColumnNames.Score)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        const string stage = "MulticlassClassification.EvaluateRoc";
        ColumnRequirement.Key(labelColumnName).Check(data.Schema, stage);
        ColumnRequirement.SingleVector(scoreColumnName).Check(data.Schema, stage);
        var names = data.Schema[labelColumnName].ClassNames();
        var labels = new List<int>();
        var scores = new List<float[]>();
        using (var cursor = data.GetRowCursor([data.Schema[labelColumnName], data.Schema[scoreColumnName]]))
        {
            var label = cursor.GetClrGetter(data.Schema[labelColumnName]);
            var score = cursor.GetClrGetter(data.Schema[scoreColumnName]);
            while (cursor.MoveNext())
            {
                var key = (uint)label()!;
                if (key == 0) continue;
                var p = (float[])score()!;
                if (p.Length != names.Length)
                    throw new InvalidOperationException($"{stage}: score column '{scoreColumnName}' has {p.Length} values at row {cursor.Position}, label '{labelColumnName}' has {names.Length} classes");
                labels.Add((int)key - 1);
                scores.Add(p);
            }
        }
        var curves = Enumerable.Range(0, names.Length).Select(k => RocCurve.Compute(k,
            scores.Select(p => (double)p[k]).ToArray(), labels.Select(l => l == k).ToArray())).ToArray();
        return new MulticlassRocCurves(curves, names);
    }
}
