using System.Runtime.InteropServices;
using MlNetMedical.Torch.Interop;
using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch;

/// <summary>
/// A libtorch tensor. It owns one native handle and frees it on <see cref="SafeHandle.Dispose()"/>,
/// when its <see cref="DisposeScope"/> ends, or (as a last resort) on finalization.
/// Using a disposed tensor throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed partial class Tensor : SafeHandle
{
    /// <summary>Only for the interop marshaller; tensors come from factory methods and ops.</summary>
    public Tensor() : base(IntPtr.Zero, ownsHandle: true) { }

    internal Tensor(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(handle);
        DisposeScope.Current?.Register(this);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        mlnm_tensor_free(handle);
        return true;
    }

    /// <summary>Turns a status and an out-handle from the shim into a tensor, or throws libtorch's error.</summary>
    internal static Tensor FromStatus(int status, IntPtr result)
    {
        Check(status);
        return new Tensor(result);
    }

    public long Dim
    {
        get { Check(mlnm_tensor_ndim(this, out var n)); return n; }
    }

    public unsafe long[] Shape
    {
        get
        {
            var shape = new long[Dim];
            fixed (long* p = shape) Check(mlnm_tensor_shape(this, p, shape.Length));
            return shape;
        }
    }

    public DType DType
    {
        get { Check(mlnm_tensor_dtype(this, out var d)); return (DType)d; }
    }

    public Device Device
    {
        get { Check(mlnm_tensor_device(this, out var type, out var index)); return new Device((DeviceType)type, index); }
    }

    public long NumElements
    {
        get { long n = 1; foreach (var s in Shape) n *= s; return n; }
    }

    /// <summary>Copies a span into a new tensor of the given shape on <paramref name="device"/> (CPU by default).</summary>
    public static unsafe Tensor FromSpan<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape, Device? device = null) where T : unmanaged
    {
        var dtype = DTypeExtensions.Of<T>();
        var d = device ?? Device.Cpu;
        fixed (T* p = data)
        fixed (long* s = shape)
            return FromStatus(mlnm_tensor_from_data(p, (long)data.Length * sizeof(T), s, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>Copies an array into a new 1-D tensor, or one of <paramref name="shape"/> when given.</summary>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged =>
        FromSpan<T>(data, shape.Length == 0 ? [data.LongLength] : shape);

    /// <summary>Copies the elements, in row-major order, into <paramref name="destination"/>.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        var dtype = DTypeExtensions.Of<T>();
        if (dtype != DType)
            throw new ArgumentException($"tensor has dtype {DType} but the destination holds {typeof(T).Name} ({dtype}); convert with To(DType.{dtype}) first", nameof(destination));
        fixed (T* p = destination) Check(mlnm_tensor_copy_to(this, p, (long)destination.Length * sizeof(T)));
    }

    /// <summary>Copies the elements, in row-major order, into a new array.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[NumElements];
        CopyTo<T>(result);
        return result;
    }

    public static unsafe Tensor Zeros(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return FromStatus(mlnm_zeros(s, shape.Length, (int)dtype, (int)d.Type, d.Index, requiresGrad ? 1 : 0, out var r), r);
    }

    public Tensor Add(Tensor other, double alpha = 1) => FromStatus(mlnm_add(this, other, alpha, out var r), r);

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);

    public override string ToString() =>
        IsClosed ? "Tensor(disposed)" : $"Tensor(shape=[{string.Join(", ", Shape)}], dtype={DType}, device={Device})";
}
