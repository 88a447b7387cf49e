using System.Runtime;

namespace MlNetMedical.Models;

/// <summary>
/// Holds off garbage collection while a batch of TorchSharp calls runs (a training step, a validation pass, an inference
/// batch): <c>using (GarbageCollectionPause.Enter()) { ... }</c>.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns doubles and ints into implicit <c>Scalar</c> objects at many calls, inside its own modules too
/// (<c>BatchNorm</c> adds 1 to its batch counter that way). Nothing references such a temporary once its native handle has
/// been read, so a collection started by another thread (a progress renderer, a parallel test) can finalize it and free
/// the native scalar while libtorch is still reading it. The process then dies with "Unknown scalar type" or a bogus
/// argument error; it killed a 14-minute replication run and CI test processes. With no collection inside the section,
/// no temporary made there is freed before the section ends. The first thread in starts a .NET no-GC region (which
/// collects once, before any of the section's calls), the last one out ends it. A region that outgrows its budget ends
/// early with an ordinary collection, so this narrows the race to almost nothing rather than closing it in every case.
/// </remarks>
public static class GarbageCollectionPause
{
    /// <summary>Bytes the process may allocate inside a region before the runtime collects anyway (and the region ends).</summary>
    public const long BudgetBytes = 256L << 20;

    private static readonly Lock Gate = new();
    private static int holders;
    private static bool ownRegion;

    /// <summary>Starts a section (joining one already running on another thread); dispose the result to end it.</summary>
    public static Section Enter()
    {
        lock (Gate)
        {
            // Only the first holder may start a region: starting one collects, which must not happen while another
            // thread is inside its own section.
            if (holders++ == 0 && GCSettings.LatencyMode != GCLatencyMode.NoGCRegion)
            {
                try
                {
                    ownRegion = GC.TryStartNoGCRegion(BudgetBytes, disallowFullBlockingGC: false);
                }
                catch (InvalidOperationException)
                {
                    ownRegion = false; // a region of someone else's
                }
                catch (ArgumentOutOfRangeException)
                {
                    ownRegion = false; // a heap limit smaller than the budget (GCHeapHardLimit): run unpaused
                }
            }
        }
        return new Section(true);
    }

    private static void Leave()
    {
        lock (Gate)
        {
            if (--holders > 0 || !ownRegion) return;
            ownRegion = false;
            // The region is gone already when its budget ran out (the runtime collected and ended it).
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                try { GC.EndNoGCRegion(); }
                catch (InvalidOperationException) { }
            }
        }
    }

    /// <summary>One holder of the pause; <c>default</c> holds nothing.</summary>
    public readonly struct Section(bool active) : IDisposable
    {
        /// <summary>Ends this holder's part of the pause.</summary>
        public void Dispose()
        {
            if (active) Leave();
        }
    }
}
