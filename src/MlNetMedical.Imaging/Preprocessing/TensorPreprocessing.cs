using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;
using Tensor = MlNetMedical.Torch.Tensor;

namespace MlNetMedical.Imaging.Preprocessing;

/// <summary>
/// The preprocessing steps that make sense on batched tensors (N, C, [D,] H, W) on the training device,
/// with the same conventions as the volume transforms: linear resize for images and nearest for labels
/// (half-voxel mapping, as <see cref="Resample"/> with a shape), centred pad/crop, per-sample z-score,
/// CT window, one-hot.
/// </summary>
public static class TensorPreprocessing
{
    private static long[] SpatialDims(Tensor t, string name)
    {
        int n = (int)t.Dim - 2;
        if (n is < 1 or > 3) throw new ArgumentException($"{name} must be (N, C, spatial...) with 1–3 spatial dims, got [{string.Join(", ", t.Shape)}]", name);
        return Enumerable.Range(2, n).Select(i => (long)i).ToArray();
    }

    /// <summary>(x − mean) / std per sample and channel over the spatial dims (population std; std below 1e-8 counts as 1).</summary>
    public static Tensor ZScore(Tensor images)
    {
        var dims = SpatialDims(images, nameof(images));
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var mean = images.Mean(dims, keepDim: true);
        var std = images.Std(dims, unbiased: false, keepDim: true);
        var safe = std.Lt(1e-8).To(images.DType).Add(std); // adds 1 where std is ~0
        return scope.MoveToOuter(images.Sub(mean).Div(safe));
    }

    /// <summary>Clamps HU to [center − width/2, center + width/2] and maps that to [0, 1].</summary>
    public static Tensor CtWindow(Tensor images, double center = 40, double width = 400)
    {
        if (width <= 0) throw new ArgumentException($"CT window width must be positive, got {width}", nameof(width));
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        return scope.MoveToOuter(images.Clamp(center - width / 2, center + width / 2).Sub(center - width / 2).Div(width));
    }

    /// <summary>Resizes the spatial dims to <paramref name="size"/>: linear for images, nearest for labels (dtype kept).</summary>
    public static Tensor Resize(Tensor input, long[] size, bool isLabel = false)
    {
        SpatialDims(input, nameof(input));
        if (!isLabel) return Functional.Interpolate(input, size: size, mode: InterpolationMode.Linear, alignCorners: false);
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var dtype = input.DType;
        return scope.MoveToOuter(Functional.Interpolate(input.To(DType.Float32), size: size, mode: InterpolationMode.Nearest).To(dtype));
    }

    /// <summary>Centred crop and/or pad (with <paramref name="padValue"/>) of the spatial dims to <paramref name="size"/>, like <see cref="PadOrCrop"/>.</summary>
    public static Tensor PadOrCrop(Tensor input, long[] size, double padValue = 0)
    {
        var dims = SpatialDims(input, nameof(input));
        if (size.Length != dims.Length) throw new ArgumentException($"size has {size.Length} values for {dims.Length} spatial dims", nameof(size));
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var x = input;
        for (int a = 0; a < dims.Length; a++)
        {
            long d = dims[a], have = x.Shape[d], want = size[a];
            if (want < 1) throw new ArgumentException($"target size {want} is not positive", nameof(size));
            if (have > want) x = x.Narrow(d, (have - want) / 2, want);
            else if (have < want)
            {
                long before = (want - have) / 2, after = want - have - before;
                var parts = new List<Tensor>();
                var shape = x.Shape;
                if (before > 0) { shape[d] = before; parts.Add(Tensor.Full(shape, padValue, x.DType, x.Device)); }
                parts.Add(x);
                if (after > 0) { shape = x.Shape; shape[d] = after; parts.Add(Tensor.Full(shape, padValue, x.DType, x.Device)); }
                x = Tensor.Cat(parts.ToArray(), d);
            }
        }
        return scope.MoveToOuter(ReferenceEquals(x, input) ? input.Clone() : x.Contiguous());
    }

    /// <summary>Label maps (N, 1, ...) of class indices to (N, K, ...) float one-hot; values outside 0..K−1 are an error.</summary>
    public static Tensor OneHot(Tensor labels, int numClasses)
    {
        SpatialDims(labels, nameof(labels));
        if (labels.Shape[1] != 1) throw new ArgumentException($"labels must have one channel, got [{string.Join(", ", labels.Shape)}]", nameof(labels));
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var index = labels.To(DType.Int64);
        if (index.Lt(0).Any().Item<bool>() || index.Ge(numClasses).Any().Item<bool>())
            throw new ArgumentException($"label values must lie in 0..{numClasses - 1}", nameof(labels));
        var shape = labels.Shape;
        shape[1] = numClasses;
        var result = Tensor.Zeros(shape, DType.Float32, labels.Device).Scatter(1, index, Tensor.Ones(labels.Shape, DType.Float32, labels.Device));
        return scope.MoveToOuter(result);
    }
}
