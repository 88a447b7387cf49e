using MlNetMedical.AutoML;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>A study held in a list, for driving pruners by hand.</summary>
internal sealed class ListStudy(string name, Direction direction) : IStudyView
{
    public List<TrialRecord> Trials { get; } = new();
    public string StudyName => name;
    public Direction Direction => direction;
    public IReadOnlyList<TrialRecord> GetTrials() => Trials.ToList();

    public void SetTrialSystemAttribute(TrialRecord trial, string key, string value)
    {
        int i = Trials.FindIndex(t => t.Number == trial.Number);
        var attrs = new Dictionary<string, string>(Trials[i].SystemAttributes) { [key] = value };
        Trials[i] = Trials[i] with { SystemAttributes = attrs };
    }

    public TrialRecord Add(TrialState state, params double[] curve)
    {
        int n = Trials.Count;
        var t = new TrialRecord { Id = n, Number = n, State = state, IntermediateValues = curve.Select((v, i) => (v, i)).ToDictionary(x => x.i, x => x.v),
                                  Value = state == TrialState.Complete ? curve[^1] : null };
        Trials.Add(t);
        return t;
    }

    /// <summary>Reports the curve step by step as a running trial would; returns the step it was pruned at, or null.</summary>
    public int? Run(IPruner pruner, params double[] curve)
    {
        var t = Add(TrialState.Running);
        for (int s = 0; s < curve.Length; s++)
        {
            int i = Trials.FindIndex(x => x.Number == t.Number);
            var values = new SortedDictionary<int, double>(Trials[i].IntermediateValues.ToDictionary(k => k.Key, k => k.Value)) { [s] = curve[s] };
            Trials[i] = Trials[i] with { IntermediateValues = values };
            if (pruner.ShouldPrune(this, Trials[i])) { Trials[i] = Trials[i] with { State = TrialState.Pruned }; return s; }
        }
        Trials[Trials.FindIndex(x => x.Number == t.Number)] = Trials.First(x => x.Number == t.Number) with { State = TrialState.Complete, Value = curve[^1] };
        return null;
    }
}

public class PrunerTests
{
    [Fact]
    public void MedianPrunesOnlyAfterFiveCompleteTrialsWhenBestSoFarIsWorseThanTheMedian()
    {
        var study = new ListStudy("m", Direction.Minimize);
        var pruner = new MedianPruner();
        for (int i = 0; i < 4; i++) study.Add(TrialState.Complete, 1, 2, 3); // values at steps 0..2
        Assert.Null(study.Run(pruner, 9, 9, 9)); // 4 complete trials: startup, never prunes (and completes as 5th)
        // Now 5 complete: medians per step are 1, 2, 3.
        Assert.Equal(0, study.Run(pruner, 1.5, 0, 0)); // 1.5 > 1 at step 0
        Assert.Null(study.Run(pruner, 1.0, 2.0, 3.0)); // ties are not worse
        Assert.Null(study.Run(pruner, 0.5, 5, 5)); // the best value so far (0.5) stays better than every median
    }

    [Fact]
    public void MedianUsesTheTrialsBestValueAndTheDirection()
    {
        var study = new ListStudy("m", Direction.Maximize);
        for (int i = 0; i < 5; i++) study.Add(TrialState.Complete, 0.5, 0.6, 0.7);
        var pruner = new MedianPruner(warmupSteps: 1);
        Assert.Null(study.Run(pruner, 0.9, 0.55, 0.66, 0.0)); // best so far 0.9 beats every median; step 3 has no data
        Assert.Equal(1, study.Run(pruner, 0.1, 0.5)); // warm-up step 0 is exempt; at step 1, best 0.5 < 0.6
    }

    [Fact]
    public void AshaRungsAndPromotionFollowTheRules()
    {
        // r = 1, eta = 4: rungs at steps 1, 4, 16.
        var study = new ListStudy("a", Direction.Minimize);
        var asha = new SuccessiveHalvingPruner(minResource: 1, reductionFactor: 4);
        Assert.Null(study.Run(asha, 5, 5, 5, 5, 5)); // alone at each rung: idx 0, own value, promoted
        Assert.True(study.Trials[0].SystemAttributes.ContainsKey("completed_rung_0"));
        Assert.True(study.Trials[0].SystemAttributes.ContainsKey("completed_rung_1"));
        Assert.False(study.Trials[0].SystemAttributes.ContainsKey("completed_rung_2"));
        // Rung 0 values {5, 6}: idx = floor(2/4)-1 -> 0, so only a value <= 5 continues.
        Assert.Equal(1, study.Run(asha, 6, 6));
        Assert.Null(study.Run(asha, 4, 4, 4, 4, 4));
        // Rung 0 now {5, 6, 4, 7}: idx = 0 -> best is 4; 4.5 is pruned at step 1.
        Assert.Equal(1, study.Run(asha, 9, 7));
        Assert.Equal(1, study.Run(asha, 9, 4.5));
        // 8 values at rung 0: idx = 1 -> second best (4) ... a value equal to sorted[1] continues.
        for (int i = 0; i < 3; i++) study.Run(asha, 9, 100 + i);
        var rung0 = study.Trials.Where(t => t.SystemAttributes.ContainsKey("completed_rung_0")).Select(t => double.Parse(t.SystemAttributes["completed_rung_0"], System.Globalization.CultureInfo.InvariantCulture)).OrderBy(v => v).ToList();
        Assert.Equal(8, rung0.Count);
        Assert.Null(study.Run(asha, 9, rung0[1], 1, 1));
        Assert.Equal(1, study.Run(asha, 9, rung0[1] + 0.1));
    }

    [Fact]
    public void AshaEstimatesMinResourceFromCompleteTrials()
    {
        var study = new ListStudy("a", Direction.Maximize);
        var asha = new SuccessiveHalvingPruner(); // auto min resource
        Assert.Null(study.Run(asha, Enumerable.Range(0, 400).Select(i => 0.0).ToArray())); // nothing complete yet: never prunes
        Assert.Equal(TrialState.Complete, study.Trials[0].State);
        Assert.Equal(399, study.Trials[0].LastStep);
        Assert.Equal(3, SuccessiveHalvingPruner.EstimateMinResource(study.Trials)); // 399 // 100
        // Now r = 3: the next trial records 0.0 at rung 0 (step 3); a worse one is pruned there, not before.
        Assert.Null(study.Run(asha, 0, 0, 0, 0, 0));
        Assert.Equal(3, study.Run(asha, -1, -1, -1, -1, -1));
    }

    [Fact]
    public void HyperbandBracketsBudgetsAndAssignmentMatchOptuna()
    {
        var study = new ListStudy("hb", Direction.Minimize);
        var hb = new HyperbandPruner(minResource: 1, maxResource: 27, reductionFactor: 3);
        study.Add(TrialState.Complete, 1);
        Assert.False(hb.ShouldPrune(study, study.Trials[0]));
        Assert.Equal(4, hb.BracketCount);
        Assert.Equal(new[] { 27, 12, 6, 4 }, hb.Budgets);
        // Expected from Python: zlib.crc32(f"hb_{i}") % 49 walked through the budgets.
        int[] expected = { 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 3, 0, 3, 2, 0, 0, 1, 1, 0, 3 };
        Assert.Equal(expected, Enumerable.Range(0, 20).Select(i => hb.BracketOf("hb", i)));
        // Tuners see only their bracket.
        var trials = Enumerable.Range(0, 20).Select(i => new TrialRecord { Id = i, Number = i, State = TrialState.Complete, Value = 0 }).ToList();
        var visible = ((IPruner)hb).TrialsForTuner(study, 13, trials);
        Assert.Equal(new[] { 13 }, visible.Select(t => t.Number));
    }

    [Fact]
    public void HyperbandRunsSuccessiveHalvingWithinTheBracket()
    {
        var study = new ListStudy("hb", Direction.Minimize);
        var hb = new HyperbandPruner(minResource: 1, maxResource: 9, reductionFactor: 3);
        // Bracket 0 has rungs at 1, 3, 9; bracket 2 starts at 9 (never prunes a 5-step curve).
        var curves = Enumerable.Range(0, 30).Select(i => Enumerable.Range(0, 5).Select(s => 10.0 - i * 0.1 + s * 0.0).ToArray()).ToList();
        var prunedAt = curves.Select(c => study.Run(hb, c)).ToList();
        Assert.Equal(3, hb.BracketCount);
        for (int i = 0; i < 30; i++)
            if (hb.BracketOf("hb", i) == 2) Assert.Null(prunedAt[i]);
        // Values keep improving (each trial is better than all before), so nothing is pruned anywhere.
        Assert.All(prunedAt, p => Assert.Null(p));
        // A bad curve in bracket 0 is pruned at its first rung (step 1).
        int n = study.Trials.Count;
        while (hb.BracketOf("hb", n) != 0) { study.Add(TrialState.Fail); n++; }
        Assert.Equal(1, study.Run(hb, 50, 50, 50));
    }
}
