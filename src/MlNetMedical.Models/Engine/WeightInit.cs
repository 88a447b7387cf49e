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
    [ThreadStatic] private static long? remainingElements;

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

    /// <summary>
    /// Caps how many weight elements (parameters and buffers) the layers built on the calling thread may hold until the
    /// scope is disposed: each layer the <see cref="Layers"/> factory makes reserves its elements first, and one past the
    /// cap throws <see cref="NetworkTooLargeException"/> before anything is allocated. Model loading uses it, so a crafted
    /// config cannot ask for far more weights than its weights file holds. Scopes do not nest.
    /// </summary>
    public static IDisposable LimitElements(long maxElements)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxElements);
        var previous = remainingElements;
        remainingElements = maxElements;
        return new RestoreLimit(previous);
    }

    private sealed class RestoreLimit(long? previous) : IDisposable
    {
        public void Dispose() => remainingElements = previous;
    }

    /// <summary>Takes <paramref name="elements"/> from the calling thread's cap, if one is set (<see cref="LimitElements"/>).</summary>
    internal static void Reserve(long elements, string layer)
    {
        if (remainingElements is not { } left) return;
        if (elements > left)
            throw new NetworkTooLargeException($"{layer} needs {elements:N0} weights but only {left:N0} of the allowed ones are left");
        remainingElements = left - elements;
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

/// <summary>A network would hold more weights than <see cref="WeightInit.LimitElements"/> allows.</summary>
public sealed class NetworkTooLargeException(string message) : InvalidOperationException(message);
