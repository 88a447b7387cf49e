namespace MlNetMedical.Torch;

/// <summary>Element types. The values are libtorch's c10::ScalarType codes, passed through the ABI as-is.</summary>
public enum DType
{
    UInt8 = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Float16 = 5,
    Float32 = 6,
    Float64 = 7,
    Bool = 11,
    BFloat16 = 15,
}

public static class DTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.UInt8 or DType.Int8 or DType.Bool => 1,
        DType.Int16 or DType.Float16 or DType.BFloat16 => 2,
        DType.Int32 or DType.Float32 => 4,
        DType.Int64 or DType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public static bool IsFloatingPoint(this DType dtype) =>
        dtype is DType.Float16 or DType.Float32 or DType.Float64 or DType.BFloat16;

    /// <summary>The dtype that stores elements of the C# type <typeparamref name="T"/>.</summary>
    public static DType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.Float32 :
        typeof(T) == typeof(double) ? DType.Float64 :
        typeof(T) == typeof(long) ? DType.Int64 :
        typeof(T) == typeof(int) ? DType.Int32 :
        typeof(T) == typeof(short) ? DType.Int16 :
        typeof(T) == typeof(byte) ? DType.UInt8 :
        typeof(T) == typeof(sbyte) ? DType.Int8 :
        typeof(T) == typeof(bool) ? DType.Bool :
        typeof(T) == typeof(Half) ? DType.Float16 :
        throw new NotSupportedException($"no tensor dtype stores {typeof(T).Name}; use float, double, long, int, short, byte, sbyte, bool or Half");
}
