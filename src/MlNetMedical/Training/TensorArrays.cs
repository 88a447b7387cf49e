using static TorchSharp.torch;

namespace MlNetMedical.Training;

/// <summary>Copying tensor values out to .NET arrays.</summary>
internal static class TensorArrays
{
    /// <summary>The values of <paramref name="tensor"/> in row-major order, wherever it lives (copied to the CPU first).</summary>
    public static T[] ToHostArray<T>(this Tensor tensor) where T : unmanaged
    {
        using var cpu = tensor.detach().cpu().contiguous();
        return cpu.data<T>().ToArray();
    }
}
