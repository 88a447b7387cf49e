using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;

namespace MlNetMedical.Models;

/// <summary>
/// Layer factory in MONAI's style: every layer takes the number of spatial dims, so one network definition
/// builds 2D and 3D models. Settings that every conv block shares travel together in <see cref="BlockSettings"/>.
/// </summary>
public static class Layers
{
    /// <summary>A convolution with He (Kaiming normal, a = 0.01) weights and zero bias, as nnU-Net initialises;
    /// the bias is dropped when a normalisation layer follows.</summary>
    public static Conv Conv(int spatialDims, long inChannels, long outChannels, long kernelSize, long stride = 1, bool bias = true)
    {
        var conv = new Conv(spatialDims, inChannels, outChannels, kernelSize, stride, padding: kernelSize / 2, bias: bias);
        Init.KaimingNormal(conv.Weight, a: 1e-2);
        if (conv.Bias != null) Init.Zeros(conv.Bias);
        return conv;
    }

    /// <summary>The normalisation layer of <paramref name="kind"/>. Instance norm is affine (nnU-Net); group norm uses
    /// the largest group count not above <paramref name="groups"/> that divides <paramref name="channels"/>.</summary>
    public static Module Norm(NormKind kind, int spatialDims, long channels, int groups = 8) => kind switch
    {
        NormKind.Batch => new BatchNorm(spatialDims, channels),
        NormKind.Instance => new InstanceNorm(spatialDims, channels, affine: true),
        NormKind.Group => new GroupNorm(GroupCount(channels, groups), channels),
        NormKind.None => new Identity(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown normalisation kind"),
    };

    internal static long GroupCount(long channels, int groups)
    {
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), groups, "group count must be at least 1");
        for (long g = Math.Min(groups, channels); g > 1; g--)
            if (channels % g == 0) return g;
        return 1;
    }

    /// <summary>Applies the activation (stateless, so it adds no parameters or names).</summary>
    public static Tensor Activate(ActivationKind kind, Tensor x) => kind switch
    {
        ActivationKind.Relu => Functional.Relu(x),
        ActivationKind.LeakyRelu => Functional.LeakyRelu(x, 0.01),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation kind"),
    };

    /// <summary>Global pooling of (N, C, spatial...) to (N, C), or (N, 2C) for <see cref="PoolingKind.AverageMax"/>.</summary>
    public static Tensor GlobalPool(Tensor x, PoolingKind kind)
    {
        var dims = Enumerable.Range(2, (int)x.Dim - 2).Select(d => (long)d).ToArray();
        switch (kind)
        {
            case PoolingKind.Average: return x.Mean(dims);
            case PoolingKind.Max: return x.Amax(dims);
            case PoolingKind.AverageMax:
                using (var avg = x.Mean(dims))
                using (var max = x.Amax(dims))
                    return Tensor.Cat([avg, max], 1);
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown pooling kind");
        }
    }

    /// <summary>Global pooling of the chosen <paramref name="levels"/> of <paramref name="features"/>, concatenated in that
    /// order: (N, Σ pooled widths). This is the feature vector a frozen encoder hands to a separate classifier.</summary>
    public static Tensor GlobalPool(IReadOnlyList<Tensor> features, IReadOnlyList<int> levels, PoolingKind kind)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(levels);
        if (levels.Count == 0) throw new ArgumentException("name at least one level", nameof(levels));
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        var pooled = levels.Select(l => l >= 0 && l < features.Count
            ? GlobalPool(features[l], kind)
            : throw new ArgumentOutOfRangeException(nameof(levels), l, $"features have levels 0..{features.Count - 1}")).ToArray();
        return scope.MoveToOuter(pooled.Length == 1 ? pooled[0] : Tensor.Cat(pooled, 1));
    }

    /// <summary>Feature width after <see cref="GlobalPool"/> of a map with <paramref name="channels"/> channels.</summary>
    public static long PooledWidth(long channels, PoolingKind kind) => kind == PoolingKind.AverageMax ? 2 * channels : channels;
}

/// <summary>What every conv block of a network shares: spatial dims, normalisation, activation and block kind.</summary>
public sealed record BlockSettings(int SpatialDims, NormKind Norm = NormKind.Batch, int NormGroups = 8,
                                  ActivationKind Activation = ActivationKind.Relu, BlockKind Block = BlockKind.Plain, int ConvsPerBlock = 2);
