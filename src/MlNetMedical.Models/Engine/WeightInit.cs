using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Weight initialisation from an explicit <see cref="Generator"/>, so a seed gives the same weights in any thread,
/// whatever other threads draw. <see cref="NetworkConfig.Build(Generator?)"/> installs the generator for the calling
/// thread while the network is built; a user's encoder can draw from <see cref="Current"/> too.
/// </summary>
public static class WeightInit
{
    [ThreadStatic] private static Generator? current;

    /// <summary>The generator layers draw initial weights from on this thread; null = libtorch's default generator.</summary>
    public static Generator? Current => current;

    /// <summary>Makes <paramref name="generator"/> the calling thread's weight generator until disposed.</summary>
    public static IDisposable Use(Generator? generator)
    {
        var previous = current;
        current = generator;
        return new Restore(previous);
    }

    private sealed class Restore(Generator? previous) : IDisposable
    {
        public void Dispose() => current = previous;
    }

    /// <summary>Fan-in of a weight as PyTorch computes it: dim 1 times the receptive field (for transposed convs, the output width).</summary>
    public static long FanIn(Tensor weight) => weight.shape.Length < 2 ? weight.shape[0] : weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b);

    /// <summary>He normal (leaky-ReLU gain with slope <paramref name="a"/>, fan in), as nnU-Net initialises convolutions.</summary>
    public static void KaimingNormal(Tensor weight, double a)
    {
        var std = Math.Sqrt(2.0 / (1 + a * a)) / Math.Sqrt(FanIn(weight));
        using (torch.no_grad()) weight.normal_(0, std, current);
    }

    /// <summary>PyTorch's default for linear and (transposed) conv layers: weight and bias uniform in ±1/sqrt(fan in).</summary>
    public static void PyTorchDefault(Tensor weight, Tensor? bias)
    {
        var bound = 1 / Math.Sqrt(FanIn(weight));
        using (torch.no_grad())
        {
            weight.uniform_(-bound, bound, current);
            bias?.uniform_(-bound, bound, current);
        }
    }

    /// <summary>Weight 1 and bias 0 for a normalisation layer's affine parameters (TorchSharp's GroupNorm leaves them unset).</summary>
    public static void NormAffine(Tensor? weight, Tensor? bias)
    {
        using (torch.no_grad())
        {
            weight?.fill_(1);
            bias?.zero_();
        }
    }
}
