using Xunit;

namespace MlNetMedical.Torch.Tests;

public sealed class ThreadingTests
{
    [Fact]
    public void OpsFromManyThreadsAtOnce()
    {
        // Each thread runs its own small autograd computation with its own scopes; results must be exact.
        const int Threads = 8, Iterations = 300;
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var shared = Tensor.Arange(0, 6, 1, DType.Float64).Reshape(2, 3);
        var threads = Enumerable.Range(0, Threads).Select(id => new Thread(() =>
        {
            try
            {
                for (var i = 0; i < Iterations; i++)
                {
                    using var scope = Torch.NewDisposeScope();
                    var w = Tensor.Full([3], (double)id, DType.Float64, requiresGrad: true);
                    var y = (shared.Matmul(w) * shared.Sum()).Sum(); // 15 * id * (0+1+...+5) = 225 id
                    y.Backward();
                    var grad = w.Grad!.ToArray<double>(); // 15 * column sums = 15 * [3, 5, 7]
                    if (y.ToDouble() != 225.0 * id || grad[0] != 45 || grad[1] != 75 || grad[2] != 105)
                        errors.Add($"thread {id} iteration {i}: y={y.ToDouble()} grad=[{string.Join(",", grad)}]");
                    using (Torch.NoGrad())
                        if (Torch.IsGradEnabled) errors.Add($"thread {id}: NoGrad leaked");
                    try { _ = w + Tensor.Zeros([4], DType.Float64); errors.Add("mismatch did not throw"); }
                    catch (TorchException e) when (e.Message.Contains("must match")) { }
                }
            }
            catch (Exception e) { errors.Add($"thread {id}: {e}"); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(errors);
    }

    // Runs body on a fresh OS thread and returns its result (thread budgets are per OS thread).
    private static T OnNewThread<T>(Func<T> body)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() => { try { result = body(); } catch (Exception e) { error = e; } });
        thread.Start();
        thread.Join();
        if (error is not null) throw new AggregateException(error);
        return result;
    }

    [Fact]
    public void ThreadBudgetIsPerThreadAndRestored()
    {
        Assert.True(Torch.SupportsThreadBudget, "Debian's libtorch 1.13 uses the OpenMP backend");
        var processDefault = OnNewThread(() => Torch.CurrentThreadNumThreads);
        Assert.Equal(Torch.NumThreads, processDefault);
        var (inside, insideTeam, after) = OnNewThread(() =>
        {
            int n, team;
            using (Torch.ThreadBudget(1))
            {
                // A conv + backward inside the budget: must run, and report one thread.
                using var scope = Torch.NewDisposeScope();
                var w = Tensor.Randn([4, 2, 3, 3], requiresGrad: true);
                global::MlNetMedical.Torch.Nn.Functional.Conv(Tensor.Randn([2, 2, 16, 16]), w, padding: [1, 1]).Sum().Backward();
                n = Torch.CurrentThreadNumThreads;
                team = Torch.MeasureIntraOpParallelism();
            }
            return (n, team, Torch.CurrentThreadNumThreads);
        });
        Assert.Equal(1, inside);
        Assert.Equal(1, insideTeam);
        Assert.Equal(processDefault, after);
        // Another thread, and this one, are untouched by the budget above.
        Assert.Equal(processDefault, OnNewThread(() => Torch.CurrentThreadNumThreads));
        Assert.Equal(processDefault, Torch.CurrentThreadNumThreads);
    }

    [Fact]
    public void ConcurrentThreadsKeepTheirOwnBudgets()
    {
        var budgets = new[] { 1, 2, 3 };
        var seen = new int[budgets.Length];
        var teams = new int[budgets.Length];
        using var ready = new Barrier(budgets.Length);
        var threads = budgets.Select((b, i) => new Thread(() =>
        {
            using var budget = Torch.ThreadBudget(b);
            ready.SignalAndWait(); // all budgets are set before any thread reads its own
            seen[i] = Torch.CurrentThreadNumThreads;
            teams[i] = Torch.MeasureIntraOpParallelism();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(budgets, seen);
        Assert.Equal(budgets, teams);
    }

    [Fact]
    public void ThreadBudgetScopesNestAndRejectBadCounts()
    {
        var (outer, inner, restored, final, start) = OnNewThread(() =>
        {
            var before = Torch.CurrentThreadNumThreads;
            using var a = Torch.ThreadBudget(3);
            var o = Torch.CurrentThreadNumThreads;
            int i;
            using (Torch.ThreadBudget(1)) i = Torch.CurrentThreadNumThreads;
            var r = Torch.CurrentThreadNumThreads;
            a.Dispose();
            return (o, i, r, Torch.CurrentThreadNumThreads, before);
        });
        Assert.Equal((3, 1, 3, start), (outer, inner, restored, final));
        Assert.Throws<ArgumentOutOfRangeException>(() => Torch.ThreadBudget(0));
        var scope = Torch.ThreadBudget(Torch.CurrentThreadNumThreads);
        var error = OnNewThread(() => Record.Exception(scope.Dispose));
        Assert.IsType<InvalidOperationException>(error);
        scope.Dispose();
    }
}
