using MlNetMedical.AutoML;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

public class SearchSpaceTests
{
    private sealed class TrainerOptions
    {
        [Range(1e-5, 1e-1, Log = true)] public double LearningRate { get; set; } = 1e-3;
        [Range(8, 64, Step = 8)] public int BatchSize { get; set; } = 16;
        [Choice("adam", "sgd")] public string Optimizer { get; set; } = "sgd";
        [BooleanChoice] public bool Augment { get; set; }
        public int NotSwept { get; set; } = 7;
    }

    [Fact]
    public void AttributesDeclareParametersWithDefaultsFromAFreshInstance()
    {
        var space = OptionsSpace.FromOptions<TrainerOptions>();
        Assert.Equal(new[] { "LearningRate", "BatchSize", "Optimizer", "Augment" }, space.Dimensions.Select(d => d.FullName));
        var lr = Assert.IsType<FloatParameter>(space["LearningRate"].Parameter);
        Assert.True(lr.Log);
        var bs = Assert.IsType<IntParameter>(space["BatchSize"].Parameter);
        Assert.Equal(8, bs.Step);
        Assert.Equal(8, bs.Count);
        var start = space.DefaultPoint();
        Assert.Equal(1e-3, start.GetDouble("LearningRate"), 12);
        Assert.Equal(16, start.GetInt("BatchSize"));
        Assert.Equal("sgd", start.GetString("Optimizer"));
        Assert.False(start.GetBool("Augment"));

        var options = OptionsSpace.Create<TrainerOptions>(new ParameterSet { ["LearningRate"] = 0.01, ["BatchSize"] = 32, ["Optimizer"] = "adam", ["Augment"] = true });
        Assert.Equal(0.01, options.LearningRate);
        Assert.Equal(32, options.BatchSize);
        Assert.Equal("adam", options.Optimizer);
        Assert.True(options.Augment);
        Assert.Equal(7, options.NotSwept);
    }

    [Fact]
    public void EncodeDecodeRoundTripsEveryKind()
    {
        var space = new SearchSpace()
            .Float("u", -2, 3).Float("l", 1e-4, 1, log: true)
            .Int("i", 0, 10, step: 2).Int("li", 1, 1000, log: true)
            .Choice("c", "a", 1, 2.5, true);
        var rng = new Random(3);
        for (int k = 0; k < 500; k++)
        {
            var p = space.Sample(rng);
            var x = space.Encode(p);
            Assert.All(x, v => Assert.InRange(v, 0.0, 1.0));
            var back = space.Decode(x);
            Assert.Equal(p.GetInt("i"), back.GetInt("i"));
            Assert.Equal(p.GetInt("li"), back.GetInt("li"));
            Assert.Equal(p["c"], back["c"]);
            Assert.Equal(p.GetDouble("u"), back.GetDouble("u"), 9);
            Assert.Equal(p.GetDouble("l"), back.GetDouble("l"), 9);
            Assert.Equal(0, p.GetInt("i") % 2);
        }
    }

    [Fact]
    public void LogParametersAreLogUniformAndIntCellsAreEqual()
    {
        var space = new SearchSpace().Float("l", 1e-4, 1, log: true).Int("i", 0, 3);
        var rng = new Random(5);
        int belowMilli = 0; var counts = new int[4];
        const int n = 20000;
        for (int k = 0; k < n; k++)
        {
            var p = space.Sample(rng);
            if (p.GetDouble("l") < 1e-3) belowMilli++;
            counts[p.GetInt("i")]++;
        }
        Assert.InRange(belowMilli / (double)n, 0.23, 0.27); // one decade out of four
        Assert.All(counts, c => Assert.InRange(c / (double)n, 0.23, 0.27));
    }

    [Fact]
    public void ConditionalSubSpacesAreActiveOnlyUnderTheirChoice()
    {
        var space = new SearchSpace()
            .Float("lr", 1e-4, 1e-1, log: true)
            .Choice("head",
                ("softmax", null),
                ("mlp", new SearchSpace().Int("hidden", 16, 256, log: true).Float("dropout", 0, 0.5)));
        Assert.Equal(new[] { "lr", "head", "head.mlp.hidden", "head.mlp.dropout" }, space.Dimensions.Select(d => d.FullName));
        var rng = new Random(1);
        bool sawMlp = false, sawSoftmax = false;
        for (int k = 0; k < 50; k++)
        {
            var p = space.Sample(rng);
            if ((string)p["head"] == "mlp") { sawMlp = true; Assert.True(p.Contains("head.mlp.hidden")); }
            else { sawSoftmax = true; Assert.False(p.Contains("head.mlp.hidden")); Assert.Equal(2, p.Count); }
            Assert.Equal(p, space.Decode(space.Encode(p)));
        }
        Assert.True(sawMlp && sawSoftmax);
        // lr (2 points) x { softmax, mlp x hidden (all 241) x dropout (2) }
        Assert.Equal(2 * (1 + 241 * 2), space.Grid(floatPoints: 2).Count());
    }

    [Fact]
    public void ValidationErrorsNameTheParameter()
    {
        var space = new SearchSpace().Float("lr", 1e-4, 1e-1, log: true).Int("epochs", 1, 10)
            .Choice("head", ("softmax", null), ("mlp", new SearchSpace().Int("hidden", 16, 256)));
        var e1 = Assert.Throws<ArgumentException>(() => space.Validate(new ParameterSet { ["lr"] = 0.5, ["epochs"] = 2, ["head"] = "softmax" }));
        Assert.Contains("'lr'", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => space.Validate(new ParameterSet { ["lr"] = 0.01, ["epochs"] = 2.5, ["head"] = "softmax" }));
        Assert.Contains("'epochs'", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => space.Validate(new ParameterSet { ["lr"] = 0.01, ["epochs"] = 2, ["head"] = "mlp" }));
        Assert.Contains("'head.mlp.hidden'", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => space.Validate(new ParameterSet { ["lr"] = 0.01, ["epochs"] = 2, ["head"] = "svm" }));
        Assert.Contains("'head'", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => new SearchSpace().Float("x", 0, 1, log: true));
        Assert.Contains("'x'", e5.Message);
        var e6 = Assert.Throws<ArgumentException>(() => new SearchSpace().Int("k", 0, 10, step: 3));
        Assert.Contains("'k'", e6.Message);
        Assert.Throws<ArgumentException>(() => new SearchSpace().Float("a", 0, 1).Float("a", 0, 2));
    }

    [Fact]
    public void ParameterSetsRoundTripThroughJson()
    {
        var p = new ParameterSet { ["lr"] = 0.001, ["n"] = 3, ["name"] = "mlp", ["flag"] = true, ["whole"] = 2.0 };
        var back = ParameterSet.FromJson(p.ToJson());
        var space = new SearchSpace().Float("lr", 0, 1).Int("n", 0, 5).Choice("name", "mlp", "x").Bool("flag").Float("whole", 0, 4);
        Assert.Equal(space.Validate(p), space.Validate(back));
        Assert.IsType<double>(space.Validate(back)["whole"]);
    }
}
