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
}
