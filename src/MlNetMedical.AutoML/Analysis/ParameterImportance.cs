using System.Globalization;

namespace MlNetMedical.AutoML.Analysis;

/// <summary>
/// How much of the spread of a study's objective each parameter explains on its own: a main-effect variance
/// share in the spirit of fANOVA (Hutter et al. 2014), computed directly from the trials instead of from a
/// fitted random forest, so it needs nothing but parameter values and objective values.
/// </summary>
/// <remarks>
/// For each parameter the trials are grouped into levels: a categorical or boolean value is its own level;
/// a numeric parameter with few distinct values uses each value, otherwise equal-count (quantile) bins, at
/// most <c>clamp(n / 5, 2, 10)</c> of them; a trial where the parameter is absent (an inactive conditional
/// parameter) forms the level "absent". The parameter's score is the one-way ANOVA effect size
/// omega² = (SS_between − (k − 1)·MS_within) / (SS_total + MS_within), clamped at 0, which removes the share a
/// parameter with k random levels would "explain" by chance. Scores are then divided by their sum, so they sum
/// to 1 (all 0 when no parameter explains anything, e.g. a constant objective or fewer than three trials).
/// Interactions are not attributed; like any main-effect measure it can under-rate parameters whose effect
/// depends on others. The direction (minimize/maximize) does not matter: variance is symmetric.
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
        var scores = names.ToDictionary(n => n, n => y.Length < 3 ? 0 : OmegaSquared(Levels(used.Select(i => parameters[i].GetValueOrDefault(n)).ToList()), y));
        double sum = scores.Values.Sum();
        return scores.Select(kv => KeyValuePair.Create(kv.Key, sum > 0 ? kv.Value / sum : 0))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
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

    /// <summary>One-way ANOVA omega² of <paramref name="y"/> grouped by <paramref name="levels"/>, clamped at 0.</summary>
    internal static double OmegaSquared(IReadOnlyList<string> levels, IReadOnlyList<double> y)
    {
        int n = y.Count;
        double mean = y.Average(), ssTotal = y.Sum(v => (v - mean) * (v - mean));
        if (ssTotal <= 1e-300) return 0;
        var groups = Enumerable.Range(0, n).GroupBy(i => levels[i]).ToList();
        int k = groups.Count;
        if (k < 2) return 0;
        double ssBetween = groups.Sum(g => { double m = g.Average(i => y[i]); return g.Count() * (m - mean) * (m - mean); });
        double msWithin = n > k ? (ssTotal - ssBetween) / (n - k) : 0;
        return Math.Max(0, (ssBetween - (k - 1) * msWithin) / (ssTotal + msWithin));
    }
}
