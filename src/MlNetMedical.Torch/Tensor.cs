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

    /// <summary>Number of dimensions.</summary>
    public long Dim
    {
        get { Check(mlnm_tensor_ndim(this, out var n)); return n; }
    }

    /// <summary>Sizes of every dimension (one native call).</summary>
    public unsafe long[] Shape
    {
        get
        {
            const int MaxDims = 64; // libtorch's own limit
            var buffer = stackalloc long[MaxDims];
            Check(mlnm_tensor_shape(this, buffer, MaxDims, out var ndim));
            return new ReadOnlySpan<long>(buffer, (int)ndim).ToArray();
        }
    }

    /// <summary>Size of one dimension (negative counts from the end).</summary>
    public long Size(long dim)
    {
        Check(mlnm_tensor_size(this, dim, out var n));
        return n;
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
        get { Check(mlnm_tensor_numel(this, out var n)); return n; }
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

    /// <summary>Shape, dtype and device, plus requires_grad when set, e.g. "Tensor(shape=[2, 3], dtype=Float32, device=cpu)".</summary>
    public override string ToString() =>
        IsClosed ? "Tensor(disposed)"
        : $"Tensor(shape=[{string.Join(", ", Shape)}], dtype={DType}, device={Device}{(RequiresGrad ? ", requires_grad" : "")})";

    /// <summary>Borrows native handles for one call: keeps each tensor alive (and refuses disposed ones) until disposed.</summary>
    internal ref struct HandleLease
    {
        private readonly ReadOnlySpan<Tensor> tensors;
        private int added;

        internal HandleLease(ReadOnlySpan<Tensor> tensors, Span<IntPtr> handles, string paramName)
        {
            this.tensors = tensors;
            added = 0;
            try
            {
                for (var i = 0; i < tensors.Length; i++)
                {
                    var t = tensors[i] ?? throw new ArgumentNullException(paramName, $"{paramName}[{i}] is null");
                    var ok = false;
                    t.DangerousAddRef(ref ok);
                    added = i + 1;
                    handles[i] = t.DangerousGetHandle();
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            for (var i = 0; i < added; i++) tensors[i].DangerousRelease();
            added = 0;
        }
    }

    /// <summary>The native handle of an optional tensor (zero for null), kept alive until <see cref="SafeHandle.DangerousRelease"/>.</summary>
    internal static IntPtr BorrowOptional(Tensor? tensor, ref bool added)
    {
        if (tensor is null) return IntPtr.Zero;
        tensor.DangerousAddRef(ref added);
        return tensor.DangerousGetHandle();
    }
}
