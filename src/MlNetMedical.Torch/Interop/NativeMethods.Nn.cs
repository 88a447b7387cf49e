using System.Runtime.InteropServices;

namespace MlNetMedical.Torch.Interop;

// nn_functional.cpp, nn_params.cpp, loss.cpp. Nullable tensor arguments are passed as IntPtr (Zero = none).
internal static unsafe partial class NativeMethods
{
    // nn_functional.cpp
    [LibraryImport(Library)] internal static partial int mlnm_nn_conv(Tensor input, Tensor weight, IntPtr bias, long* stride, long* padding, long* dilation, long n, int transposed, long* outputPadding, long groups, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_max_pool(Tensor input, long* kernel, long* stride, long* padding, long* dilation, long n, int ceilMode, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_avg_pool(Tensor input, long* kernel, long* stride, long* padding, long n, int ceilMode, int countIncludePad, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_adaptive_pool(Tensor input, long* outputSize, long n, int max, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_batch_norm(Tensor input, IntPtr weight, IntPtr bias, IntPtr runningMean, IntPtr runningVar, int training, double momentum, double eps, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_instance_norm(Tensor input, IntPtr weight, IntPtr bias, IntPtr runningMean, IntPtr runningVar, int useInputStats, double momentum, double eps, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_group_norm(Tensor input, long groups, IntPtr weight, IntPtr bias, double eps, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_layer_norm(Tensor input, long* normalizedShape, long n, IntPtr weight, IntPtr bias, double eps, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_dropout(Tensor input, double p, int training, int feature, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_upsample(Tensor input, long* size, double* scale, long n, int mode, int alignCorners, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_linear(Tensor input, Tensor weight, IntPtr bias, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_activation(Tensor input, int kind, double param, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_prelu(Tensor input, Tensor weight, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_affine_grid(Tensor theta, long* size, long n, int alignCorners, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_nn_grid_sample(Tensor input, Tensor grid, int mode, int paddingMode, int alignCorners, out IntPtr result);

    // nn_params.cpp
    [LibraryImport(Library)] internal static partial int mlnm_nn_move(Tensor t, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial int mlnm_nn_init(Tensor t, int kind, double a, double b, int fanOut, int nonlinearity);

    // loss.cpp
    [LibraryImport(Library)] internal static partial int mlnm_loss_cross_entropy(Tensor input, Tensor target, IntPtr weight, int reduction, long ignoreIndex, double labelSmoothing, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_loss_nll(Tensor input, Tensor target, IntPtr weight, int reduction, long ignoreIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_loss_bce_with_logits(Tensor input, Tensor target, IntPtr weight, IntPtr posWeight, int reduction, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_loss_regression(Tensor input, Tensor target, int kind, double beta, int reduction, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_loss_dice(Tensor input, Tensor target, int activation, int includeBackground, double smooth, int batch, int reduction, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_loss_dice_ce(Tensor input, Tensor target, IntPtr ceWeight, int includeBackground, double smooth, int batch, double lambdaDice, double lambdaCe, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_loss_focal(Tensor input, Tensor target, IntPtr weight, double gamma, double alpha, long ignoreIndex, int reduction, out IntPtr result);
}
