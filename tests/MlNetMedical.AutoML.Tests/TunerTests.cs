using MlNetMedical.AutoML;
using MlNetMedical.AutoML.Benchmarks;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

public class TunerTests
{
    private static TrialRecord Done(int n, ParameterSet p, double v, TrialState state = TrialState.Complete) =>
        new() { Id = n, Number = n, State = state, Parameters = p, Value = v };

    [Fact]
    public void TpeDefaultsMatchOptuna()
    {
        var o = new TpeOptions();
        Assert.Equal(10, o.StartupTrials);
        Assert.Equal(24, o.EiCandidates);
        Assert.Equal(1.0, o.PriorWeight);
        Assert.Equal(new[] { 0, 1, 1, 1, 2, 3, 25, 25 }, new[] { 0, 1, 9, 10, 11, 30, 250, 1000 }.Select(o.Gamma));
        Assert.All(o.Weights(24), w => Assert.Equal(1.0, w));
        var w40 = o.Weights(40);
        Assert.Equal(1.0 / 40, w40[0], 12);
        Assert.All(w40.Skip(15), w => Assert.Equal(1.0, w));
        for (int i = 1; i < 15; i++) Assert.True(w40[i] > w40[i - 1]);
    }

    [Fact]
    public void TpeKernelWidthsFollowTheNeighbourGapRule()
    {
        var tpe = new TpeTuner();
        var p = new FloatParameter("x", 0, 10);
        // Observations 1, 2, 6 plus the prior at 5: sorted 1,2,5,6 with ends 0 and 10.
        var (mus, sigmas, weights) = tpe.DescribeKernels(p, new object[] { 1.0, 2.0, 6.0 });
        Assert.Equal(new[] { 1.0, 2.0, 6.0, 5.0 }, mus);
        // 1: outermost -> inner gap 1 (then clipped up to 10/min(100, 1+4) = 2); 2: max(1,3)=3; 6: outermost -> 1 -> 2; prior: range.
        Assert.Equal(new[] { 2.0, 3.0, 2.0, 10.0 }, sigmas);
        Assert.All(weights, w => Assert.Equal(0.25, w, 12));
        // Log parameters are modelled in log space.
        var (lm, _, _) = tpe.DescribeKernels(new FloatParameter("l", 1e-3, 1e1, log: true), new object[] { 1.0 });
        Assert.Equal(0.0, lm[0], 12);
        Assert.Equal(0.5 * (Math.Log(1e-3) + Math.Log(10)), lm[1], 12);
    }

    [Fact]
    public void TpeSplitPutsBestCompleteFirstThenFurthestPrunedAndRunningTrialsBad()
    {
        var p = new ParameterSet { ["x"] = 0.5 };
        var trials = new List<TrialRecord>();
        for (int i = 0; i < 20; i++) trials.Add(Done(i, p, 100 - i));
        trials.Add(new TrialRecord { Id = 20, Number = 20, State = TrialState.Running, Parameters = p });
        var (below, above, n) = TpeTuner.Split(trials, Direction.Minimize, new TpeOptions { ConstantLiar = true });
        Assert.Equal(20, n);
        Assert.Equal(new[] { 18, 19 }, below.Select(t => t.Number));
        Assert.Contains(above, t => t.Number == 20);
        var (belowMax, _, _) = TpeTuner.Split(trials, Direction.Maximize, new TpeOptions());
        Assert.Equal(new[] { 0, 1 }, belowMax.Select(t => t.Number));

        // Only one complete trial: the pruned trial that got furthest fills the second good slot.
        var mixed = new List<TrialRecord> { Done(0, p, 5) };
        for (int i = 1; i < 15; i++)
            mixed.Add(new TrialRecord { Id = i, Number = i, State = TrialState.Pruned, Parameters = p,
                IntermediateValues = Enumerable.Range(0, i == 7 ? 9 : 3).ToDictionary(s => s, s => 10.0 + i) });
        var (b2, _, _) = TpeTuner.Split(mixed, Direction.Minimize, new TpeOptions());
        Assert.Equal(new[] { 0, 7 }, b2.Select(t => t.Number));
    }

    [Fact]
    public void TpeIsSeededAndStaysInsideTheSpace()
    {
        var space = new SearchSpace().Float("a", 1e-4, 1, log: true).Int("b", 2, 20, step: 2).Choice("c", "x", "y", "z");
        List<ParameterSet> Run(int seed)
        {
            var tpe = new TpeTuner(seed);
            var h = new List<TrialRecord>();
            for (int i = 0; i < 30; i++)
            {
                var p = tpe.Propose(new TuningContext(space, Direction.Minimize, i, h))!;
                space.Validate(p);
                h.Add(Done(i, p, Math.Log(p.GetDouble("a")) + p.GetInt("b") + ((string)p["c"] == "y" ? 0 : 3)));
            }
            return h.Select(t => t.Parameters).ToList();
        }
        Assert.Equal(Run(4), Run(4));
        Assert.NotEqual(Run(4), Run(5));
        // Once modelling starts, TPE concentrates on the good category.
        Assert.True(Run(4).Skip(15).Count(p => (string)p["c"] == "y") >= 10);
    }

    [Fact]
    public void ConstantLiarSpreadsConcurrentProposals()
    {
        var space = new SearchSpace().Float("x", 0, 1);
        var h = new List<TrialRecord>();
        for (int i = 0; i < 20; i++) h.Add(Done(i, new ParameterSet { ["x"] = i / 20.0 }, Math.Abs(i / 20.0 - 0.5)));
        // The same pending trial, as the only running trial, repels the next proposal with the liar on.
        var pending = new TrialRecord { Id = 20, Number = 20, State = TrialState.Running, Parameters = new ParameterSet { ["x"] = 0.5 } };
        double Distance(bool liar)
        {
            var tpe = new TpeTuner(1, new TpeOptions { ConstantLiar = liar });
            var all = h.Append(pending).ToList();
            double d = 0;
            for (int k = 0; k < 40; k++)
                d += Math.Abs(tpe.Propose(new TuningContext(space, Direction.Minimize, 21 + k, all))!.GetDouble("x") - 0.5);
            return d / 40;
        }
        Assert.True(Distance(true) > Distance(false), $"liar {Distance(true)} vs plain {Distance(false)}");
    }

    [Fact]
    public void GridVisitsEveryPointOnceThenStops()
    {
        var space = new SearchSpace().Int("a", 0, 2).Choice("b", "x", "y");
        var grid = new GridTuner(seed: 2);
        var h = new List<TrialRecord>();
        for (int i = 0; i < 6; i++) h.Add(Done(i, grid.Propose(new TuningContext(space, Direction.Minimize, i, h))!, 0));
        Assert.Equal(6, h.Select(t => t.Parameters).Distinct().Count());
        Assert.Null(grid.Propose(new TuningContext(space, Direction.Minimize, 6, h)));
        // A fresh grid tuner warm-started from the history skips what was run.
        Assert.Null(new GridTuner(seed: 9).Propose(new TuningContext(space, Direction.Minimize, 6, h)));
    }

    [Fact]
    public void CfoStartsAtTheLowCostPointMovesOnImprovementAndShrinksItsStep()
    {
        var space = new SearchSpace().Float("x", 0, 1, defaultValue: 0.3).Float("y", 0, 1, defaultValue: 0.3);
        var cfo = new CfoTuner(seed: 3);
        var h = new List<TrialRecord>();
        var first = cfo.Propose(new TuningContext(space, Direction.Minimize, 0, h))!;
        Assert.Equal(0.3, first.GetDouble("x"), 12);
        Assert.Equal(0.1 * Math.Sqrt(2), cfo.Step, 12);
        double F(ParameterSet p) => Math.Pow(p.GetDouble("x") - 0.7, 2) + Math.Pow(p.GetDouble("y") - 0.6, 2);
        var rec0 = Done(0, first, F(first)); h.Add(rec0); cfo.Observe(rec0, space, Direction.Minimize);
        // Second proposal: a step of exactly delta from the incumbent (0.3 ± 0.15 stays inside the box).
        var second = cfo.Propose(new TuningContext(space, Direction.Minimize, 1, h))!;
        double dist = Math.Sqrt(Math.Pow(second.GetDouble("x") - 0.3, 2) + Math.Pow(second.GetDouble("y") - 0.3, 2));
        Assert.Equal(0.1 * Math.Sqrt(2), dist, 6);
        var rec1 = Done(1, second, F(second)); h.Add(rec1); cfo.Observe(rec1, space, Direction.Minimize);
        double best = Math.Min(F(first), F(second));
        for (int i = 2; i < 150; i++)
        {
            var p = cfo.Propose(new TuningContext(space, Direction.Minimize, i, h))!;
            var r = Done(i, p, F(p)); h.Add(r); cfo.Observe(r, space, Direction.Minimize);
            best = Math.Min(best, r.Value!.Value);
        }
        Assert.True(best < 1e-2, $"best {best}"); // from 0.13 at the start
        Assert.True(cfo.Step < 0.1 * Math.Sqrt(2), $"step {cfo.Step} should have shrunk");
    }

    [Fact]
    public void CfoConvergesOnAnIntegerSpaceAndRestarts()
    {
        var space = new SearchSpace().Int("k", 0, 9);
        var cfo = new CfoTuner(seed: 1);
        var h = new List<TrialRecord>();
        for (int i = 0; i < 200; i++)
        {
            var p = cfo.Propose(new TuningContext(space, Direction.Maximize, i, h))!;
            var r = Done(i, p, -Math.Abs(p.GetInt("k") - 6)); h.Add(r); cfo.Observe(r, space, Direction.Maximize);
        }
        Assert.Equal(0.1, cfo.StepLowerBound, 12);
        Assert.Contains(h, t => t.Parameters.GetInt("k") == 6);
        Assert.True(cfo.Restarts >= 1);
    }

    [Fact]
    public void TpeNeedsFewerTrialsThanRandomOnBranin()
    {
        // Seeded, so deterministic; 10 seeds, 150 trials, target regret 0.1 (anchors: TPE beats random).
        var f = TestFunctions.Branin;
        int Median(Func<int, ITuner> make)
        {
            var counts = Enumerable.Range(0, 10).Select(s => TestFunctions.TrialsToTarget(TestFunctions.RegretTrace(make(s), f, 150, s), f.TargetRegret) ?? 151).OrderBy(x => x).ToList();
            return (counts[4] + counts[5]) / 2;
        }
        int tpe = Median(s => new TpeTuner(s)), random = Median(s => new RandomTuner(s));
        Assert.True(tpe < random, $"TPE median {tpe} trials vs random {random}");
    }

    [Fact]
    public void CfoWarmStartsFromHistoryAtTheBestTrial()
    {
        var space = new SearchSpace().Float("x", 0, 1).Float("y", 0, 1);
        var rng = new Random(4);
        var h = new List<TrialRecord>();
        for (int i = 0; i < 20; i++)
        {
            var p = space.Sample(rng);
            h.Add(Done(i, p, Math.Abs(p.GetDouble("x") - 0.8) + Math.Abs(p.GetDouble("y") - 0.2)));
        }
        var best = h.MinBy(t => t.Value)!;
        var cfo = new CfoTuner(seed: 2);
        foreach (var t in h) cfo.Observe(t, space, Direction.Minimize); // as the runner does on resume
        var next = cfo.Propose(new TuningContext(space, Direction.Minimize, 20, h))!;
        double d = Math.Sqrt(Math.Pow(next.GetDouble("x") - best.Parameters.GetDouble("x"), 2) + Math.Pow(next.GetDouble("y") - best.Parameters.GetDouble("y"), 2));
        Assert.True(d <= cfo.Step + 1e-9, $"first proposal after warm start is {d} from the best trial, step {cfo.Step}");
    }
}
