using System.Runtime;
using Xunit;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary>
/// No collection happens inside a section, overlapping sections on two threads share one no-GC region that lasts until the
/// last one ends, and a section that outgrows the budget ends in an ordinary collection, never an exception.
/// (This assembly runs its tests one at a time, so no other section is open meanwhile.)
/// </summary>
public sealed class GarbageCollectionPauseTests
{
    private static object[] Allocate(long bytes)
    {
        var chunks = new object[bytes / 8192];
        for (var i = 0; i < chunks.Length; i++) chunks[i] = new byte[8192 - 24];
        return chunks;
    }

    [Fact]
    public void NoCollectionInsideASection()
    {
        int before, after;
        using (GarbageCollectionPause.Enter())
        {
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            before = GC.CollectionCount(0);
            GC.KeepAlive(Allocate(64L << 20)); // far more than a gen0 budget, far less than the pause's
            after = GC.CollectionCount(0);
        }
        Assert.Equal(before, after);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void OverlappingSectionsOnTwoThreadsEndWithTheLastOne()
    {
        var first = GarbageCollectionPause.Enter();
        using var secondEntered = new ManualResetEventSlim();
        using var firstLeft = new ManualResetEventSlim();
        var modeAfterFirstLeft = GCLatencyMode.Batch;
        var other = new Thread(() =>
        {
            using (GarbageCollectionPause.Enter())
            {
                secondEntered.Set();
                firstLeft.Wait();
                modeAfterFirstLeft = GCSettings.LatencyMode;
            }
        });
        other.Start();
        secondEntered.Wait();
        first.Dispose();
        firstLeft.Set();
        other.Join();
        Assert.Equal(GCLatencyMode.NoGCRegion, modeAfterFirstLeft);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void ASectionThatOutgrowsTheBudgetEndsQuietly()
    {
        var before = GC.CollectionCount(0);
        using (GarbageCollectionPause.Enter())
            for (var i = 0; i < 3; i++) GC.KeepAlive(Allocate(GarbageCollectionPause.BudgetBytes / 2));
        Assert.True(GC.CollectionCount(0) > before, "the runtime collected once the budget ran out");
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        using (GarbageCollectionPause.Enter()) Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void DefaultSectionHoldsNothing()
    {
        using (default(GarbageCollectionPause.Section)) Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }
}
