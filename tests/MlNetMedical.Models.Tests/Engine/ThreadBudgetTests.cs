using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary><see cref="TorchRuntime.ThreadBudget"/>: per-thread intra-op thread counts for parallel trials.</summary>
public sealed class ThreadBudgetTests
{
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
    public void BudgetIsPerThreadAndRestored()
    {
        var processDefault = OnNewThread(torch.get_num_threads);
        Assert.Equal(TorchRuntime.DefaultThreads, processDefault);
        var (inside, after) = OnNewThread(() =>
        {
            int n;
            using (TorchRuntime.ThreadBudget(1))
            {
                // A conv and its backward inside the budget: they run, and the thread reports one thread.
                using var scope = torch.NewDisposeScope();
                var w = torch.randn([4, 2, 3, 3]).requires_grad_();
                nn.functional.conv2d(torch.randn([2, 2, 16, 16]), w, padding: [1, 1]).sum().backward();
                Assert.NotNull(w.grad);
                n = torch.get_num_threads();
                Assert.Equal(n, TorchRuntime.CurrentThreads);
            }
            return (n, torch.get_num_threads());
        });
        Assert.Equal(1, inside);
        Assert.Equal(processDefault, after);
        // Another thread, and this one, are untouched by the budget above.
        Assert.Equal(processDefault, OnNewThread(torch.get_num_threads));
        Assert.Equal(processDefault, torch.get_num_threads());
    }

    [Fact]
    public void ConcurrentThreadsKeepTheirOwnBudgets()
    {
        var budgets = new[] { 1, 2, 3 };
        var seen = new int[budgets.Length];
        var afterOthersChanged = new int[budgets.Length];
        var errors = new Exception?[budgets.Length];
        using var set = new Barrier(budgets.Length);
        using var read = new Barrier(budgets.Length);
        var threads = budgets.Select((b, i) => new Thread(() =>
        {
            try
            {
                using var budget = TorchRuntime.ThreadBudget(b);
                set.SignalAndWait(); // every budget is set before any thread reads its own
                seen[i] = torch.get_num_threads();
                using (torch.NewDisposeScope()) torch.randn([64, 64]).matmul(torch.randn([64, 64])).sum().item<float>();
                read.SignalAndWait();
                afterOthersChanged[i] = torch.get_num_threads();
            }
            catch (Exception e) { errors[i] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(errors, e => Assert.Null(e));
        Assert.Equal(budgets, seen);
        Assert.Equal(budgets, afterOthersChanged);
    }

    [Fact]
    public void BudgetsNestAndRejectBadCountsAndForeignDisposal()
    {
        var (outer, inner, restored, final, start) = OnNewThread(() =>
        {
            var before = torch.get_num_threads();
            var a = TorchRuntime.ThreadBudget(3);
            var o = torch.get_num_threads();
            int i;
            using (TorchRuntime.ThreadBudget(1)) i = torch.get_num_threads();
            var r = torch.get_num_threads();
            a.Dispose();
            a.Dispose(); // idempotent
            return (o, i, r, torch.get_num_threads(), before);
        });
        Assert.Equal((3, 1, 3, start), (outer, inner, restored, final));
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.ThreadBudget(0));
        var scope = TorchRuntime.ThreadBudget(torch.get_num_threads());
        var error = OnNewThread(() => Record.Exception(scope.Dispose));
        Assert.IsType<InvalidOperationException>(error);
        scope.Dispose();
    }

    [Fact]
    public void OpsFromManyThreadsAtOnceAreExact()
    {
        // Each thread runs its own small autograd computation in its own scopes, under its own budget.
        const int Threads = 4, Iterations = 100;
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var shared = torch.arange(0, 6, 1, ScalarType.Float64).reshape(2, 3);
        var threads = Enumerable.Range(0, Threads).Select(id => new Thread(() =>
        {
            try
            {
                using var budget = TorchRuntime.ThreadBudget(1 + id % 2);
                for (var i = 0; i < Iterations; i++)
                {
                    using var scope = torch.NewDisposeScope();
                    var w = torch.full([3], (double)id, ScalarType.Float64).requires_grad_();
                    var y = (shared.matmul(w) * shared.sum()).sum(); // 15 · id · (0+1+...+5) = 225 id
                    y.backward();
                    var grad = w.grad!.data<double>().ToArray(); // 15 · column sums = 15 · [3, 5, 7]
                    if (y.item<double>() != 225.0 * id || grad[0] != 45 || grad[1] != 75 || grad[2] != 105)
                        errors.Add($"thread {id} iteration {i}: y={y.item<double>()} grad=[{string.Join(",", grad)}]");
                    using (torch.no_grad())
                        if (torch.is_grad_enabled()) errors.Add($"thread {id}: no_grad did not apply");
                }
            }
            catch (Exception e) { errors.Add($"thread {id}: {e}"); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(errors);
    }
}
