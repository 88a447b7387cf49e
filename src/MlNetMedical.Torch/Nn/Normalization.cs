namespace MlNetMedical.Torch.Nn;

/// <summary>What <see cref="BatchNorm"/> and <see cref="InstanceNorm"/> share: optional affine parameters and optional
/// running statistics, as buffers running_mean, running_var and num_batches_tracked (PyTorch's state-dict names).
/// num_batches_tracked is kept for compatibility; the running averages use the fixed momentum.</summary>
public abstract class RunningStatsNorm : Module
{
    private protected RunningStatsNorm(int spatialDims, long numFeatures, double eps, double momentum, bool affine, bool trackRunningStats)
    {
        if (spatialDims is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(spatialDims), spatialDims, "spatial dims must be 1, 2 or 3");
        SpatialDims = spatialDims;
        Eps = eps;
        Momentum = momentum;
        Weight = RegisterParameter("weight", affine ? Tensor.Ones([numFeatures]) : null);
        Bias = RegisterParameter("bias", affine ? Tensor.Zeros([numFeatures]) : null);
        RunningMean = RegisterBuffer("running_mean", trackRunningStats ? Tensor.Zeros([numFeatures]) : null);
        RunningVar = RegisterBuffer("running_var", trackRunningStats ? Tensor.Ones([numFeatures]) : null);
        RegisterBuffer("num_batches_tracked", trackRunningStats ? Tensor.Zeros([], DType.Int64) : null);
    }

    public int SpatialDims { get; }
    public double Eps { get; }
    public double Momentum { get; }
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }
    public Tensor? RunningMean { get; }
    public Tensor? RunningVar { get; }

    /// <summary>Layers with running statistics stay in eval mode while frozen, so the statistics stay fixed.</summary>
    protected override bool StaysInEvalWhenFrozen => RunningMean != null;

    private protected void CheckInput(Tensor input, bool allowNoSpatial)
    {
        var d = input.Dim;
        if (d != SpatialDims + 2 && !(allowNoSpatial && d == 2))
            throw new ArgumentException($"{GetType().Name} with {SpatialDims} spatial dims expects a {SpatialDims + 2}-d input, got {d}-d", nameof(input));
    }
}

/// <summary>Batch normalisation over (N, C, spatial...) with 1–3 spatial dims (BatchNorm1d also takes (N, C)).</summary>
public sealed class BatchNorm(int spatialDims, long numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : RunningStatsNorm(spatialDims, numFeatures, eps, momentum, affine, trackRunningStats)
{
    public override Tensor Forward(Tensor input)
    {
        CheckInput(input, allowNoSpatial: SpatialDims == 1);
        return Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, Training || RunningMean == null, Momentum, Eps);
    }
}

/// <summary>Instance normalisation (per sample and channel) over 1–3 spatial dims; affine and running stats off by default, as in PyTorch.</summary>
public sealed class InstanceNorm(int spatialDims, long numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = false, bool trackRunningStats = false)
    : RunningStatsNorm(spatialDims, numFeatures, eps, momentum, affine, trackRunningStats)
{
    public override Tensor Forward(Tensor input)
    {
        CheckInput(input, allowNoSpatial: false);
        return Functional.InstanceNorm(input, RunningMean, RunningVar, Weight, Bias, Training || RunningMean == null, Momentum, Eps);
    }
}

/// <summary>Group normalisation: channels split into groups, normalised per sample and group.</summary>
public sealed class GroupNorm : Module
{
    public GroupNorm(long numGroups, long numChannels, double eps = 1e-5, bool affine = true)
    {
        if (numGroups < 1 || numChannels % numGroups != 0)
            throw new ArgumentException($"channels ({numChannels}) must be divisible by groups ({numGroups})", nameof(numGroups));
        NumGroups = numGroups;
        Eps = eps;
        Weight = RegisterParameter("weight", affine ? Tensor.Ones([numChannels]) : null);
        Bias = RegisterParameter("bias", affine ? Tensor.Zeros([numChannels]) : null);
    }

    public long NumGroups { get; }
    public double Eps { get; }
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }

    public override Tensor Forward(Tensor input) => Functional.GroupNorm(input, NumGroups, Weight, Bias, Eps);
}

/// <summary>Layer normalisation over the trailing <c>normalizedShape</c> dims.</summary>
public sealed class LayerNorm : Module
{
    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
    {
        NormalizedShape = normalizedShape;
        Eps = eps;
        Weight = RegisterParameter("weight", elementwiseAffine ? Tensor.Ones(normalizedShape) : null);
        Bias = RegisterParameter("bias", elementwiseAffine ? Tensor.Zeros(normalizedShape) : null);
    }

    public long[] NormalizedShape { get; }
    public double Eps { get; }
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }

    public override Tensor Forward(Tensor input) => Functional.LayerNorm(input, NormalizedShape, Weight, Bias, Eps);
}
