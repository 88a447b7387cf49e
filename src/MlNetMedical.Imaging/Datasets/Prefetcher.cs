namespace MlNetMedical.Imaging.Datasets;

/// <summary>
/// Loads items ahead of the consumer with <c>workers</c> background tasks and at most <c>capacity</c>
/// finished-or-running loads held, yielding results in input order (so a seeded epoch stays reproducible).
/// An exception in a load is rethrown when the consumer reaches that item.
/// </summary>
public static class Prefetcher
{
    public static IEnumerable<TOut> Prefetch<TIn, TOut>(IEnumerable<TIn> items, Func<TIn, TOut> load, int workers = 2, int capacity = 8, CancellationToken cancel = default)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "need at least one worker");
        if (capacity < workers) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"capacity must be at least workers ({workers})");
        using var slots = new SemaphoreSlim(workers);
        var queue = new Queue<Task<TOut>>();
        using var source = items.GetEnumerator();
        bool more = true;
        void Fill()
        {
            while (more && queue.Count < capacity)
            {
                if (!source.MoveNext()) { more = false; break; }
                var item = source.Current;
                queue.Enqueue(Task.Run(async () =>
                {
                    await slots.WaitAsync(cancel).ConfigureAwait(false);
                    try { return load(item); }
                    finally { slots.Release(); }
                }, cancel));
            }
        }
        try
        {
            Fill();
            while (queue.Count > 0)
            {
                var next = queue.Dequeue();
                Fill();
                yield return next.GetAwaiter().GetResult();
            }
        }
        finally
        {
            // Let running loads finish before the semaphore is disposed.
            foreach (var t in queue) try { t.Wait(); } catch (AggregateException) { } catch (OperationCanceledException) { }
        }
    }
}
