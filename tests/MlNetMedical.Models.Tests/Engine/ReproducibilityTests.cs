using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary>
/// A seed decides a training run: initial weights from <c>Build(new Generator(seed))</c>, dropout from
/// <see cref="Network.UseGenerator"/>, data from the same generators. Runs are bit-identical whatever thread they run on,
/// whatever thread budget they have and whatever other threads draw from libtorch's default generator meanwhile.
/// Bit-identity holds for the same intra-op thread count: with another count libtorch's convolutions (oneDNN's and
/// ATen's) split their reductions differently, so runs agree only to float rounding (measured here: relative loss
/// differences of order 1e-7 after 6 steps).
/// </summary>
public sealed class ReproducibilityTests
{
    private sealed record Run(double[] Losses, Dictionary<string, float[]> Weights);

    private static Run Train(ulong seed, int? budget = null, ulong? dropoutSeed = null, Action? betweenSteps = null)
    {
        var threads = budget is { } n ? TorchRuntime.ThreadBudget(n) : null;
        try
        {
            using var g = new Generator(seed);
            using var net = (EncoderClassifier)TestConfigs.Classifier(2).Build(g); // head: dropout 0.1, hidden layer
            using var dropout = new Generator(dropoutSeed ?? seed + 1000);
            net.UseGenerator(dropout);
            net.train();
            using var x = torch.randn([4, 1, 8, 8], generator: g);
            using var labels = torch.tensor(new long[] { 0, 1, 1, 0 });
            using var opt = torch.optim.Adam(net.parameters(), 1e-2);
            var losses = new double[6];
            for (int i = 0; i < losses.Length; i++)
            {
                using var scope = torch.NewDisposeScope();
                opt.zero_grad();
                var loss = nn.functional.cross_entropy(net.Classify(x), labels);
                losses[i] = loss.item<float>();
                loss.backward();
                opt.step();
                betweenSteps?.Invoke();
            }
            var weights = net.state_dict().Where(kv => kv.Value.dtype == ScalarType.Float32)
                .ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
            return new Run(losses, weights);
        }
        finally
        {
            threads?.Dispose();
        }
    }

    private static void AssertIdentical(Run expected, Run actual, string what)
    {
        Assert.True(expected.Losses.SequenceEqual(actual.Losses), $"{what}: losses [{string.Join(", ", expected.Losses)}] vs [{string.Join(", ", actual.Losses)}]");
        Assert.Equal(expected.Weights.Keys, actual.Weights.Keys);
        foreach (var (key, w) in expected.Weights)
            Assert.True(w.SequenceEqual(actual.Weights[key]), $"{what}: {key} differs");
    }

    private static T OnThread<T>(Func<T> body) => OnThreads(body)[0];

    private static T[] OnThreads<T>(params Func<T>[] bodies)
    {
        var results = new T[bodies.Length];
        var errors = new Exception?[bodies.Length];
        using var start = new Barrier(bodies.Length);
        var threads = bodies.Select((body, i) => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                results[i] = body();
            }
            catch (Exception e) { errors[i] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var e in errors) if (e is not null) throw new AggregateException(e);
        return results;
    }

    [Fact]
    public void SameSeedGivesBitIdenticalWeightsAndLosses()
    {
        var a = Train(11);
        var b = Train(11);
        AssertIdentical(a, b, "same seed");
        Assert.True(a.Losses[^1] < a.Losses[0], "the run trains");
        var other = Train(12);
        Assert.False(a.Weights["encoder.stages.0.conv1.weight"].SequenceEqual(other.Weights["encoder.stages.0.conv1.weight"]), "another seed, same weights");
        var otherDropout = Train(11, dropoutSeed: 5);
        Assert.False(a.Losses.SequenceEqual(otherDropout.Losses), "dropout does not draw from the network's generator");
    }

    [Fact]
    public void InitialWeightsComeFromTheGivenGeneratorNotTheDefaultOne()
    {
        torch.manual_seed(1);
        using var g1 = new Generator(42);
        using var a = TestConfigs.UNet(2).Build(g1);
        torch.manual_seed(2);
        using (torch.randn(100)) { }
        using var g2 = new Generator(42);
        using var b = TestConfigs.UNet(2).Build(g2);
        foreach (var (key, t) in a.state_dict())
            Assert.True(TestConfigs.Same(t, b.state_dict()[key]), key);
        // And Build() without a generator draws from the default generator: seeded alike, alike.
        torch.manual_seed(3);
        using var c = TestConfigs.UNet(2).Build();
        torch.manual_seed(3);
        using var d = TestConfigs.UNet(2).Build();
        Assert.True(TestConfigs.Same(c.state_dict()["encoder.stages.0.conv1.weight"], d.state_dict()["encoder.stages.0.conv1.weight"]));
        Assert.False(TestConfigs.Same(a.state_dict()["encoder.stages.0.conv1.weight"], c.state_dict()["encoder.stages.0.conv1.weight"]));
    }

    [Fact]
    public void ParallelRunsWithDifferentThreadBudgetsMatchTheirSequentialRuns()
    {
        var oneThread = Train(21, budget: 1);
        var twoThreads = Train(21, budget: 2);
        var runs = OnThreads(() => Train(21, budget: 1), () => Train(21, budget: 2));
        AssertIdentical(oneThread, runs[0], "parallel thread with budget 1");
        AssertIdentical(twoThreads, runs[1], "parallel thread with budget 2");
        // Across thread counts only rounding differs.
        var worst = oneThread.Losses.Zip(twoThreads.Losses, (a, b) => Math.Abs(a - b) / Math.Abs(b)).Max();
        Assert.True(worst < 1e-4, $"1 and 2 intra-op threads: losses differ by up to {worst:E2} relative");
    }

    [Fact]
    public void RunsInterleavedWithDefaultGeneratorUsersStayIdentical()
    {
        var reference = Train(31, budget: 1);
        using var done = new ManualResetEventSlim();
        long draws = 0;
        var noise = new Thread(() =>
        {
            while (!done.IsSet)
            {
                using var scope = torch.NewDisposeScope();
                using var net = TestConfigs.PlainCnn(2).Build(); // weights from the default generator
                var x = torch.randn([2, 1, 8, 8]);
                nn.functional.dropout(net.call(x), 0.5, training: true).sum().backward();
                Interlocked.Increment(ref draws);
            }
        });
        noise.Start();
        try
        {
            // The seeded run on its own thread, and itself drawing from the default generator between steps.
            var run = OnThread(() => Train(31, budget: 1, betweenSteps: () => torch.rand(16).Dispose()));
            AssertIdentical(reference, run, "interleaved with default-generator users");
        }
        finally
        {
            done.Set();
            noise.Join();
        }
        Assert.True(Interlocked.Read(ref draws) > 0, "the other thread never drew");
    }
}
