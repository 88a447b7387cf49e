using System.Runtime.InteropServices;

namespace MlNetMedical.Torch.Interop;

// optim.cpp. Optimizer handles are owned by Optim.Optimizer (freed with mlnm_optim_free).
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial int mlnm_optim_new(int kind, IntPtr* parameters, long* groupSizes, long groupCount, double* options, int optionSlots, out IntPtr result);
    [LibraryImport(Library)] internal static partial void mlnm_optim_free(IntPtr optimizer);
    [LibraryImport(Library)] internal static partial int mlnm_optim_step(IntPtr optimizer);
    [LibraryImport(Library)] internal static partial int mlnm_optim_zero_grad(IntPtr optimizer, int setToNone);
    [LibraryImport(Library)] internal static partial int mlnm_optim_get_lr(IntPtr optimizer, long group, out double lr);
    [LibraryImport(Library)] internal static partial int mlnm_optim_set_lr(IntPtr optimizer, long group, double lr);
    [LibraryImport(Library)] internal static partial int mlnm_optim_save(IntPtr optimizer, out IntPtr data, out long size);
    [LibraryImport(Library)] internal static partial void mlnm_optim_buffer_free(IntPtr data);
    [LibraryImport(Library)] internal static partial int mlnm_optim_load(IntPtr optimizer, byte* data, long size);
    [LibraryImport(Library)] internal static partial int mlnm_optim_clip_grad_norm(IntPtr* parameters, long count, double maxNorm, double normType, int errorIfNonfinite, out double totalNorm);
    [LibraryImport(Library)] internal static partial int mlnm_optim_clip_grad_value(IntPtr* parameters, long count, double clipValue);
}
