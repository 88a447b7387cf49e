using MlNetMedical.Torch.Interop;
using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch;

// Creation: filled, random and range tensors. Shapes are spans, so `Tensor.Zeros([2, 3])` allocates nothing extra.
public sealed partial class Tensor
{
    private static unsafe Tensor Factory(FactoryOp op, ReadOnlySpan<long> shape, DType dtype, Device? device, bool requiresGrad,
                                         double a = 0, bool aIntegral = false, double b = 0)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return FromStatus(mlnm_factory((int)op, s, shape.Length, (int)dtype, (int)d.Type, d.Index, requiresGrad ? 1 : 0, a, aIntegral ? 1 : 0, b, out var r), r);
    }

    public static Tensor Zeros(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Factory(FactoryOp.Zeros, shape, dtype, device, requiresGrad);

    public static Tensor Ones(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Factory(FactoryOp.Ones, shape, dtype, device, requiresGrad);

    /// <summary>A tensor whose elements are not initialised.</summary>
    public static Tensor Empty(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Factory(FactoryOp.Empty, shape, dtype, device, requiresGrad);

    public static Tensor Full(ReadOnlySpan<long> shape, double value, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Factory(FactoryOp.Full, shape, dtype, device, requiresGrad, value);

    public static Tensor Full(ReadOnlySpan<long> shape, long value, DType dtype, Device? device = null, bool requiresGrad = false) =>
        Factory(FactoryOp.Full, shape, dtype, device, requiresGrad, value, aIntegral: true);

    /// <summary>Uniform samples in [0, 1).</summary>
    public static Tensor Rand(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Factory(FactoryOp.Rand, shape, dtype, device, requiresGrad);

    /// <summary>Standard normal samples.</summary>
    public static Tensor Randn(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Factory(FactoryOp.Randn, shape, dtype, device, requiresGrad);

    /// <summary>Uniform integers in [low, high).</summary>
    public static Tensor RandInt(long low, long high, ReadOnlySpan<long> shape, DType dtype = DType.Int64, Device? device = null) =>
        Factory(FactoryOp.RandInt, shape, dtype, device, false, low, aIntegral: true, high);

    /// <summary>start, start + step, ... up to but excluding end.</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.Cpu;
        return FromStatus(mlnm_arange(start, end, step, (int)dtype, (int)d.Type, d.Index, requiresGrad ? 1 : 0, out var r), r);
    }

    /// <summary>0, 1, ..., end - 1 as int64.</summary>
    public static Tensor Arange(long end, Device? device = null) => Arange(0, end, 1, DType.Int64, device);

    /// <summary><paramref name="steps"/> evenly spaced values from start to end, both included.</summary>
    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.Cpu;
        return FromStatus(mlnm_linspace(start, end, steps, (int)dtype, (int)d.Type, d.Index, requiresGrad ? 1 : 0, out var r), r);
    }

    /// <summary>An n x m matrix (m = n by default) with ones on the diagonal.</summary>
    public static Tensor Eye(long n, long m = -1, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.Cpu;
        return FromStatus(mlnm_eye(n, m < 0 ? n : m, (int)dtype, (int)d.Type, d.Index, requiresGrad ? 1 : 0, out var r), r);
    }

    /// <summary>A 0-dimensional tensor holding one value.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Full([], value, dtype, device, requiresGrad);

    public static Tensor Scalar(long value, DType dtype, Device? device = null) => Full([], value, dtype, device);

    public Tensor ZerosLike() => Unary(UnaryOp.ZerosLike);
    public Tensor OnesLike() => Unary(UnaryOp.OnesLike);
    public Tensor RandLike() => Unary(UnaryOp.RandLike);
    public Tensor RandnLike() => Unary(UnaryOp.RandnLike);

    /// <summary>Converts to another dtype (a no-op returning an alias when it already has it, unless <paramref name="copy"/>).</summary>
    public Tensor To(DType dtype, bool copy = false) => FromStatus(mlnm_to(this, (int)dtype, -1, -1, copy ? 1 : 0, out var r), r);

    public Tensor To(Device device, bool copy = false) => FromStatus(mlnm_to(this, -1, (int)device.Type, device.Index, copy ? 1 : 0, out var r), r);

    public Tensor To(DType dtype, Device device, bool copy = false) =>
        FromStatus(mlnm_to(this, (int)dtype, (int)device.Type, device.Index, copy ? 1 : 0, out var r), r);

    public Tensor Cpu() => To(Device.Cpu);

    /// <summary>The only element, as <typeparamref name="T"/>, which must match the dtype exactly.</summary>
    public unsafe T Item<T>() where T : unmanaged
    {
        T value;
        Check(mlnm_item(this, (int)DTypeExtensions.Of<T>(), &value, sizeof(T)));
        return value;
    }

    /// <summary>The only element converted to double, whatever the dtype (e.g. for logging a loss).</summary>
    public double ToDouble()
    {
        Check(mlnm_item_double(this, out var v));
        return v;
    }
}
