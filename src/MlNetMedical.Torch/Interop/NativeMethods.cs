using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MlNetMedical.Torch.Interop;

/// <summary>
/// P/Invoke declarations for the C ABI in native/. Every function returns a status; call
/// <see cref="Check"/> on it so a failure becomes a <see cref="TorchException"/> with libtorch's message.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "mlnm_torch";

    // Runs before the first native call: find the shim next to this assembly, then apply the thread setting.
    static NativeMethods()
    {
        NativeLibraryLoader.Register();
        Torch.Initialize();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(int status)
    {
        if (status != 0) Throw();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw() => throw new TorchException(LastError());

    internal static string LastError() => Marshal.PtrToStringUTF8(mlnm_last_error()) ?? "";

    [LibraryImport(Library)] internal static partial IntPtr mlnm_last_error();

    // tensor_core.cpp
    [LibraryImport(Library)] internal static partial void mlnm_tensor_free(IntPtr t);
    [LibraryImport(Library)] internal static partial long mlnm_live_tensors();
    [LibraryImport(Library)] internal static partial int mlnm_tensor_ndim(Tensor t, out long ndim);
    [LibraryImport(Library)] internal static partial int mlnm_tensor_shape(Tensor t, long* shape, long capacity, out long ndim);
    [LibraryImport(Library)] internal static partial int mlnm_tensor_numel(Tensor t, out long numel);
    [LibraryImport(Library)] internal static partial int mlnm_tensor_size(Tensor t, long dim, out long size);
    [LibraryImport(Library)] internal static partial int mlnm_tensor_dtype(Tensor t, out int dtype);
    [LibraryImport(Library)] internal static partial int mlnm_tensor_device(Tensor t, out int type, out int index);
    [LibraryImport(Library)] internal static partial int mlnm_tensor_from_data(void* data, long nbytes, long* shape, long ndim, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_tensor_copy_to(Tensor t, void* data, long nbytes);
    [LibraryImport(Library)] internal static partial int mlnm_factory(int op, long* shape, long ndim, int dtype, int deviceType, int deviceIndex, int requiresGrad, double a, int aIntegral, double b, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_arange(double start, double end, double step, int dtype, int deviceType, int deviceIndex, int requiresGrad, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_linspace(double start, double end, long steps, int dtype, int deviceType, int deviceIndex, int requiresGrad, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_eye(long n, long m, int dtype, int deviceType, int deviceIndex, int requiresGrad, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_to(Tensor t, int dtype, int deviceType, int deviceIndex, int copy, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_item(Tensor t, int expectedDtype, void* value, long nbytes);
    [LibraryImport(Library)] internal static partial int mlnm_item_double(Tensor t, out double value);

    // runtime.cpp
    [LibraryImport(Library)] internal static partial int mlnm_set_num_threads(int n);
    [LibraryImport(Library)] internal static partial int mlnm_get_num_threads(out int n);
    [LibraryImport(Library)] internal static partial int mlnm_thread_budget_supported(out int supported);
    [LibraryImport(Library)] internal static partial int mlnm_set_thread_budget(int n, out int previous);
    [LibraryImport(Library)] internal static partial int mlnm_intra_op_team_size(out int size);
    [LibraryImport(Library)] internal static partial int mlnm_version(byte* buffer, int capacity);
    [LibraryImport(Library)] internal static partial int mlnm_manual_seed(ulong seed);
    [LibraryImport(Library)] internal static partial int mlnm_set_deterministic(int enabled, int warnOnly);
    [LibraryImport(Library)] internal static partial int mlnm_get_deterministic(out int enabled);
    [LibraryImport(Library)] internal static partial int mlnm_cuda_info(out int available, out int deviceCount);
    [LibraryImport(Library)] internal static partial int mlnm_blas_info(out int kind, byte* path, int pathCapacity, byte* config, int configCapacity);
}
