using Xunit;

namespace MlNetMedical.Torch.Tests;

public sealed class ErrorTests : IDisposable
{
    private readonly DisposeScope scope = Torch.NewDisposeScope();
    public void Dispose() => scope.Dispose();

    [Fact]
    public void ShapeMismatchCarriesLibtorchExplanation()
    {
        var e = Assert.Throws<TorchException>(() => Tensor.Zeros([2, 3]).Matmul(Tensor.Zeros([2, 3])));
        Assert.Contains("cannot be multiplied", e.Message);
        e = Assert.Throws<TorchException>(() => Tensor.Zeros([6]).View(4, -1));
        Assert.Contains("invalid for input of size 6", e.Message);
        e = Assert.Throws<TorchException>(() => Tensor.Cat([Tensor.Zeros([2, 3]), Tensor.Zeros([2, 4])]));
        Assert.Contains("Sizes of tensors must match", e.Message);
    }

    [Fact]
    public void WrongDtypeIsClear()
    {
        var t = Tensor.Zeros([2]);
        var e = Assert.Throws<ArgumentException>(() => t.CopyTo<double>(new double[2]));
        Assert.Contains("Float32", e.Message);
        Assert.Contains("Double", e.Message);
        var item = Assert.Throws<TorchException>(() => Tensor.Zeros([1]).Item<long>());
        Assert.Contains("dtype Float but Long was requested", item.Message);
        var many = Assert.Throws<TorchException>(() => Tensor.Zeros([2]).Item<float>());
        Assert.Contains("one element", many.Message);
        Assert.Throws<NotSupportedException>(() => Tensor.FromArray(new decimal[] { 1 }));
        var index = Assert.Throws<TorchException>(() => Tensor.Zeros([3]).IndexSelect(0, Tensor.FromArray(new float[] { 0 })));
        Assert.Contains("Expected dtype int32 or int64", index.Message);
    }

    [Fact]
    public void WrongDeviceIsClear()
    {
        var e = Assert.Throws<FormatException>(() => Device.Parse("gpu0"));
        Assert.Contains("cpu, cuda or cuda:N", e.Message);
        Assert.Equal(Device.Cuda(1), Device.Parse("cuda:1"));
        if (Torch.CudaAvailable) return; // the rest is about CPU-only builds
        var z = Assert.Throws<TorchException>(() => Tensor.Zeros([1], device: Device.Cuda()));
        Assert.Contains("cuda was requested", z.Message);
        var to = Assert.Throws<TorchException>(() => Tensor.Zeros([1]).To(Device.Cuda(0)));
        Assert.Contains("cuda was requested", to.Message);
    }

    [Fact]
    public void InvalidArgumentsDoNotCrash()
    {
        Assert.Throws<TorchException>(() => Tensor.Zeros([-1]));
        Assert.Throws<TorchException>(() => Tensor.Zeros([2]).Sum(5));
        Assert.Throws<TorchException>(() => Tensor.Zeros([2]).Transpose(0, 3));
        Assert.Throws<TorchException>(() => Tensor.Zeros([2])[5]);
        Assert.Throws<TorchException>(() => Tensor.Zeros([2]).Clamp());
        Assert.Throws<TorchException>(() => Tensor.Zeros([2, 2]).Split([1, 2]));
        Assert.Throws<TorchException>(() => Tensor.Zeros([2]).Bmm(Tensor.Zeros([2])));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros([2]).Chunk(0));
        Assert.Throws<ArgumentNullException>(() => Tensor.Cat([Tensor.Zeros([1]), null!]));
    }
}

public sealed class RuntimeTests
{
    [Fact]
    public void BlasIsDetectedFromTheLoadedLibrary()
    {
        var blas = Torch.Blas;
        Assert.NotEqual(BlasKind.Unknown, blas.Kind);
        Assert.StartsWith("/", blas.Path);
        Assert.True(File.Exists(blas.Path), blas.Path);
        // This repository's setup installs OpenBLAS; the reference BLAS here would be a setup bug.
        Assert.Equal(BlasKind.OpenBlas, blas.Kind);
        Assert.Contains("OpenBLAS", blas.Config);
        Assert.Null(blas.Warning);
    }

    [Fact]
    public void CudaReflectsTheLinkedLibtorch()
    {
        Assert.Equal(Torch.CudaAvailable, Torch.CudaDeviceCount > 0);
        Assert.True(Torch.CudaDeviceCount >= 0);
    }
}
