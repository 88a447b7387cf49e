using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Training;

/// <summary>Copying tensor values out to .NET arrays.</summary>
internal static class TensorArrays
{
    /// <summary>The values of <paramref name="tensor"/> in row-major order, wherever it lives (copied to the CPU first).</summary>
    public static T[] ToHostArray<T>(this Tensor tensor) where T : unmanaged
    {
        // The scope frees every wrapper the chain makes (detach, cpu and contiguous each return a new one), not the input.
        using var scope = torch.NewDisposeScope();
        return tensor.detach().cpu().contiguous().data<T>().ToArray();
    }
}
