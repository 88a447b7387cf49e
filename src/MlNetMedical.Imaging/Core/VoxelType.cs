using System.Runtime.InteropServices;
using TorchSharp;

namespace MlNetMedical.Imaging;

/// <summary>Element types a <see cref="Volume"/> stores, as read from or written to disk.</summary>
public enum VoxelType
{
    UInt8, Int8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float32, Float64,
    /// <summary>Three interleaved bytes per voxel (red, green, blue).</summary>
    Rgb24,
}

public static class VoxelTypeExtensions
{
    /// <summary>Bytes per voxel.</summary>
    public static int Size(this VoxelType t) => t switch
    {
        VoxelType.UInt8 or VoxelType.Int8 => 1,
        VoxelType.Int16 or VoxelType.UInt16 => 2,
        VoxelType.Int32 or VoxelType.UInt32 or VoxelType.Float32 => 4,
        VoxelType.Int64 or VoxelType.UInt64 or VoxelType.Float64 => 8,
        VoxelType.Rgb24 => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown voxel type"),
    };

    /// <summary>Bytes of one scalar component (RGB has three one-byte components); used for byte swapping.</summary>
    public static int ComponentSize(this VoxelType t) => t == VoxelType.Rgb24 ? 1 : t.Size();

    /// <summary>The numpy-style name: uint8, int16, float32, rgb24...</summary>
    public static string Name(this VoxelType t) => t.ToString().ToLowerInvariant();

    public static bool IsFloatingPoint(this VoxelType t) => t is VoxelType.Float32 or VoxelType.Float64;

    /// <summary>The voxel type stored by the C# type <typeparamref name="T"/>.</summary>
    public static VoxelType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(byte) ? VoxelType.UInt8 :
        typeof(T) == typeof(sbyte) ? VoxelType.Int8 :
        typeof(T) == typeof(short) ? VoxelType.Int16 :
        typeof(T) == typeof(ushort) ? VoxelType.UInt16 :
        typeof(T) == typeof(int) ? VoxelType.Int32 :
        typeof(T) == typeof(uint) ? VoxelType.UInt32 :
        typeof(T) == typeof(long) ? VoxelType.Int64 :
        typeof(T) == typeof(ulong) ? VoxelType.UInt64 :
        typeof(T) == typeof(float) ? VoxelType.Float32 :
        typeof(T) == typeof(double) ? VoxelType.Float64 :
        throw new NotSupportedException($"no voxel type stores {typeof(T).Name}");

    /// <summary>The tensor dtype that holds this voxel type unchanged, or null when none does (uint16/32/64, RGB).</summary>
    public static torch.ScalarType? TensorDType(this VoxelType t) => t switch
    {
        VoxelType.UInt8 => torch.ScalarType.Byte,
        VoxelType.Int8 => torch.ScalarType.Int8,
        VoxelType.Int16 => torch.ScalarType.Int16,
        VoxelType.Int32 => torch.ScalarType.Int32,
        VoxelType.Int64 => torch.ScalarType.Int64,
        VoxelType.Float32 => torch.ScalarType.Float32,
        VoxelType.Float64 => torch.ScalarType.Float64,
        _ => null,
    };

    /// <summary>Reverses the byte order of every component in place (big-endian files).</summary>
    public static void SwapBytes(this VoxelType t, Span<byte> data)
    {
        switch (t.ComponentSize())
        {
            case 2: System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ushort>(data), MemoryMarshal.Cast<byte, ushort>(data)); break;
            case 4: System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, uint>(data), MemoryMarshal.Cast<byte, uint>(data)); break;
            case 8: System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ulong>(data), MemoryMarshal.Cast<byte, ulong>(data)); break;
        }
    }
}
