using TorchSharp;

namespace MlNetMedical.Imaging.Tests;

public static class TensorSupport
{
    /// <summary>The elements in row-major order (a contiguous CPU copy; temporaries disposed).</summary>
    public static T[] Values<T>(this torch.Tensor t) where T : unmanaged
    {
        using var scope = torch.NewDisposeScope();
        var c = t.cpu().contiguous();
        using var accessor = c.data<T>();
        return accessor.ToArray();
    }
}
