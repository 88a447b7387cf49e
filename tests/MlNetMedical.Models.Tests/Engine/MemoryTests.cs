using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary>Long training at toy size: resident memory and live tensor handles stay flat when every step runs in a dispose scope.</summary>
public sealed class MemoryTests(ITestOutputHelper output)
{
    /// <summary>Resident set size in bytes, from /proc/self/statm (second field, in pages).</summary>
    private static long ResidentBytes()
    {
        var fields = File.ReadAllText("/proc/self/statm").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    [Fact]
    public void TenThousandTrainingStepsKeepResidentMemoryAndLiveTensorsFlat()
    {
        const int Steps = 10_000, WarmUp = 500;
        using var budget = TorchRuntime.ThreadBudget(1); // toy tensors: one thread is fastest and spares the shared cores
        using var g = new Generator(3);
        using var conv = nn.Conv2d(1, 4, 3, padding: 1);
        using var fc = nn.Linear(4, 2);
        using var opt = torch.optim.SGD(conv.parameters().Concat(fc.parameters()), 0.05, momentum: 0.9);
        using var labels = torch.tensor(new long[] { 0, 1, 0, 1, 0, 1, 0, 1 });
        using var x = torch.randn([8, 1, 6, 6], generator: g) + labels.view(8, 1, 1, 1).to(ScalarType.Float32); // class 1 is brighter

        double Step()
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var logits = fc.call(nn.functional.relu(conv.call(x)).mean([2, 3]));
            var loss = nn.functional.cross_entropy(logits, labels);
            loss.backward();
            opt.step();
            return loss.item<float>();
        }

        var first = Step();
        for (int i = 1; i < WarmUp; i++) Step(); // allocator caches, optimizer state, JIT
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var rssBefore = ResidentBytes();
        var liveBefore = TestConfigs.LiveTensors;
        var totalBefore = torch.Tensor.TotalCount;
        long rssMiddle = 0;
        double last = 0;
        for (int i = 0; i < Steps; i++)
        {
            last = Step();
            if (i == Steps / 2) rssMiddle = ResidentBytes();
        }
        var liveAfter = TestConfigs.LiveTensors;
        var totalAfter = torch.Tensor.TotalCount;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var rssAfter = ResidentBytes();
        const double MB = 1 << 20;
        output.WriteLine($"RSS before {rssBefore / MB:F1} MB, half-way {rssMiddle / MB:F1} MB, after {rssAfter / MB:F1} MB: growth {(rssAfter - rssBefore) / MB:F2} MB over {Steps} steps");
        output.WriteLine($"live tensors of this thread {liveBefore} -> {liveAfter}; process-wide {totalBefore} -> {totalAfter}; loss {first:F4} -> {last:F4}");

        Assert.True(rssAfter - rssBefore < 30 * MB, $"RSS grew by {(rssAfter - rssBefore) / MB:F1} MB over {Steps} steps");
        Assert.Equal(liveBefore, liveAfter); // exact: each step's scope frees every handle the step made
        Assert.True(totalAfter <= totalBefore, $"process-wide live tensors rose from {totalBefore} to {totalAfter}");
        Assert.True(last < 0.5 * first, $"the toy problem was not learned: loss {first:F4} -> {last:F4}"); // the steps did real work
    }

    [Fact]
    public void ScopeFreesEverythingButMovedTensors()
    {
        var baseline = TestConfigs.LiveTensors;
        Tensor kept, detached;
        var inside = new List<Tensor>();
        using (var outer = torch.NewDisposeScope())
        {
            using (var inner = torch.NewDisposeScope())
            {
                var a = torch.ones(3);
                inside.Add(a);
                inside.Add(a * 2);
                inside.Add(a.sum());
                inside.AddRange(torch.arange(4).chunk(2));
                kept = inner.MoveToOuter(a + 1);
                detached = (a - 1).DetachFromDisposeScope();
            }
            Assert.All(inside, t => Assert.True(t.IsInvalid));
            Assert.False(kept.IsInvalid);
            Assert.Equal(baseline + 2, TestConfigs.LiveTensors);
        }
        Assert.True(kept.IsInvalid);
        Assert.False(detached.IsInvalid);
        Assert.Equal(new float[] { 0, 0, 0 }, detached.data<float>().ToArray());
        detached.Dispose();
        Assert.Equal(baseline, TestConfigs.LiveTensors);
    }
}
