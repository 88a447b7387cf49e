using System.Runtime.InteropServices;
using TorchSharp;
using Tensor = TorchSharp.torch.Tensor;

namespace MlNetMedical.Imaging;

/// <summary>Copies between managed buffers and libtorch tensors (row-major, native byte order), for every layer above too.</summary>
public static class TensorData
{
    // Tensor.bytes is a Span over the tensor's memory, so one copy moves at most int.MaxValue bytes;
    // larger buffers (e.g. 2^30 voxels as float32) go in chunks of whole elements.
    private const int ChunkBytes = 1 << 30;

    /// <summary>A new contiguous tensor of <paramref name="dtype"/> and <paramref name="shape"/> holding a copy of the
    /// raw bytes of <paramref name="data"/>, on <paramref name="device"/> (the CPU when null).</summary>
    public static unsafe Tensor FromSpan<T>(ReadOnlySpan<T> data, torch.ScalarType dtype, long[] shape, torch.Device? device) where T : unmanaged
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.empty(shape, dtype, torch.CPU);
        long element = t.element_size(), bytes = (long)data.Length * sizeof(T);
        if (t.numel() * element != bytes)
            throw new ArgumentException($"{bytes} bytes of data do not fill shape [{string.Join(", ", shape)}] of {dtype}", nameof(data));
        if (bytes <= int.MaxValue) MemoryMarshal.AsBytes(data).CopyTo(t.bytes);
        else
        {
            // Element sizes are powers of two up to 8, so every chunk but the last is whole elements of both types.
            var flat = t.view(-1);
            int step = ChunkBytes / sizeof(T);
            for (int start = 0; start < data.Length; start += step)
            {
                int count = Math.Min(step, data.Length - start);
                using var part = flat.narrow(0, (long)start * sizeof(T) / element, (long)count * sizeof(T) / element);
                MemoryMarshal.AsBytes(data.Slice(start, count)).CopyTo(part.bytes);
            }
        }
        var result = device is null || device.type == DeviceType.CPU ? t : t.to(device);
        return scope.MoveToOuter(result);
    }

    /// <summary>The elements of <paramref name="tensor"/> in row-major order as raw bytes (copied to the CPU first).</summary>
    public static byte[] ToBytes(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        var c = (tensor.device_type == DeviceType.CPU ? tensor : tensor.cpu()).contiguous();
        long element = c.element_size(), total = c.numel() * element;
        if (total > Array.MaxLength) throw new NotSupportedException($"a tensor of {total} bytes does not fit in one .NET array");
        return c.bytes.ToArray(); // total <= Array.MaxLength < int.MaxValue
    }

    /// <summary>The values of <paramref name="tensor"/> in row-major order, wherever it lives (copied to the CPU first).</summary>
    public static T[] ToHostArray<T>(this Tensor tensor) where T : unmanaged
    {
        // The scope frees every wrapper the chain makes (detach, cpu and contiguous each return a new one), not the input.
        using var scope = torch.NewDisposeScope();
        using var values = tensor.detach().cpu().contiguous().data<T>();
        return values.ToArray();
    }
}
