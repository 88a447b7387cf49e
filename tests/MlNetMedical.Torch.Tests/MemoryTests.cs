using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Torch.Tests;

[Collection(nameof(GlobalStateCollection))] // RSS is process-wide: measure while nothing else runs
public sealed class MemoryTests(ITestOutputHelper output)
{
    private static long RssKilobytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim());
        throw new InvalidOperationException("VmRSS not found in /proc/self/status");
    }

    [Fact]
    public void TenThousandTrainingStepsDoNotGrowRss()
    {
        // Logistic regression on a fixed toy problem: forward, backward, in-place SGD under NoGrad, one scope per step.
        const int Steps = 10_000;
        using var x = Tensor.FromArray(new float[] { 0, 0, 0, 1, 1, 0, 1, 1, 0.5f, 0.2f, 0.9f, 0.7f, 0.1f, 0.8f, 0.3f, 0.3f }, 8, 2);
        using var y = Tensor.FromArray(new float[] { 0, 0, 0, 1, 0, 1, 0, 0 }, 8, 1);
        using var w = Tensor.Zeros([2, 1], requiresGrad: true);
        using var b = Tensor.Zeros([1], requiresGrad: true);

        void Step()
        {
            using var scope = Torch.NewDisposeScope();
            var p = (x.Matmul(w) + b).Sigmoid().Clamp(1e-6, 1 - 1e-6);
            var loss = -(y * p.Log() + (1 - y) * (1 - p).Log()).Mean();
            loss.Backward();
            using (Torch.NoGrad())
            {
                w.Sub_(w.Grad!, alpha: 0.5);
                b.Sub_(b.Grad!, alpha: 0.5);
            }
            w.ZeroGrad();
            b.ZeroGrad();
        }

        for (var i = 0; i < 500; i++) Step(); // warm up allocator caches and JIT
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = RssKilobytes();
        var handlesBefore = Torch.LiveTensorCount;
        var sw = Stopwatch.StartNew();
        long middle = 0;
        for (var i = 0; i < Steps; i++)
        {
            Step();
            if (i == Steps / 2) middle = RssKilobytes();
        }
        sw.Stop();
        var handlesAfter = Torch.LiveTensorCount;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var after = RssKilobytes();
        output.WriteLine($"RSS before {before / 1024.0:F1} MB, half-way {middle / 1024.0:F1} MB, after {after / 1024.0:F1} MB: " +
                         $"growth {(after - before) / 1024.0:F1} MB over {Steps} steps ({sw.Elapsed.TotalMilliseconds * 1000 / Steps:F1} us/step); " +
                         $"live handles {handlesBefore} -> {handlesAfter}");

        Assert.True(after - before < 50 * 1024, $"RSS grew by {(after - before) / 1024.0:F1} MB over {Steps} steps");
        // Exact: every handle a step creates is freed by its scope (finalizers of other tests may only lower the count).
        Assert.True(handlesAfter <= handlesBefore, $"live tensor handles rose from {handlesBefore} to {handlesAfter}");
        // And it learned: the two positives (x = [1, 1] and [0.9, 0.7]) score higher than the rest.
        using var scores = x.Matmul(w) + b;
        var s = scores.ToArray<float>();
        Assert.True(s[3] > s[0] && s[5] > s[0]);
    }

    [Fact]
    public void ScopeFreesEverythingButMovedTensors()
    {
        Tensor kept, detached;
        var inside = new List<Tensor>();
        var baseline = Torch.LiveTensorCount;
        using (var outer = Torch.NewDisposeScope())
        {
            using (var inner = Torch.NewDisposeScope())
            {
                var a = Tensor.Ones([3]);
                inside.Add(a);
                inside.Add(a * 2);
                inside.Add(a.Sum());
                inside.Add(a.Max(0).Indices);
                inside.AddRange(Tensor.Arange(4).Chunk(2));
                kept = inner.MoveToOuter(a + 1);
                detached = inner.Detach(a - 1);
                Assert.Equal(inside.Count + 2, inner.Count);
            }
            Assert.All(inside, t => Assert.True(t.IsClosed));
            Assert.False(kept.IsClosed);
            Assert.True(Torch.LiveTensorCount <= baseline + 2, "only kept and detached should remain");
            Assert.Equal(1, outer.Count);
        }
        Assert.True(kept.IsClosed);
        Assert.False(detached.IsClosed);
        Assert.Equal(new float[] { 0, 0, 0 }, detached.ToArray<float>());
        detached.Dispose();
    }

    [Fact]
    public void DisposedTensorsThrowObjectDisposed()
    {
        var t = Tensor.Ones([2]);
        using var other = Tensor.Ones([2]);
        t.Dispose();
        t.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => t.Sum());
        Assert.Throws<ObjectDisposedException>(() => t + other);
        Assert.Throws<ObjectDisposedException>(() => other.Add_(t));
        Assert.Throws<ObjectDisposedException>(() => Tensor.Cat([other, t]));
        Assert.Throws<ObjectDisposedException>(() => other.Backward(t));
        Assert.Throws<ObjectDisposedException>(() => t.ToArray<float>());
        Assert.Equal("Tensor(disposed)", t.ToString());
    }
}
