using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch.Nn;

/// <summary>How a loss combines its per-element values.</summary>
public enum Reduction { None = 0, Mean = 1, Sum = 2 }

/// <summary>Upsampling and grid-sampling interpolation.</summary>
public enum InterpolationMode { Nearest, Linear, Bicubic }

/// <summary>Values read outside the input by <see cref="Functional.GridSample"/>.</summary>
public enum GridPadding { Zeros = 0, Border = 1, Reflection = 2 }

/// <summary>
/// Stateless forms of the layers (<c>torch.nn.functional</c>). Each calls one libtorch op, so forward and
/// backward are libtorch's. Spatial ops take per-dimension arrays whose length is the number of spatial dims (1–3).
/// </summary>
public static unsafe class Functional
{
    internal static IntPtr Handle(Tensor? t)
    {
        if (t is null) return IntPtr.Zero;
        ObjectDisposedException.ThrowIf(t.IsClosed, t);
        return t.DangerousGetHandle();
    }

    internal static long[] Expand(long[] values, int spatialDims, string name)
    {
        if (spatialDims is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(spatialDims), spatialDims, "spatial dims must be 1, 2 or 3");
        if (values.Length == 1) return Enumerable.Repeat(values[0], spatialDims).ToArray();
        if (values.Length != spatialDims)
            throw new ArgumentException($"{name} has {values.Length} entries; expected 1 or {spatialDims} (one per spatial dim)", name);
        return values;
    }

    private static int SpatialDims(Tensor input, string op)
    {
        var d = (int)input.Dim - 2;
        if (d is < 1 or > 3) throw new ArgumentException($"{op} expects (N, C, spatial...) with 1–3 spatial dims, got a {input.Dim}-d tensor", nameof(input));
        return d;
    }

    public static Tensor Conv(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null, long[]? padding = null, long[]? dilation = null, long groups = 1) =>
        Convolution(input, weight, bias, stride, padding, dilation, groups, transposed: false, outputPadding: null);

    public static Tensor ConvTranspose(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null, long[]? padding = null, long[]? outputPadding = null, long groups = 1, long[]? dilation = null) =>
        Convolution(input, weight, bias, stride, padding, dilation, groups, transposed: true, outputPadding);

    private static Tensor Convolution(Tensor input, Tensor weight, Tensor? bias, long[]? stride, long[]? padding, long[]? dilation, long groups, bool transposed, long[]? outputPadding)
    {
        var n = (int)weight.Dim - 2;
        var s = Expand(stride ?? [1], n, nameof(stride));
        var p = Expand(padding ?? [0], n, nameof(padding));
        var d = Expand(dilation ?? [1], n, nameof(dilation));
        var o = Expand(outputPadding ?? [0], n, nameof(outputPadding));
        fixed (long* ps = s, pp = p, pd = d, po = o)
        {
            var r = Tensor.FromStatus(mlnm_nn_conv(input, weight, Handle(bias), ps, pp, pd, n, transposed ? 1 : 0, po, groups, out var h), h);
            GC.KeepAlive(bias);
            return r;
        }
    }

    public static Tensor MaxPool(Tensor input, long[] kernelSize, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceilMode = false)
    {
        var n = SpatialDims(input, nameof(MaxPool));
        var k = Expand(kernelSize, n, nameof(kernelSize));
        var s = Expand(stride ?? k, n, nameof(stride));
        var p = Expand(padding ?? [0], n, nameof(padding));
        var d = Expand(dilation ?? [1], n, nameof(dilation));
        fixed (long* pk = k, ps = s, pp = p, pd = d)
            return Tensor.FromStatus(mlnm_nn_max_pool(input, pk, ps, pp, pd, n, ceilMode ? 1 : 0, out var h), h);
    }

    public static Tensor AvgPool(Tensor input, long[] kernelSize, long[]? stride = null, long[]? padding = null, bool ceilMode = false, bool countIncludePad = true)
    {
        var n = SpatialDims(input, nameof(AvgPool));
        var k = Expand(kernelSize, n, nameof(kernelSize));
        var s = Expand(stride ?? k, n, nameof(stride));
        var p = Expand(padding ?? [0], n, nameof(padding));
        fixed (long* pk = k, ps = s, pp = p)
            return Tensor.FromStatus(mlnm_nn_avg_pool(input, pk, ps, pp, n, ceilMode ? 1 : 0, countIncludePad ? 1 : 0, out var h), h);
    }

    public static Tensor AdaptiveAvgPool(Tensor input, long[] outputSize) => AdaptivePool(input, outputSize, max: false);

    public static Tensor AdaptiveMaxPool(Tensor input, long[] outputSize) => AdaptivePool(input, outputSize, max: true);

    private static Tensor AdaptivePool(Tensor input, long[] outputSize, bool max)
    {
        var n = SpatialDims(input, max ? nameof(AdaptiveMaxPool) : nameof(AdaptiveAvgPool));
        var o = Expand(outputSize, n, nameof(outputSize));
        fixed (long* po = o) return Tensor.FromStatus(mlnm_nn_adaptive_pool(input, po, n, max ? 1 : 0, out var h), h);
    }

    /// <summary>Batch normalisation. In training, batch statistics are used and the running ones updated in place.</summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        var r = Tensor.FromStatus(mlnm_nn_batch_norm(input, Handle(weight), Handle(bias), Handle(runningMean), Handle(runningVar), training ? 1 : 0, momentum, eps, out var h), h);
        GC.KeepAlive(weight); GC.KeepAlive(bias); GC.KeepAlive(runningMean); GC.KeepAlive(runningVar);
        return r;
    }

    public static Tensor InstanceNorm(Tensor input, Tensor? runningMean = null, Tensor? runningVar = null, Tensor? weight = null, Tensor? bias = null, bool useInputStats = true, double momentum = 0.1, double eps = 1e-5)
    {
        var r = Tensor.FromStatus(mlnm_nn_instance_norm(input, Handle(weight), Handle(bias), Handle(runningMean), Handle(runningVar), useInputStats ? 1 : 0, momentum, eps, out var h), h);
        GC.KeepAlive(weight); GC.KeepAlive(bias); GC.KeepAlive(runningMean); GC.KeepAlive(runningVar);
        return r;
    }

    public static Tensor GroupNorm(Tensor input, long numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        var r = Tensor.FromStatus(mlnm_nn_group_norm(input, numGroups, Handle(weight), Handle(bias), eps, out var h), h);
        GC.KeepAlive(weight); GC.KeepAlive(bias);
        return r;
    }

    public static Tensor LayerNorm(Tensor input, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        fixed (long* ps = normalizedShape)
        {
            var r = Tensor.FromStatus(mlnm_nn_layer_norm(input, ps, normalizedShape.Length, Handle(weight), Handle(bias), eps, out var h), h);
            GC.KeepAlive(weight); GC.KeepAlive(bias);
            return r;
        }
    }

    /// <summary>Zeroes elements with probability <paramref name="p"/> in training and scales the rest by 1/(1-p).
    /// <paramref name="channelwise"/> drops whole channels (Dropout2d/3d).</summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, bool channelwise = false) =>
        Tensor.FromStatus(mlnm_nn_dropout(input, p, training ? 1 : 0, channelwise ? 1 : 0, out var h), h);

    /// <summary>Resizes the spatial dims to <paramref name="size"/>, or scales them by <paramref name="scaleFactor"/> (give exactly one).</summary>
    public static Tensor Interpolate(Tensor input, long[]? size = null, double[]? scaleFactor = null, InterpolationMode mode = InterpolationMode.Nearest, bool alignCorners = false)
    {
        var n = SpatialDims(input, nameof(Interpolate));
        if ((size == null) == (scaleFactor == null)) throw new ArgumentException("give exactly one of size and scaleFactor");
        if (mode == InterpolationMode.Bicubic) throw new ArgumentException("interpolate supports Nearest and Linear", nameof(mode));
        var s = size == null ? null : Expand(size, n, nameof(size));
        var f = scaleFactor == null ? null : scaleFactor.Length == 1 ? Enumerable.Repeat(scaleFactor[0], n).ToArray() : scaleFactor;
        if (f != null && f.Length != n) throw new ArgumentException($"scaleFactor has {f.Length} entries; expected 1 or {n}", nameof(scaleFactor));
        fixed (long* ps = s)
        fixed (double* pf = f)
            return Tensor.FromStatus(mlnm_nn_upsample(input, ps, pf, n, mode == InterpolationMode.Nearest ? 0 : 1, alignCorners ? 1 : 0, out var h), h);
    }

    /// <summary>y = x Wᵀ + b.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        var r = Tensor.FromStatus(mlnm_nn_linear(input, weight, Handle(bias), out var h), h);
        GC.KeepAlive(bias);
        return r;
    }

    private static Tensor Activation(Tensor input, int kind, double param) =>
        Tensor.FromStatus(mlnm_nn_activation(input, kind, param, out var h), h);

    public static Tensor Relu(Tensor input) => input.Relu();
    public static Tensor LeakyRelu(Tensor input, double negativeSlope = 0.01) => Activation(input, 0, negativeSlope);
    public static Tensor Gelu(Tensor input, bool tanhApproximation = false) => Activation(input, 1, tanhApproximation ? 1 : 0);
    public static Tensor Sigmoid(Tensor input) => input.Sigmoid();
    public static Tensor Tanh(Tensor input) => input.Tanh();
    public static Tensor Softmax(Tensor input, long dim) => input.Softmax(dim);
    public static Tensor LogSoftmax(Tensor input, long dim) => input.LogSoftmax(dim);
    public static Tensor Elu(Tensor input, double alpha = 1) => Activation(input, 2, alpha);
    public static Tensor Silu(Tensor input) => Activation(input, 3, 0);

    public static Tensor Prelu(Tensor input, Tensor weight) => Tensor.FromStatus(mlnm_nn_prelu(input, weight, out var h), h);

    /// <summary>Flattens dims startDim..endDim; unlike <see cref="Tensor.Flatten"/> it keeps the batch dim by default, as nn.Flatten does.</summary>
    public static Tensor Flatten(Tensor input, long startDim = 1, long endDim = -1) => input.Flatten(startDim, endDim);

    /// <summary>Sampling grid for <see cref="GridSample"/> from affine matrices: theta (N, 2, 3) with size (N, C, H, W),
    /// or theta (N, 3, 4) with size (N, C, D, H, W). The grid is (N, H, W, 2) or (N, D, H, W, 3), in [-1, 1] coordinates.</summary>
    public static Tensor AffineGrid(Tensor theta, long[] size, bool alignCorners = false)
    {
        fixed (long* ps = size) return Tensor.FromStatus(mlnm_nn_affine_grid(theta, ps, size.Length, alignCorners ? 1 : 0, out var h), h);
    }

    /// <summary>Samples <paramref name="input"/> (N, C, [D,] H, W) at the grid's [-1, 1] coordinates (2D or 3D).</summary>
    public static Tensor GridSample(Tensor input, Tensor grid, InterpolationMode mode = InterpolationMode.Linear, GridPadding padding = GridPadding.Zeros, bool alignCorners = false)
    {
        int m = mode switch { InterpolationMode.Linear => 0, InterpolationMode.Nearest => 1, _ => 2 };
        return Tensor.FromStatus(mlnm_nn_grid_sample(input, grid, m, (int)padding, alignCorners ? 1 : 0, out var h), h);
    }
}
