using MlNetMedical.AutoML.Analysis;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

public sealed class ParameterImportanceTests
{
    private static (List<IReadOnlyDictionary<string, object>> Parameters, List<double> Values) Study(int n, Func<double, double, string, double> objective, int seed = 1)
    {
        var rng = new Random(seed);
        var ps = new List<IReadOnlyDictionary<string, object>>();
        var vs = new List<double>();
        for (int i = 0; i < n; i++)
        {
            double x = rng.NextDouble(), noise = rng.NextDouble();
            var c = rng.Next(3) switch { 0 => "a", 1 => "b", _ => "c" };
            ps.Add(new Dictionary<string, object> { ["x"] = x, ["noise"] = noise, ["c"] = c });
            vs.Add(objective(x, noise, c) + 0.01 * (rng.NextDouble() - 0.5));
        }
        return (ps, vs);
    }

    [Fact]
    public void ADominantNumericParameterGetsMostOfTheShare()
    {
        var (ps, vs) = Study(80, (x, _, c) => 10 * (x - 0.3) * (x - 0.3) + (c == "b" ? 0.5 : 0));
        var imp = ParameterImportance.Compute(ps, vs).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(1.0, imp.Values.Sum(), 9);
        Assert.True(imp["x"] > 0.8, $"x: {imp["x"]}");
        Assert.True(imp["noise"] < 0.05, $"noise: {imp["noise"]}");
        Assert.True(imp["c"] > imp["noise"], $"c {imp["c"]} vs noise {imp["noise"]}");
        Assert.Equal("x", ParameterImportance.Compute(ps, vs)[0].Key);
    }

    [Fact]
    public void ADominantCategoricalParameterWinsAndAWeakerOneIsNotHidden()
    {
        // c dominates; x has a smaller but real effect that a one-parameter-at-a-time ANOVA would drown in c's spread.
        var (ps, vs) = Study(90, (x, _, c) => (c == "a" ? 3 : c == "b" ? 0 : -3) + 0.8 * x);
        var imp = ParameterImportance.Compute(ps, vs).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.True(imp["c"] > 0.9, $"c: {imp["c"]}");
        Assert.True(imp["x"] > 0.002, $"x: {imp["x"]}");
        Assert.True(imp["x"] > 5 * imp["noise"], $"x {imp["x"]} vs noise {imp["noise"]}");
    }

    [Fact]
    public void ConstantOrTinyStudiesGiveZeros()
    {
        var (ps, _) = Study(20, (_, _, _) => 0);
        Assert.All(ParameterImportance.Compute(ps, Enumerable.Repeat(0.5, 20).ToList()), kv => Assert.Equal(0, kv.Value));
        Assert.All(ParameterImportance.Compute(ps.Take(2).ToList(), [1.0, 2.0]), kv => Assert.Equal(0, kv.Value));
    }

    [Fact]
    public void AbsentConditionalParametersAndNonFiniteValuesAreHandled()
    {
        var ps = new List<IReadOnlyDictionary<string, object>>();
        var vs = new List<double>();
        for (int i = 0; i < 40; i++)
        {
            var p = new Dictionary<string, object> { ["head"] = i % 2 == 0 ? "mlp" : "linear", ["flag"] = i % 3 == 0 };
            if (i % 2 == 0) p["head.mlp.hidden"] = (double)(16 << (i % 4));
            ps.Add(p);
            vs.Add(i == 5 ? double.NaN : (i % 2 == 0 ? 1.0 : 0.0) + 0.01 * (i % 7));
        }
        var imp = ParameterImportance.Compute(ps, vs);
        Assert.Equal(["flag", "head", "head.mlp.hidden"], imp.Select(kv => kv.Key).Order().ToList());
        Assert.Equal(1.0, imp.Sum(kv => kv.Value), 9);
        Assert.Throws<ArgumentException>(() => ParameterImportance.Compute(ps, vs.Take(3).ToList()));
    }
}
