namespace MlNetMedical.Torch.Nn;

/// <summary>What <see cref="Conv"/> and <see cref="ConvTranspose"/> share: geometry, weight and bias, PyTorch's default init.</summary>
public abstract class ConvolutionBase : Module
{
    private protected ConvolutionBase(int spatialDims, long inChannels, long outChannels, long[] kernelSize, long[]? stride, long[]? padding,
                                      long[]? dilation, long groups, bool bias, bool transposed)
    {
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"in ({inChannels}) and out ({outChannels}) channels must be divisible by groups ({groups})");
        SpatialDims = spatialDims;
        KernelSize = Functional.Expand(kernelSize, spatialDims, nameof(kernelSize));
        Stride = Functional.Expand(stride ?? [1], spatialDims, nameof(stride));
        Padding = Functional.Expand(padding ?? [0], spatialDims, nameof(padding));
        Dilation = Functional.Expand(dilation ?? [1], spatialDims, nameof(dilation));
        Groups = groups;
        // Conv weights are (out, in/groups, k...); transposed ones (in, out/groups, k...), as in PyTorch.
        long[] shape = transposed ? [inChannels, outChannels / groups, .. KernelSize] : [outChannels, inChannels / groups, .. KernelSize];
        Weight = RegisterParameter("weight", Tensor.Zeros(shape))!;
        Bias = RegisterParameter("bias", bias ? Tensor.Zeros([outChannels]) : null);
        Init.DefaultLayerInit(Weight, Bias, Init.FanIn(shape));
    }

    public int SpatialDims { get; }
    public long[] KernelSize { get; }
    public long[] Stride { get; }
    public long[] Padding { get; }
    public long[] Dilation { get; }
    public long Groups { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }
}

/// <summary>Convolution over 1, 2 or 3 spatial dims (<c>Conv1d/2d/3d</c>); weight (out, in/groups, k...).</summary>
public sealed class Conv : ConvolutionBase
{
    public Conv(int spatialDims, long inChannels, long outChannels, long[] kernelSize, long[]? stride = null, long[]? padding = null,
                long[]? dilation = null, long groups = 1, bool bias = true)
        : base(spatialDims, inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, transposed: false) { }

    /// <summary>Square kernel of size <paramref name="kernelSize"/> in every spatial dim.</summary>
    public Conv(int spatialDims, long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool bias = true)
        : this(spatialDims, inChannels, outChannels, [kernelSize], [stride], [padding], bias: bias) { }

    public override Tensor Forward(Tensor input) => Functional.Conv(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>Transposed convolution over 1, 2 or 3 spatial dims; weight (in, out/groups, k...).</summary>
public sealed class ConvTranspose : ConvolutionBase
{
    public ConvTranspose(int spatialDims, long inChannels, long outChannels, long[] kernelSize, long[]? stride = null, long[]? padding = null,
                         long[]? outputPadding = null, long groups = 1, bool bias = true, long[]? dilation = null)
        : base(spatialDims, inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, transposed: true)
    {
        OutputPadding = Functional.Expand(outputPadding ?? [0], spatialDims, nameof(outputPadding));
    }

    public ConvTranspose(int spatialDims, long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool bias = true)
        : this(spatialDims, inChannels, outChannels, [kernelSize], [stride], [padding], bias: bias) { }

    public long[] OutputPadding { get; }

    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose(input, Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);
}

/// <summary>y = x Wᵀ + b over the last dim; weight (out, in).</summary>
public sealed class Linear : Module
{
    public Linear(long inFeatures, long outFeatures, bool bias = true)
    {
        Weight = RegisterParameter("weight", Tensor.Zeros([outFeatures, inFeatures]))!;
        Bias = RegisterParameter("bias", bias ? Tensor.Zeros([outFeatures]) : null);
        Init.DefaultLayerInit(Weight, Bias, inFeatures);
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);
}
