using System.Globalization;

namespace MlNetMedical.AutoML.Analysis;

/// <summary>
/// How much of the spread of a study's objective each parameter explains: a main-effect variance share in the
/// spirit of fANOVA (Hutter et al. 2014), computed from an additive model fitted directly to the trials instead of
/// from a random forest, so it needs nothing but parameter values and objective values.
/// </summary>
/// <remarks>
/// For each parameter the trials are grouped into levels: a categorical or boolean value is its own level;
/// a numeric parameter with few distinct values uses each value, otherwise equal-count (quantile) bins, at
/// most <c>clamp(n / 5, 2, 10)</c> of them; a trial where the parameter is absent (an inactive conditional
/// parameter) forms the level "absent". An additive model y ≈ μ + Σ_j f_j(level_j) is fitted by backfitting
/// (each f_j is the per-level mean of what the other terms leave unexplained), so a strong parameter does not hide
/// a weaker one. Parameter j's score is the variance of f_j over the trials minus the part k_j levels would take
/// from pure noise ((k_j − 1)/n × residual variance), clamped at 0. Scores are divided by their sum, so they sum to
/// 1 (all 0 when nothing is explained, e.g. a constant objective or fewer than three trials). Interactions are not
/// attributed. The direction (minimize/maximize) does not matter: variance is symmetric.
/// </remarks>
public static class ParameterImportance
{
    /// <summary>The level name for trials where a parameter is absent.</summary>
    public const string AbsentLevel = "\u0000absent";

    /// <param name="parameters">Per trial: parameter name → value (numbers as any numeric type, choices as string or bool).</param>
    /// <param name="values">Per trial: the objective value; trials with a non-finite value are skipped.</param>
    /// <returns>Every parameter name that occurs, with its normalised importance, sorted descending.</returns>
    public static IReadOnlyList<KeyValuePair<string, double>> Compute(
        IReadOnlyList<IReadOnlyDictionary<string, object>> parameters, IReadOnlyList<double> values)
    {
        if (parameters.Count != values.Count)
            throw new ArgumentException($"{parameters.Count} parameter sets but {values.Count} values; give one value per trial", nameof(values));
        var names = parameters.SelectMany(p => p.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var used = Enumerable.Range(0, values.Count).Where(i => double.IsFinite(values[i])).ToList();
        var y = used.Select(i => values[i]).ToArray();
        var levels = names.Select(n => Levels(used.Select(i => parameters[i].GetValueOrDefault(n)).ToList())).ToList();
        var raw = y.Length < 3 ? new double[names.Count] : MainEffectVariances(levels, y);
        double sum = raw.Sum();
        return names.Select((n, j) => KeyValuePair.Create(n, sum > 0 ? raw[j] / sum : 0))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
    }

    /// <summary>Backfits the additive model and returns each term's chance-corrected variance.</summary>
    internal static double[] MainEffectVariances(IReadOnlyList<string[]> levels, IReadOnlyList<double> y, int sweeps = 50)
    {
        int n = y.Count, p = levels.Count;
        double mean = y.Average();
        var effect = new double[p][]; // per term, per trial: f_j(level of that trial)
        for (int j = 0; j < p; j++) effect[j] = new double[n];
        var residual = y.Select(v => v - mean).ToArray();
        var groups = levels.Select(l => Enumerable.Range(0, n).GroupBy(i => l[i]).Select(g => g.ToArray()).ToList()).ToList();
        for (int sweep = 0; sweep < sweeps; sweep++)
        {
            double change = 0;
            for (int j = 0; j < p; j++)
            {
                // Put term j back into the residual, refit it as per-level means (centred), take it out again.
                for (int i = 0; i < n; i++) residual[i] += effect[j][i];
                var fitted = new double[n];
                foreach (var g in groups[j]) { double m = g.Average(i => residual[i]); foreach (var i in g) fitted[i] = m; }
                double centre = fitted.Average();
                for (int i = 0; i < n; i++)
                {
                    double f = fitted[i] - centre;
                    change = Math.Max(change, Math.Abs(f - effect[j][i]));
                    effect[j][i] = f;
                    residual[i] -= f;
                }
            }
            if (change < 1e-12 * (1 + Math.Abs(mean))) break;
        }
        int parametersUsed = 1 + groups.Sum(g => g.Count - 1);
        double noise = n > parametersUsed ? residual.Sum(r => r * r) / (n - parametersUsed) : 0;
        return Enumerable.Range(0, p).Select(j =>
            Math.Max(0, effect[j].Sum(f => f * f) / n - (groups[j].Count - 1) * noise / n)).ToArray();
    }

    /// <summary>The level (group) name of each trial for one parameter.</summary>
    internal static string[] Levels(IReadOnlyList<object?> column)
    {
        var levels = new string[column.Count];
        var numeric = new List<(int Index, double Value)>();
        for (int i = 0; i < column.Count; i++)
        {
            switch (column[i])
            {
                case null: levels[i] = AbsentLevel; break;
                case double or float or int or long or short or byte or decimal:
                    numeric.Add((i, Convert.ToDouble(column[i], CultureInfo.InvariantCulture))); break;
                case bool b: levels[i] = b ? "true" : "false"; break;
                default: levels[i] = "=" + Convert.ToString(column[i], CultureInfo.InvariantCulture); break;
            }
        }
        if (numeric.Count == 0) return levels;
        int bins = Math.Clamp(numeric.Count / 5, 2, 10);
        var distinct = numeric.Select(p => p.Value).Distinct().Order().ToList();
        if (distinct.Count <= bins)
        {
            foreach (var (i, v) in numeric) levels[i] = "#" + distinct.IndexOf(v).ToString(CultureInfo.InvariantCulture);
            return levels;
        }
        // Equal-count bins by rank; tied values take the rank of their first occurrence, so they share a bin.
        var sorted = numeric.Select(p => p.Value).Order().ToList();
        foreach (var (i, v) in numeric)
        {
            int rank = sorted.BinarySearch(v);
            while (rank > 0 && sorted[rank - 1] == v) rank--;
            levels[i] = "#" + (rank * bins / sorted.Count).ToString(CultureInfo.InvariantCulture);
        }
        return levels;
    }
}
