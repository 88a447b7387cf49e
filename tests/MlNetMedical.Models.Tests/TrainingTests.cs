using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

/// <summary>A few Adam steps on a fixed toy problem must lower the training loss of every network.</summary>
public sealed class TrainingTests(ITestOutputHelper output)
{
    // Toy task: a bright square (class 1) or a bright cross (class 0) on noise; the mask marks the bright voxels.
    internal static (Tensor X, Tensor Mask, Tensor Labels) ToyBatch(int dims, int batch, long size)
    {
        var rng = new Random(7);
        var n = (int)Math.Pow(size, dims);
        var x = new float[batch * n];
        var mask = new long[batch * n];
        var labels = new long[batch];
        for (int b = 0; b < batch; b++)
        {
            labels[b] = b % 2;
            var c = rng.Next(3, (int)size - 3);
            for (int i = 0; i < n; i++)
            {
                var coords = new int[dims];
                for (int d = 0, r = i; d < dims; d++, r /= (int)size) coords[d] = r % (int)size;
                bool inside = labels[b] == 1
                    ? coords.All(v => Math.Abs(v - c) <= 2)
                    : coords.Count(v => v == c) >= dims - 1 && coords.All(v => Math.Abs(v - c) <= 3);
                mask[b * n + i] = inside ? 1 : 0;
                x[b * n + i] = (inside ? 1f : 0f) + 0.3f * (float)(rng.NextDouble() - 0.5);
            }
        }
        long[] spatial = [.. Enumerable.Repeat(size, dims)];
        return (torch.tensor(x, [batch, 1, .. spatial]), torch.tensor(mask, [batch, .. spatial]), torch.tensor(labels));
    }

    public static TheoryData<string, int> Networks() => new()
    {
        { "unet", 2 }, { "unet", 3 }, { "classifier", 2 }, { "plain-cnn", 2 }, { "plain-cnn", 3 }, { "resnet", 2 }, { "ynet", 2 }, { "simple-joint", 2 },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void FewStepsReduceTheLoss(string name, int dims)
    {
        var config = TestConfigs.All(dims).Single(c => c.Name == name).Config;
        if (config is UNetConfig unet) config = unet with { NumClasses = 2 };
        TestConfigs.Seed(3);
        using var net = config.Build();
        var (x, mask, labels) = ToyBatch(dims, batch: 6, size: dims == 2 ? 16 : 10);
        using var _x = x;
        using var _m = mask;
        using var _l = labels;
        using var adam = torch.optim.Adam(net.parameters(), lr: 1e-2);
        net.train();
        var losses = new List<double>();
        for (int step = 0; step < 15; step++)
        {
            using var scope = torch.NewDisposeScope();
            adam.zero_grad();
            var loss = TestLosses.Loss(net, x, mask, labels);
            losses.Add(loss.item<float>());
            loss.backward();
            adam.step();
        }
        output.WriteLine($"{name} {dims}D: {string.Join(" ", losses.Select(l => l.ToString("F3")))}");
        var first = losses.Take(3).Average();
        var last = losses.TakeLast(3).Average();
        Assert.True(last < 0.8 * first, $"{name} {dims}D loss went from {first:F4} to {last:F4}");
    }

    [Fact]
    public void TrainingStepsLeaveNoTensorHandlesBehind()
    {
        var (x, mask, labels) = ToyBatch(2, batch: 4, size: 16);
        foreach (var (name, config) in TestConfigs.All(2))
        {
            TestConfigs.Seed();
            using var net = config.Build();
            using var adam = torch.optim.Adam(net.parameters(), lr: 1e-3);
            void Step()
            {
                using var scope = torch.NewDisposeScope();
                adam.zero_grad();
                TestLosses.Loss(net, x, mask, labels).backward();
                adam.step();
            }
            Step(); // gradients and Adam's state now exist
            var before = TestConfigs.LiveTensors;
            for (int i = 0; i < 3; i++) Step();
            Assert.True(before == TestConfigs.LiveTensors, $"{name}: {TestConfigs.LiveTensors - before} tensor handles escaped 3 training steps");
        }
        x.Dispose();
        mask.Dispose();
        labels.Dispose();
    }
}
