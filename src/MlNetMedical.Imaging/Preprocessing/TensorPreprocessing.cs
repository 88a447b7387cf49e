using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

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
        int n = (int)t.dim() - 2;
        if (n is < 1 or > 3) throw new ArgumentException($"{name} must be (N, C, spatial...) with 1–3 spatial dims, got [{string.Join(", ", t.shape)}]", name);
        return Enumerable.Range(2, n).Select(i => (long)i).ToArray();
    }

    /// <summary>(x − mean) / std per sample and channel over the spatial dims (population std; std below 1e-8 counts as 1).</summary>
    public static Tensor ZScore(Tensor images)
    {
        var dims = SpatialDims(images, nameof(images));
        using var scope = torch.NewDisposeScope();
        var mean = images.mean(dims, keepdim: true);
        var std = images.std(dims, unbiased: false, keepdim: true);
        var safe = std.lt(1e-8).to(images.dtype).add(std); // adds 1 where std is ~0
        return scope.MoveToOuter(images.sub(mean).div(safe));
    }

    /// <summary>Clamps HU to [center − width/2, center + width/2] and maps that to [0, 1].</summary>
    public static Tensor CtWindow(Tensor images, double center = 40, double width = 400)
    {
        if (width <= 0) throw new ArgumentException($"CT window width must be positive, got {width}", nameof(width));
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(images.clamp(center - width / 2, center + width / 2).sub(center - width / 2).div(width));
    }

    /// <summary>Resizes the spatial dims to <paramref name="size"/>: linear for images, nearest for labels (dtype kept).</summary>
    public static Tensor Resize(Tensor input, long[] size, bool isLabel = false)
    {
        var dims = SpatialDims(input, nameof(input));
        if (size.Length == 1) size = Enumerable.Repeat(size[0], dims.Length).ToArray(); // one size for every spatial dim
        if (size.Length != dims.Length) throw new ArgumentException($"size has {size.Length} entries; expected 1 or {dims.Length} (one per spatial dim)", nameof(size));
        if (!isLabel) return nn.functional.interpolate(input, size: size, mode: LinearMode(dims.Length), align_corners: false);
        using var scope = torch.NewDisposeScope();
        var dtype = input.dtype;
        return scope.MoveToOuter(nn.functional.interpolate(input.to(ScalarType.Float32), size: size, mode: InterpolationMode.Nearest).to(dtype));
    }

    /// <summary>libtorch names linear interpolation by rank: linear (1 spatial dim), bilinear (2), trilinear (3).</summary>
    internal static InterpolationMode LinearMode(int spatialDims) => spatialDims switch
    {
        1 => InterpolationMode.Linear,
        2 => InterpolationMode.Bilinear,
        3 => InterpolationMode.Trilinear,
        _ => throw new ArgumentOutOfRangeException(nameof(spatialDims), spatialDims, "spatial dims must be 1, 2 or 3"),
    };

    /// <summary>Centred crop and/or pad (with <paramref name="padValue"/>) of the spatial dims to <paramref name="size"/>, like <see cref="PadOrCrop"/>.</summary>
    public static Tensor PadOrCrop(Tensor input, long[] size, double padValue = 0)
    {
        var dims = SpatialDims(input, nameof(input));
        if (size.Length != dims.Length) throw new ArgumentException($"size has {size.Length} values for {dims.Length} spatial dims", nameof(size));
        using var scope = torch.NewDisposeScope();
        var x = input;
        for (int a = 0; a < dims.Length; a++)
        {
            long d = dims[a], have = x.shape[d], want = size[a];
            if (want < 1) throw new ArgumentException($"target size {want} is not positive", nameof(size));
            if (have > want) x = x.narrow(d, (have - want) / 2, want);
            else if (have < want)
            {
                long before = (want - have) / 2, after = want - have - before;
                var parts = new List<Tensor>();
                var shape = x.shape;
                if (before > 0) { shape[d] = before; parts.Add(torch.full(shape, padValue, x.dtype, x.device)); }
                parts.Add(x);
                if (after > 0) { shape = x.shape; shape[d] = after; parts.Add(torch.full(shape, padValue, x.dtype, x.device)); }
                x = torch.cat(parts, d);
            }
        }
        return scope.MoveToOuter(ReferenceEquals(x, input) ? input.clone() : x.contiguous());
    }

    /// <summary>Label maps (N, 1, ...) of class indices to (N, K, ...) float one-hot; values outside 0..K−1 are an error.</summary>
    public static Tensor OneHot(Tensor labels, int numClasses)
    {
        SpatialDims(labels, nameof(labels));
        if (labels.shape[1] != 1) throw new ArgumentException($"labels must have one channel, got [{string.Join(", ", labels.shape)}]", nameof(labels));
        using var scope = torch.NewDisposeScope();
        var index = labels.to(ScalarType.Int64);
        if (index.lt(0).any().item<bool>() || index.ge(numClasses).any().item<bool>())
            throw new ArgumentException($"label values must lie in 0..{numClasses - 1}", nameof(labels));
        var shape = labels.shape;
        shape[1] = numClasses;
        var result = torch.zeros(shape, ScalarType.Float32, labels.device).scatter(1, index, torch.ones(labels.shape, ScalarType.Float32, labels.device));
        return scope.MoveToOuter(result);
    }
}
