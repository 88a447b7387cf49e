using MlNetMedical.Metrics;
using MlNetMedical.Benchmarks.Replicate;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>The replication suite's statistics on inputs whose answers are known (SciPy 1.10's t.ppf and brute-force
/// enumeration of every bootstrap resample gave the expected values).</summary>
public sealed class ReplicateStatisticsTests
{
    [Theory]
    [InlineData(1, 12.706204736432095)]
    [InlineData(2, 4.302652729911275)]
    [InlineData(4, 2.7764451051977987)]
    [InlineData(9, 2.2621571627409915)]
    [InlineData(30, 2.0422724563012373)]
    [InlineData(100, 1.9839715184496334)]
    public void StudentTQuantileMatchesScipy(int df, double expected)
    {
        Assert.Equal(expected, PairedStatistics.StudentTQuantile(0.975, df), 8);
        Assert.Equal(-expected, PairedStatistics.StudentTQuantile(0.025, df), 8);
    }

    [Fact]
    public void MeanAndSampleSd()
    {
        var (mean, sd) = PairedStatistics.MeanSd([2, 4, 4, 4, 5, 5, 7, 9]);
        Assert.Equal(5, mean, 12);
        Assert.Equal(Math.Sqrt(32.0 / 7), sd, 12); // n − 1 in the denominator
        Assert.Equal(0, PairedStatistics.MeanSd([0.7]).Sd);
    }

    [Fact]
    public void PairedTIntervalOfKnownDifferences()
    {
        var t = PairedStatistics.TInterval(PairedStatistics.Differences([2, 4, 6, 8, 10], [1, 2, 3, 4, 5])); // differences 1..5
        Assert.Equal(3, t.Mean, 12);
        Assert.Equal(1.036756838522439, t.Lower, 9);
        Assert.Equal(4.9632431614775605, t.Upper, 9);

        var small = PairedStatistics.TInterval([0.02, -0.01, 0.05, 0.03, 0.00]);
        Assert.Equal(0.018, small.Mean, 12);
        Assert.Equal(-0.0116443216506662, small.Lower, 9);
        Assert.Equal(0.0476443216506662, small.Upper, 9);
    }

    [Fact]
    public void DegenerateIntervals()
    {
        var same = PairedStatistics.TInterval([0.1, 0.1, 0.1]);
        Assert.Equal(0.1, same.Lower, 12);
        Assert.Equal(0.1, same.Upper, 12);
        var one = PairedStatistics.TInterval([0.3]);
        Assert.True(double.IsNaN(one.Lower) && double.IsNaN(one.Upper));
        Assert.Throws<ArgumentException>(() => PairedStatistics.Differences([1, 2], [1]));
    }

    [Theory]
    [InlineData(new[] { 1.0, 2, 3 }, 0.5, 1.6666666666666667, 2.3333333333333335)]
    [InlineData(new[] { 1.0, 2, 3 }, 0.95, 1.0, 3.0)]
    [InlineData(new[] { 0.02, -0.01, 0.05, 0.03, 0.00 }, 0.95, 0.0, 0.036)]
    [InlineData(new[] { 3.0, 1, 4, 1, 5 }, 0.8, 1.8, 3.8)]
    [InlineData(new[] { 0.0, 1 }, 0.95, 0.0, 1.0)]
    public void ExactBootstrapMatchesBruteForce(double[] values, double level, double lower, double upper)
    {
        var b = PairedStatistics.ExactBootstrapInterval(values, level);
        Assert.Equal(lower, b.Lower, 9);
        Assert.Equal(upper, b.Upper, 9);
    }

    private static Dictionary<(string, string), IReadOnlyDictionary<int, double>> Accuracies(params (string Task, string Method, double[] BySeed)[] rows) =>
        rows.ToDictionary(r => (r.Task, r.Method), r => (IReadOnlyDictionary<int, double>)r.BySeed.Select((v, i) => (v, i)).ToDictionary(x => x.i + 1, x => x.v));

    [Fact]
    public void BeatsHoldsOnlyWhenTheIntervalIsAboveZero()
    {
        var spec = Claims.All.First(c => c.Name == "cardiac_seg_beats_scratch");
        var clear = Claims.Evaluate(spec, Accuracies((Tasks.Cardiac, Methods.SegFrozen, [0.7, 0.72, 0.69, 0.75, 0.71]), (Tasks.Cardiac, Methods.Scratch, [0.4, 0.45, 0.38, 0.41, 0.44])));
        Assert.True(clear.Holds);
        Assert.Equal(0.298, clear.MeanDiff, 9);
        Assert.True(clear.Ci95[0] > 0);
        // Differences 1..5 points with one seed 3 points the other way: the mean is positive, the interval crosses 0.
        var noisy = Claims.Evaluate(spec, Accuracies((Tasks.Cardiac, Methods.SegFrozen, [0.51, 0.52, 0.53, 0.47, 0.55]), (Tasks.Cardiac, Methods.Scratch, [0.5, 0.5, 0.5, 0.5, 0.5])));
        Assert.False(noisy.Holds);
        Assert.Equal(0.016, noisy.MeanDiff, 9);
        Assert.True(noisy.Ci95[0] < 0 && noisy.Ci95[1] > 0);
    }

    [Fact]
    public void AtLeastUsesTheMarginAndPoolsTheComparisonsThatRan()
    {
        var spec = Claims.All.First(c => c.Name == "seg_at_least_imagenet");
        // Seg is 1 point worse on cardiac and level on liver, very consistently: within the 2-point margin.
        var result = Claims.Evaluate(spec, Accuracies(
            (Tasks.Cardiac, Methods.SegFrozen, [0.60, 0.61, 0.59, 0.60, 0.60]), (Tasks.Cardiac, Methods.ImagenetFeatures, [0.61, 0.62, 0.60, 0.61, 0.61]),
            (Tasks.Liver, Methods.SegFrozen, [0.50, 0.50, 0.50, 0.50, 0.50]), (Tasks.Liver, Methods.ImagenetFeatures, [0.50, 0.50, 0.50, 0.50, 0.50])));
        Assert.True(result.Holds);
        Assert.Equal(-0.005, result.MeanDiff, 9);
        Assert.Equal(2, result.Pairs.Count);
        Assert.Equal(2, result.Missing.Count); // no imagenet-fine-tune results: those comparisons are listed as missing
        // 5 points worse: not non-inferior.
        var worse = Claims.Evaluate(spec, Accuracies(
            (Tasks.Cardiac, Methods.SegFrozen, [0.55, 0.56, 0.54, 0.55, 0.55]), (Tasks.Cardiac, Methods.ImagenetFeatures, [0.61, 0.62, 0.60, 0.61, 0.61]),
            (Tasks.Liver, Methods.SegFrozen, [0.46, 0.45, 0.45, 0.46, 0.45]), (Tasks.Liver, Methods.ImagenetFeatures, [0.50, 0.50, 0.50, 0.50, 0.50])));
        Assert.False(worse.Holds);
    }

    [Fact]
    public void BestMustBeatEveryOtherStrategyAndReportsTheWeakestComparison()
    {
        var spec = Claims.All.First(c => c.Name == "hierarchical_unfreezing_best");
        (string, string, double[]) Row(string method, double[] values) => (Tasks.Liver, method, values);
        double[] hu = [0.70, 0.72, 0.71, 0.73, 0.70];
        var holds = Claims.Evaluate(spec, Accuracies(Row(Methods.FineTuneHierarchicalUnfreezing, hu), Row(Methods.Scratch, [0.5, 0.52, 0.5, 0.51, 0.5]),
            Row(Methods.FineTuneNoFreezing, [0.6, 0.61, 0.6, 0.62, 0.6]), Row(Methods.FineTuneHierarchicalFreezing, [0.66, 0.67, 0.66, 0.68, 0.65]),
            Row(Methods.FineTuneFrozenEncoder, [0.6, 0.6, 0.61, 0.6, 0.6])));
        Assert.True(holds.Holds);
        Assert.Equal($"{Methods.FineTuneHierarchicalUnfreezing} − {Methods.FineTuneHierarchicalFreezing}", holds.Reported);
        Assert.Equal(0.048, holds.MeanDiff, 9);
        // Hierarchical freezing ties it on one seed and beats it on another: the weakest comparison fails, so the claim does.
        var fails = Claims.Evaluate(spec, Accuracies(Row(Methods.FineTuneHierarchicalUnfreezing, hu), Row(Methods.Scratch, [0.5, 0.52, 0.5, 0.51, 0.5]),
            Row(Methods.FineTuneNoFreezing, [0.6, 0.61, 0.6, 0.62, 0.6]), Row(Methods.FineTuneHierarchicalFreezing, [0.70, 0.74, 0.66, 0.68, 0.65]),
            Row(Methods.FineTuneFrozenEncoder, [0.6, 0.6, 0.61, 0.6, 0.6])));
        Assert.False(fails.Holds);
        Assert.Equal($"{Methods.FineTuneHierarchicalUnfreezing} − {Methods.FineTuneHierarchicalFreezing}", fails.Reported);
        // A strategy that did not run: cannot hold.
        var missing = Claims.Evaluate(spec, Accuracies(Row(Methods.FineTuneHierarchicalUnfreezing, hu), Row(Methods.Scratch, [0.5, 0.52, 0.5, 0.51, 0.5])));
        Assert.False(missing.Holds);
        Assert.Equal(3, missing.Missing.Count);
    }

    [Fact]
    public void OnlySeedsBothMethodsHaveArePaired()
    {
        var spec = Claims.All.First(c => c.Name == "liver_joint_beats_ynet");
        var acc = new Dictionary<(string, string), IReadOnlyDictionary<int, double>>
        {
            [(Tasks.Liver, Methods.JointSimple)] = new Dictionary<int, double> { [1] = 0.7, [2] = 0.72, [3] = 0.71, [7] = 0.1 },
            [(Tasks.Liver, Methods.JointYNet)] = new Dictionary<int, double> { [1] = 0.6, [2] = 0.61, [3] = 0.62 },
        };
        var r = Claims.Evaluate(spec, acc);
        Assert.Equal(3, r.Seeds);
        Assert.Equal(0.1, r.MeanDiff, 9);
        Assert.True(r.Holds);
    }

    [Fact]
    public void EveryClaimTheIssueNamesIsDefined()
    {
        Assert.Equal(["cardiac_seg_beats_scratch", "brain_seg_beats_scratch", "seg_at_least_imagenet", "liver_joint_beats_ynet", "liver_ynet_beats_baseline", "hierarchical_unfreezing_best"],
            Claims.All.Select(c => c.Name).ToArray());
        // Every method a claim compares is in the method table.
        Assert.All(Claims.All.SelectMany(c => c.Comparisons), c => { Methods.Get(c.Method); Methods.Get(c.Against); });
    }

    [Fact]
    public void ArgumentsAreCheckedAndNamed()
    {
        var o = Arguments.Parse(["--seeds", "6,7,8", "--data-seed", "42", "--full", "--out", "x"]);
        Assert.Equal([6, 7, 8], o.Seeds);
        Assert.Equal(42, o.DataSeed);
        Assert.Equal(Profile.Full, o.Profile);
        Assert.Contains("--seeds", Assert.Throws<ArgumentException>(() => Arguments.Parse(["--seeds", "1,x"])).Message);
        Assert.Contains("--seeds", Assert.Throws<ArgumentException>(() => Arguments.Parse(["--seeds", "1,1"])).Message);
        Assert.Contains("--data-seed", Assert.Throws<ArgumentException>(() => Arguments.Parse(["--data-seed"])).Message);
        Assert.Contains("--bogus", Assert.Throws<ArgumentException>(() => Arguments.Parse(["--bogus"])).Message);
    }
}
