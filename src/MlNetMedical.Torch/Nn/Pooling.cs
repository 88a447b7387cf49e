namespace MlNetMedical.Torch.Nn;

/// <summary>Max pooling over 1–3 spatial dims; stride defaults to the kernel size.</summary>
public sealed class MaxPool(int spatialDims, long[] kernelSize, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceilMode = false) : Module
{
    public int SpatialDims { get; } = spatialDims;
    public long[] KernelSize { get; } = Functional.Expand(kernelSize, spatialDims, nameof(kernelSize));

    public MaxPool(int spatialDims, long kernelSize) : this(spatialDims, [kernelSize]) { }

    public override Tensor Forward(Tensor input) => Functional.MaxPool(input, KernelSize, stride, padding, dilation, ceilMode);
}

/// <summary>Average pooling over 1–3 spatial dims; stride defaults to the kernel size.</summary>
public sealed class AvgPool(int spatialDims, long[] kernelSize, long[]? stride = null, long[]? padding = null, bool ceilMode = false, bool countIncludePad = true) : Module
{
    public int SpatialDims { get; } = spatialDims;
    public long[] KernelSize { get; } = Functional.Expand(kernelSize, spatialDims, nameof(kernelSize));

    public AvgPool(int spatialDims, long kernelSize) : this(spatialDims, [kernelSize]) { }

    public override Tensor Forward(Tensor input) => Functional.AvgPool(input, KernelSize, stride, padding, ceilMode, countIncludePad);
}

/// <summary>Adaptive average pooling to a fixed output size (1 per dim gives global pooling).</summary>
public sealed class AdaptiveAvgPool(int spatialDims, long[] outputSize) : Module
{
    public long[] OutputSize { get; } = Functional.Expand(outputSize, spatialDims, nameof(outputSize));

    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool(input, OutputSize);
}

/// <summary>Adaptive max pooling to a fixed output size.</summary>
public sealed class AdaptiveMaxPool(int spatialDims, long[] outputSize) : Module
{
    public long[] OutputSize { get; } = Functional.Expand(outputSize, spatialDims, nameof(outputSize));

    public override Tensor Forward(Tensor input) => Functional.AdaptiveMaxPool(input, OutputSize);
}

/// <summary>Upsampling by a scale factor or to a size, nearest or (bi/tri)linear.</summary>
public sealed class Upsample : Module
{
    private readonly long[]? size;
    private readonly double[]? scaleFactor;

    public Upsample(long[]? size = null, double[]? scaleFactor = null, InterpolationMode mode = InterpolationMode.Nearest, bool alignCorners = false)
    {
        if ((size == null) == (scaleFactor == null)) throw new ArgumentException("give exactly one of size and scaleFactor");
        this.size = size;
        this.scaleFactor = scaleFactor;
        Mode = mode;
        AlignCorners = alignCorners;
    }

    public InterpolationMode Mode { get; }
    public bool AlignCorners { get; }

    public override Tensor Forward(Tensor input) => Functional.Interpolate(input, size, scaleFactor, Mode, AlignCorners);
}
