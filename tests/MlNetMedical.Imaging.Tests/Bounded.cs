namespace MlNetMedical.Imaging.Tests;

/// <summary>Runs a read with a time limit and counts what it allocated on its own thread.</summary>
internal static class Bounded
{
    public sealed record Outcome(object? Result, Exception? Error, long Allocated, bool TimedOut);

    public static Outcome Run(Func<object?> read, TimeSpan limit)
    {
        long allocated = -1;
        var task = Task.Run(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { return read(); }
            finally { allocated = GC.GetAllocatedBytesForCurrentThread() - before; }
        });
        try
        {
            if (!task.Wait(limit)) return new Outcome(null, null, -1, true);
            return new Outcome(task.Result, null, allocated, false);
        }
        catch (AggregateException e) { return new Outcome(null, e.InnerException, allocated, false); }
    }
}
