namespace MlNetMedical.Imaging.Datasets;

/// <summary>
/// Seeded train/val/test splits and k-fold assignment that keep every group (patient) on one side and,
/// when class labels exist, keep class proportions close to the whole set's.
/// </summary>
public static class Splits
{
    /// <summary>
    /// Assigns "train"/"val"/"test" to items that have no split yet (existing splits are kept). Groups are
    /// assigned whole; strata are the majority class of each group.
    /// </summary>
    public static List<DatasetItem> Assign(IReadOnlyList<DatasetItem> items, double valFraction, double testFraction, int seed, bool stratify = true)
    {
        if (valFraction < 0 || testFraction < 0 || valFraction + testFraction >= 1)
            throw new ArgumentException($"val ({valFraction}) and test ({testFraction}) fractions must be >= 0 and sum below 1");
        var decided = items.Where(i => i.Split != null).Select(i => i.GroupKey).ToHashSet();
        var open = items.Where(i => i.Split == null && !decided.Contains(i.GroupKey)).ToList();
        var conflicts = items.Where(i => i.Split == null && decided.Contains(i.GroupKey)).Select(i => i.Id).ToList();
        if (conflicts.Count > 0)
            throw new ArgumentException($"cases {string.Join(", ", conflicts.Take(5))} have no split but share a group with cases that do; give the whole group one split");
        var assignment = new Dictionary<string, string>();
        foreach (var stratum in Strata(open, stratify))
        {
            var groups = Shuffle(stratum, seed);
            int n = groups.Count;
            int nTest = (int)Math.Round(n * testFraction), nVal = (int)Math.Round(n * valFraction);
            if (n >= 3 && testFraction > 0 && nTest == 0) nTest = 1;
            if (n >= 3 && valFraction > 0 && nVal == 0) nVal = 1;
            for (int i = 0; i < n; i++) assignment[groups[i]] = i < nTest ? "test" : i < nTest + nVal ? "val" : "train";
        }
        return items.Select(i => i.Split != null ? i : i with { Split = assignment[i.GroupKey] }).ToList();
    }

    /// <summary>Fold index 0..k-1 per item; whole groups per fold, strata dealt round-robin so folds stay balanced.</summary>
    public static Dictionary<string, int> Folds(IReadOnlyList<DatasetItem> items, int k, int seed, bool stratify = true)
    {
        if (k < 2) throw new ArgumentOutOfRangeException(nameof(k), k, "k-fold needs k >= 2");
        var groupFold = new Dictionary<string, int>();
        int next = 0;
        foreach (var stratum in Strata(items, stratify))
            foreach (var g in Shuffle(stratum, seed)) groupFold[g] = next++ % k;
        return items.ToDictionary(i => i.Id, i => groupFold[i.GroupKey]);
    }

    private static IEnumerable<List<string>> Strata(IReadOnlyList<DatasetItem> items, bool stratify)
    {
        var byGroup = items.GroupBy(i => i.GroupKey).ToList();
        string Majority(IGrouping<string, DatasetItem> g) => g.GroupBy(i => i.ClassLabel ?? "").OrderByDescending(x => x.Count()).ThenBy(x => x.Key, StringComparer.Ordinal).First().Key;
        return byGroup.GroupBy(g => stratify ? Majority(g) : "")
            .OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => s.Select(g => g.Key).OrderBy(k => k, StringComparer.Ordinal).ToList());
    }

    private static List<string> Shuffle(List<string> keys, int seed)
    {
        var rng = new Random(seed ^ keys.Count);
        var list = keys.ToList();
        for (int i = list.Count - 1; i > 0; i--) { int j = rng.Next(i + 1); (list[i], list[j]) = (list[j], list[i]); }
        return list;
    }
}
