using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Layer factory in MONAI's style: every layer takes the number of spatial dims, so one network definition
/// builds 2D and 3D models. Initial weights come from <see cref="WeightInit.Current"/>. Settings that every conv block
/// shares travel together in <see cref="BlockSettings"/>.
/// </summary>
public static class Layers
{
    /// <summary>A convolution with He (Kaiming normal, a = 0.01) weights and zero bias, as nnU-Net initialises;
    /// the bias is dropped when a normalisation layer follows.</summary>
    public static Convolution Conv(int spatialDims, long inChannels, long outChannels, long kernelSize, long stride = 1, bool bias = true)
    {
        var padding = kernelSize / 2;
        WeightInit.Reserve(checked(outChannels * inChannels * Power(kernelSize, spatialDims) + (bias ? outChannels : 0)), $"a {spatialDims}D conv {inChannels}->{outChannels}");
        Convolution conv = spatialDims switch
        {
            1 => nn.Conv1d(inChannels, outChannels, kernelSize, stride, padding, bias: bias),
            2 => nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias: bias),
            3 => nn.Conv3d(inChannels, outChannels, kernelSize, stride, padding, bias: bias),
            _ => throw new ArgumentOutOfRangeException(nameof(spatialDims), spatialDims, "spatial dims must be 1, 2 or 3"),
        };
        WeightInit.KaimingNormal(conv.weight, a: 1e-2);
        if (conv.bias is { } b) using (torch.no_grad()) b.zero_();
        return conv;
    }

    /// <summary>A transposed convolution (kernel = stride) with PyTorch's default initialisation.</summary>
    public static ConvolutionTranspose ConvTranspose(int spatialDims, long inChannels, long outChannels, long kernelSize, long stride)
    {
        WeightInit.Reserve(checked(inChannels * outChannels * Power(kernelSize, spatialDims) + outChannels), $"a {spatialDims}D transposed conv {inChannels}->{outChannels}");
        ConvolutionTranspose conv = spatialDims switch
        {
            1 => nn.ConvTranspose1d(inChannels, outChannels, kernelSize, stride),
            2 => nn.ConvTranspose2d(inChannels, outChannels, kernelSize, stride),
            3 => nn.ConvTranspose3d(inChannels, outChannels, kernelSize, stride),
            _ => throw new ArgumentOutOfRangeException(nameof(spatialDims), spatialDims, "spatial dims must be 1, 2 or 3"),
        };
        WeightInit.PyTorchDefault(conv.weight, conv.bias);
        return conv;
    }

    /// <summary>A linear layer with PyTorch's default initialisation.</summary>
    public static Linear Linear(long inFeatures, long outFeatures)
    {
        WeightInit.Reserve(checked(inFeatures * outFeatures + outFeatures), $"a linear layer {inFeatures}->{outFeatures}");
        var linear = nn.Linear(inFeatures, outFeatures);
        WeightInit.PyTorchDefault(linear.weight, linear.bias);
        return linear;
    }

    /// <summary>The normalisation layer of <paramref name="kind"/>. Instance norm is affine (nnU-Net); group norm uses
    /// the largest group count not above <paramref name="groups"/> that divides <paramref name="channels"/>.</summary>
    public static nn.Module<Tensor, Tensor> Norm(NormKind kind, int spatialDims, long channels, int groups = 8)
    {
        if (spatialDims is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(spatialDims), spatialDims, "spatial dims must be 1, 2 or 3");
        // Weight and bias, plus running mean, running variance and the batch counter for batch norm.
        WeightInit.Reserve(kind switch { NormKind.None => 0, NormKind.Batch => 4 * channels + 1, _ => 2 * channels }, $"a {kind} norm of {channels} channels");
        switch (kind)
        {
            case NormKind.Batch:
                return spatialDims switch { 1 => nn.BatchNorm1d(channels), 2 => nn.BatchNorm2d(channels), _ => nn.BatchNorm3d(channels) };
            case NormKind.Instance:
                return spatialDims switch
                {
                    1 => nn.InstanceNorm1d(channels, affine: true),
                    2 => nn.InstanceNorm2d(channels, affine: true),
                    _ => nn.InstanceNorm3d(channels, affine: true),
                };
            case NormKind.Group:
                var norm = nn.GroupNorm(GroupCount(channels, groups), channels);
                WeightInit.NormAffine(norm.weight, norm.bias);
                return norm;
            case NormKind.None:
                return nn.Identity();
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown normalisation kind");
        }
    }

    private static long Power(long value, int exponent)
    {
        long result = 1;
        for (int i = 0; i < exponent; i++) result = checked(result * value);
        return result;
    }

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
        ActivationKind.Relu => nn.functional.relu(x),
        ActivationKind.LeakyRelu => nn.functional.leaky_relu(x, 0.01),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation kind"),
    };

    /// <summary>Max pooling with kernel = stride = <paramref name="kernel"/> over every spatial dim of (N, C, spatial...).</summary>
    public static Tensor MaxPool(Tensor x, long kernel, bool ceilMode = false)
    {
        var dims = (int)x.dim() - 2;
        var k = Enumerable.Repeat(kernel, dims).ToArray();
        return dims switch
        {
            1 => nn.functional.max_pool1d(x, kernel, kernel, ceil_mode: ceilMode),
            2 => nn.functional.max_pool2d(x, k, k, ceil_mode: ceilMode),
            3 => nn.functional.max_pool3d(x, k, k, ceil_mode: ceilMode),
            _ => throw new ArgumentException($"max pooling needs (N, C, spatial...) with 1-3 spatial dims, got [{string.Join(", ", x.shape)}]", nameof(x)),
        };
    }

    /// <summary>Resizes (N, C, spatial...) to <paramref name="size"/>: nearest, or (bi/tri)linear without corner alignment.</summary>
    public static Tensor Resize(Tensor x, long[] size, bool linear)
    {
        var mode = !linear ? InterpolationMode.Nearest : size.Length switch
        {
            1 => InterpolationMode.Linear,
            2 => InterpolationMode.Bilinear,
            _ => InterpolationMode.Trilinear,
        };
        return nn.functional.interpolate(x, size, mode: mode, align_corners: linear ? false : null);
    }

    /// <summary>Inverted dropout drawing its mask from <paramref name="generator"/> (libtorch's default generator when null).</summary>
    public static Tensor Dropout(Tensor x, double p, bool training, Generator? generator)
    {
        if (!training || p == 0) return x.alias();
        using var scope = torch.NewDisposeScope();
        var keep = torch.empty_like(x).bernoulli_(1 - p, generator);
        return scope.MoveToOuter(x * keep / (1 - p));
    }

    /// <summary>Global pooling of (N, C, spatial...) to (N, C), or (N, 2C) for <see cref="PoolingKind.AverageMax"/>.</summary>
    public static Tensor GlobalPool(Tensor x, PoolingKind kind)
    {
        var dims = Enumerable.Range(2, (int)x.dim() - 2).Select(d => (long)d).ToArray();
        switch (kind)
        {
            case PoolingKind.Average: return x.mean(dims);
            case PoolingKind.Max: return x.amax(dims);
            case PoolingKind.AverageMax:
                using (var avg = x.mean(dims))
                using (var max = x.amax(dims))
                    return torch.cat([avg, max], 1);
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
        using var scope = torch.NewDisposeScope();
        var pooled = levels.Select(l => l >= 0 && l < features.Count
            ? GlobalPool(features[l], kind)
            : throw new ArgumentOutOfRangeException(nameof(levels), l, $"features have levels 0..{features.Count - 1}")).ToArray();
        return scope.MoveToOuter(pooled.Length == 1 ? pooled[0] : torch.cat(pooled, 1));
    }

    /// <summary>Feature width after <see cref="GlobalPool(Tensor, PoolingKind)"/> of a map with <paramref name="channels"/> channels.</summary>
    public static long PooledWidth(long channels, PoolingKind kind) => kind == PoolingKind.AverageMax ? 2 * channels : channels;
}

/// <summary>What every conv block of a network shares: spatial dims, normalisation, activation and block kind.</summary>
public sealed record BlockSettings(int SpatialDims, NormKind Norm = NormKind.Batch, int NormGroups = 8,
                                  ActivationKind Activation = ActivationKind.Relu, BlockKind Block = BlockKind.Plain, int ConvsPerBlock = 2);
