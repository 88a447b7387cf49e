using MlNetMedical.Torch;
using Xunit;

namespace MlNetMedical.Torch.Tests;

public class TensorBackboneTests
{
    [Fact]
    public void RoundTripsDataShapeAndDtype()
    {
        using var t = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(DType.Float32, t.DType);
        Assert.Equal(Device.Cpu, t.Device);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, t.ToArray<float>());
    }

    [Fact]
    public void ShapeMismatchCarriesLibtorchExplanation()
    {
        using var a = Tensor.Zeros([2, 3]);
        using var b = Tensor.Zeros([4, 5]);
        var e = Assert.Throws<TorchException>(() => a + b);
        Assert.Contains("must match the size of tensor b", e.Message);
    }

    [Fact]
    public void DisposedTensorThrowsObjectDisposed()
    {
        var t = Tensor.Zeros([1]);
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.Shape);
    }

    [Fact]
    public void DisposeScopeFreesAllButMovedOut()
    {
        Tensor kept, dropped;
        using (var scope = Torch.NewDisposeScope())
        {
            dropped = Tensor.Zeros([3]);
            kept = scope.MoveToOuter(dropped + dropped);
        }
        Assert.True(dropped.IsClosed);
        Assert.False(kept.IsClosed);
        kept.Dispose();
    }

    [Fact]
    public void ThreadCountDefaultsToCores()
    {
        var expected = int.TryParse(Environment.GetEnvironmentVariable(Torch.ThreadsVariable), out var n) ? n : Environment.ProcessorCount;
        Assert.Equal(expected, Torch.NumThreads);
        Assert.StartsWith("1.", Torch.Version);
    }
}
