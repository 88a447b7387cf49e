using MlNetMedical.Metrics;
namespace MlNetMedical.Benchmarks.Replicate;

/// <summary>How a claim is decided from its paired differences (method − against, test accuracy, per training seed).</summary>
public enum ClaimRule
{
    /// <summary>Holds when the 95% interval of the mean difference lies above 0.</summary>
    Beats,
    /// <summary>Non-inferiority: holds when the interval's lower bound lies above −margin.</summary>
    AtLeast,
    /// <summary>"Best of several": every comparison must satisfy <see cref="Beats"/> (an intersection–union test, so no
    /// multiplicity correction is needed); the comparison with the lowest lower bound is the one reported.</summary>
    BeatsEach,
}

/// <summary>One paired comparison: <see cref="Method"/> against <see cref="Against"/> on <see cref="Task"/>.</summary>
public sealed record Comparison(string Task, string Method, string Against);

/// <summary>A claim of the papers, written as comparisons chosen before any result was seen.</summary>
/// <param name="Comparisons">For <see cref="ClaimRule.Beats"/>/<see cref="ClaimRule.AtLeast"/> with several comparisons, each
/// seed's difference is their mean (pooled); for <see cref="ClaimRule.BeatsEach"/> each is tested on its own.</param>
public sealed record ClaimSpec(string Name, string Paper, string Statement, ClaimRule Rule, IReadOnlyList<Comparison> Comparisons, double Margin = 0);

/// <summary>A claim's verdict. <see cref="Pairs"/> are the comparisons that had results (others are in <see cref="Missing"/>).</summary>
public sealed record ClaimResult(string Name, bool Holds, double MeanDiff, double[] Ci95, double[] Ci95Bootstrap, int Seeds, double Sd,
    IReadOnlyList<Comparison> Pairs, IReadOnlyList<Comparison> Missing, string Reported, string? Note);

public static class Claims
{
    /// <summary>The margin of "at least as good": 2 accuracy points.</summary>
    public const double NonInferiorityMargin = 0.02;

    /// <summary>The claims. seg-frozen is paper A's method (the segmentation network's frozen encoder features and a stock
    /// ML.NET classifier); scratch is the same encoder and head from random weights (paper B's "baseline").</summary>
    public static IReadOnlyList<ClaimSpec> All { get; } =
    [
        new("cardiac_seg_beats_scratch", "A", "segmentation-pretrained features beat the same classifier from scratch (2D cardiac)",
            ClaimRule.Beats, [new(Tasks.Cardiac, Methods.SegFrozen, Methods.Scratch)]),
        new("brain_seg_beats_scratch", "A", "segmentation-pretrained features beat the same classifier from scratch (3D brain)",
            ClaimRule.Beats, [new(Tasks.Brain, Methods.SegFrozen, Methods.Scratch)]),
        new("seg_at_least_imagenet", "A", "segmentation pretraining is at least as good as ImageNet pretraining (pooled over the 2D tasks, "
            + "frozen against frozen and, where the ImageNet fine-tuned arm exists, fine-tuned against fine-tuned), margin 0.02",
            ClaimRule.AtLeast,
            [
                new(Tasks.Cardiac, Methods.SegFrozen, Methods.ImagenetFeatures), new(Tasks.Liver, Methods.SegFrozen, Methods.ImagenetFeatures),
                new(Tasks.Cardiac, Methods.FineTuneHierarchicalUnfreezing, Methods.ImagenetFineTune),
                new(Tasks.Liver, Methods.FineTuneHierarchicalUnfreezing, Methods.ImagenetFineTune),
            ], NonInferiorityMargin),
        new("liver_joint_beats_ynet", "B", "simple joint segmentation + classification beats Y-Net (liver)",
            ClaimRule.Beats, [new(Tasks.Liver, Methods.JointSimple, Methods.JointYNet)]),
        new("liver_ynet_beats_baseline", "B", "Y-Net beats the baseline (liver)",
            ClaimRule.Beats, [new(Tasks.Liver, Methods.JointYNet, Methods.Scratch)]),
        new("hierarchical_unfreezing_best", "B", "hierarchical unfreezing beats each other fine-tuning strategy (liver)",
            ClaimRule.BeatsEach,
            [
                new(Tasks.Liver, Methods.FineTuneHierarchicalUnfreezing, Methods.Scratch),
                new(Tasks.Liver, Methods.FineTuneHierarchicalUnfreezing, Methods.FineTuneNoFreezing),
                new(Tasks.Liver, Methods.FineTuneHierarchicalUnfreezing, Methods.FineTuneHierarchicalFreezing),
                new(Tasks.Liver, Methods.FineTuneHierarchicalUnfreezing, Methods.FineTuneFrozenEncoder),
            ]),
    ];

    /// <summary>Decides every claim from <paramref name="accuracy"/>: (task, method) → accuracy per training seed.</summary>
    public static List<ClaimResult> Evaluate(IReadOnlyList<ClaimSpec> specs, IReadOnlyDictionary<(string Task, string Method), IReadOnlyDictionary<int, double>> accuracy) =>
        specs.Select(s => Evaluate(s, accuracy)).ToList();

    /// <summary>The exact bootstrap interval, or NaN bounds past the 12 values it can enumerate (it is shown, not decided on).</summary>
    private static MeanInterval Bootstrap(double[] d) => d.Length <= 12 ? PairedStatistics.ExactBootstrapInterval(d) : new(d.Average(), double.NaN, double.NaN, d.Length, double.NaN);

    public static ClaimResult Evaluate(ClaimSpec spec, IReadOnlyDictionary<(string Task, string Method), IReadOnlyDictionary<int, double>> accuracy)
    {
        bool Has(Comparison c) => accuracy.ContainsKey((c.Task, c.Method)) && accuracy.ContainsKey((c.Task, c.Against));
        var pairs = spec.Comparisons.Where(Has).ToList();
        var missing = spec.Comparisons.Where(c => !Has(c)).ToList();
        if (pairs.Count == 0)
            return new(spec.Name, false, double.NaN, [double.NaN, double.NaN], [double.NaN, double.NaN], 0, double.NaN, pairs, missing, "",
                "not run: none of its methods have results");
        // Seeds every comparison has, in order; a seed missing anywhere is left out of all of them (pairing).
        var seeds = pairs.SelectMany(c => new[] { accuracy[(c.Task, c.Method)].Keys, accuracy[(c.Task, c.Against)].Keys })
            .Aggregate((IEnumerable<int>?)null, (acc, keys) => acc is null ? keys : acc.Intersect(keys))!.Order().ToList();
        double[] Diffs(Comparison c) => seeds.Select(s => accuracy[(c.Task, c.Method)][s] - accuracy[(c.Task, c.Against)][s]).ToArray();

        if (spec.Rule == ClaimRule.BeatsEach)
        {
            var tested = pairs.Select(c => (Pair: c, T: PairedStatistics.TInterval(Diffs(c)), B: Bootstrap(Diffs(c)))).ToList();
            var weakest = tested.OrderBy(t => double.IsNaN(t.T.Lower) ? double.NegativeInfinity : t.T.Lower).First();
            bool all = missing.Count == 0 && tested.All(t => t.T.Lower > 0);
            return new(spec.Name, all, weakest.T.Mean, [weakest.T.Lower, weakest.T.Upper], [weakest.B.Lower, weakest.B.Upper], seeds.Count, weakest.T.Sd,
                pairs, missing, $"{weakest.Pair.Method} − {weakest.Pair.Against}",
                missing.Count > 0 ? "not every strategy ran, so it cannot hold" : seeds.Count < 2 ? "fewer than 2 paired seeds: no interval, so it cannot hold" : null);
        }
        var pooled = seeds.Select((_, i) => pairs.Average(c => Diffs(c)[i])).ToArray();
        var t = PairedStatistics.TInterval(pooled);
        var b = Bootstrap(pooled);
        double threshold = spec.Rule == ClaimRule.AtLeast ? -spec.Margin : 0;
        bool holds = t.Lower > threshold;
        string reported = pairs.Count == 1 ? $"{pairs[0].Method} − {pairs[0].Against}" : $"mean of {pairs.Count} comparisons";
        return new(spec.Name, holds, t.Mean, [t.Lower, t.Upper], [b.Lower, b.Upper], seeds.Count, t.Sd, pairs, missing, reported,
            seeds.Count < 2 ? "fewer than 2 paired seeds: no interval, so it cannot hold" : null);
    }
}
