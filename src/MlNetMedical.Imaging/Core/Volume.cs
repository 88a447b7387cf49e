using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using TorchSharp;
using Tensor = TorchSharp.torch.Tensor;

namespace MlNetMedical.Imaging;

/// <summary>
/// Voxels plus geometry. <see cref="Shape"/> is in file index order (i fastest: i, j, k, then
/// channels/time), and <see cref="Data"/> holds the raw little-endian voxels in that order, which
/// is row-major [..., k, j, i]: a tensor view is the reversed shape with no reordering.
/// The first <see cref="SpatialRank"/> axes are spatial; the rest are channels (e.g. NIfTI t).
/// Stored values are raw; the physical value is raw·<see cref="ScaleSlope"/> + <see cref="ScaleIntercept"/>.
/// </summary>
public sealed class Volume
{
    public Volume(VoxelType dataType, int[] shape, byte[] data, Affine? affine = null, int? spatialRank = null)
    {
        if (shape.Length == 0) throw new ArgumentException("a volume needs at least one dimension", nameof(shape));
        foreach (var s in shape)
            if (s <= 0) throw new ArgumentException($"every dimension must be positive, got [{string.Join(", ", shape)}]", nameof(shape));
        // Checked: a shape such as 65536^4 wraps an unchecked long product to 0 and would pass with no data.
        long expected = dataType.Size();
        try { foreach (var s in shape) expected = checked(expected * s); }
        catch (OverflowException) { throw new ArgumentException($"shape [{string.Join(", ", shape)}] of {dataType.Name()} needs more bytes than a 64-bit count holds", nameof(shape)); }
        if (data.LongLength != expected)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] of {dataType.Name()} needs {expected} bytes, got {data.LongLength}", nameof(data));
        DataType = dataType;
        Shape = (int[])shape.Clone();
        Data = data;
        SpatialRank = spatialRank ?? Math.Min(3, shape.Length);
        if (SpatialRank < 1 || SpatialRank > 3 || SpatialRank > shape.Length)
            throw new ArgumentOutOfRangeException(nameof(spatialRank), SpatialRank, $"spatial rank must be 1..3 and at most the rank {shape.Length}");
        Affine = affine ?? Affine.Identity;
    }

    /// <summary>Wraps typed voxels (copied into the byte buffer).</summary>
    public static Volume Create<T>(ReadOnlySpan<T> voxels, int[] shape, Affine? affine = null, int? spatialRank = null) where T : unmanaged =>
        new(VoxelTypeExtensions.Of<T>(), shape, MemoryMarshal.AsBytes(voxels).ToArray(), affine, spatialRank);

    public VoxelType DataType { get; }

    /// <summary>Dimensions in file index order (i, j, k, then non-spatial axes).</summary>
    public int[] Shape { get; }

    /// <summary>Raw voxels, little-endian, i fastest.</summary>
    public byte[] Data { get; }

    public int SpatialRank { get; }

    /// <summary>Spatial dimensions padded to three (a 2D image has k = 1).</summary>
    public int[] Size3 => [Shape[0], SpatialRank > 1 ? Shape[1] : 1, SpatialRank > 2 ? Shape[2] : 1];

    /// <summary>Product of the non-spatial dimensions (1 when there are none); RGB counts as 3.</summary>
    public int Channels
    {
        get
        {
            int c = DataType == VoxelType.Rgb24 ? 3 : 1;
            for (int i = SpatialRank; i < Shape.Length; i++) c *= Shape[i];
            return c;
        }
    }

    public long VoxelCount
    {
        get { long n = 1; foreach (var s in Shape) n = checked(n * s); return n; }
    }

    /// <summary>Voxel-to-world transform in RAS+ millimetres (nibabel's img.affine).</summary>
    public Affine Affine { get; set; }

    public double[] Spacing => Affine.Spacing;
    public double[] Origin => Affine.Origin;
    public double[,] Direction => Affine.Direction;

    public double ScaleSlope { get; set; } = 1;
    public double ScaleIntercept { get; set; }
    public bool IsScaled => ScaleSlope != 1 || ScaleIntercept != 0;

    /// <summary>Free-form metadata (format fields, DICOM PatientID, StudyInstanceUID, Modality...).</summary>
    public Dictionary<string, string> Metadata { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Where the volume was read from, used in error messages; null when built in memory.</summary>
    public string? SourcePath { get; set; }

    /// <summary>The raw voxels as <typeparamref name="T"/>, which must match <see cref="DataType"/>.</summary>
    public Span<T> Voxels<T>() where T : unmanaged
    {
        if (VoxelTypeExtensions.Of<T>() != DataType)
            throw new InvalidOperationException($"volume{Describe()} holds {DataType.Name()}, not {typeof(T).Name}");
        return MemoryMarshal.Cast<byte, T>(Data.AsSpan());
    }

    /// <summary>Scaled values as float64 (every RGB component counts as one value).</summary>
    public double[] ToDoubleArray()
    {
        var result = new double[VoxelCount * (DataType == VoxelType.Rgb24 ? 3 : 1)];
        ConvertRaw<double>(result);
        if (IsScaled)
        {
            TensorPrimitives.Multiply<double>(result, ScaleSlope, result);
            TensorPrimitives.Add<double>(result, ScaleIntercept, result);
        }
        return result;
    }

    /// <summary>Scaled values as float32.</summary>
    public float[] ToFloatArray()
    {
        var result = new float[VoxelCount * (DataType == VoxelType.Rgb24 ? 3 : 1)];
        if (IsScaled)
        {
            // Scale in float64 first so large integers times small slopes keep their precision.
            var d = ToDoubleArray();
            TensorPrimitives.ConvertTruncating<double, float>(d, result);
        }
        else ConvertRaw<float>(result);
        return result;
    }

    private void ConvertRaw<T>(Span<T> destination) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        ReadOnlySpan<byte> b = Data;
        switch (DataType)
        {
            case VoxelType.UInt8: case VoxelType.Rgb24: TensorPrimitives.ConvertChecked<byte, T>(b, destination); break;
            case VoxelType.Int8: TensorPrimitives.ConvertChecked<sbyte, T>(MemoryMarshal.Cast<byte, sbyte>(b), destination); break;
            case VoxelType.Int16: TensorPrimitives.ConvertChecked<short, T>(MemoryMarshal.Cast<byte, short>(b), destination); break;
            case VoxelType.UInt16: TensorPrimitives.ConvertChecked<ushort, T>(MemoryMarshal.Cast<byte, ushort>(b), destination); break;
            case VoxelType.Int32: TensorPrimitives.ConvertChecked<int, T>(MemoryMarshal.Cast<byte, int>(b), destination); break;
            case VoxelType.UInt32: TensorPrimitives.ConvertChecked<uint, T>(MemoryMarshal.Cast<byte, uint>(b), destination); break;
            case VoxelType.Int64: TensorPrimitives.ConvertTruncating<long, T>(MemoryMarshal.Cast<byte, long>(b), destination); break;
            case VoxelType.UInt64: TensorPrimitives.ConvertTruncating<ulong, T>(MemoryMarshal.Cast<byte, ulong>(b), destination); break;
            case VoxelType.Float32: TensorPrimitives.ConvertTruncating<float, T>(MemoryMarshal.Cast<byte, float>(b), destination); break;
            case VoxelType.Float64: TensorPrimitives.ConvertTruncating<double, T>(MemoryMarshal.Cast<byte, double>(b), destination); break;
            default: throw new NotSupportedException($"voxel type {DataType}");
        }
    }

    /// <summary>
    /// A tensor of shape [C, k, j, i] (3D) or [C, j, i] (2D): channels first, then the spatial index
    /// axes reversed, so the voxel buffer is used as-is (one copy into libtorch, no reordering).
    /// Unscaled voxels keep their dtype when libtorch has it; scaled volumes, uint16/32/64 and
    /// <paramref name="asFloat32"/> give float32. RGB becomes 3 channels.
    /// </summary>
    public Tensor ToTensor(bool asFloat32 = false, torch.Device? device = null)
    {
        var shape = TensorShape();
        if (!asFloat32 && !IsScaled && DataType.TensorDType() is torch.ScalarType d && DataType != VoxelType.Rgb24)
            return TensorData.FromSpan<byte>(Data, d, shape, device);
        if (DataType == VoxelType.Float32 && !IsScaled)
            return TensorData.FromSpan(MemoryMarshal.Cast<byte, float>(Data), torch.ScalarType.Float32, shape, device);
        var values = ToFloatArray();
        if (DataType == VoxelType.Rgb24) values = Deinterleave(values, 3);
        return TensorData.FromSpan<float>(values, torch.ScalarType.Float32, shape, device);
    }

    /// <summary>The shape <see cref="ToTensor"/> produces.</summary>
    public long[] TensorShape()
    {
        var shape = new long[1 + SpatialRank];
        shape[0] = Channels;
        for (int a = 0; a < SpatialRank; a++) shape[SpatialRank - a] = Shape[a];
        return shape;
    }

    private static float[] Deinterleave(float[] values, int components)
    {
        int n = values.Length / components;
        var r = new float[values.Length];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < components; c++) r[c * n + i] = values[i * components + c];
        return r;
    }

    /// <summary>
    /// Builds a volume from a channels-first tensor [C, k, j, i] or [C, j, i] (the <see cref="ToTensor"/> layout).
    /// With one channel the result has only spatial axes.
    /// </summary>
    public static Volume FromTensor(Tensor tensor, Affine affine, int spatialRank)
    {
        var ts = tensor.shape;
        if (ts.Length != spatialRank + 1)
            throw new ArgumentException($"expected a [C, {(spatialRank == 3 ? "k, " : "")}j, i] tensor of rank {spatialRank + 1}, got shape [{string.Join(", ", ts)}]", nameof(tensor));
        var shape = new List<int>();
        for (int a = spatialRank; a >= 1; a--) shape.Add(checked((int)ts[a]));
        if (ts[0] != 1) shape.Add(checked((int)ts[0]));
        var type = tensor.dtype switch
        {
            torch.ScalarType.Byte => VoxelType.UInt8,
            torch.ScalarType.Int8 => VoxelType.Int8,
            torch.ScalarType.Int16 => VoxelType.Int16,
            torch.ScalarType.Int32 => VoxelType.Int32,
            torch.ScalarType.Int64 => VoxelType.Int64,
            torch.ScalarType.Float64 => VoxelType.Float64,
            torch.ScalarType.Float32 => VoxelType.Float32,
            var other => throw new NotSupportedException($"a volume cannot hold tensor dtype {other}; convert to float32 first"),
        };
        var bytes = TensorData.ToBytes(tensor);
        return new Volume(type, shape.ToArray(), bytes, affine, spatialRank);
    }

    /// <summary>A new volume with the same geometry and metadata but other voxels.</summary>
    public Volume WithVoxels<T>(ReadOnlySpan<T> voxels, int[]? shape = null, Affine? affine = null) where T : unmanaged =>
        new(VoxelTypeExtensions.Of<T>(), shape ?? Shape, MemoryMarshal.AsBytes(voxels).ToArray(), affine ?? Affine, SpatialRank)
        {
            Metadata = new Dictionary<string, string>(Metadata, StringComparer.Ordinal),
            SourcePath = SourcePath,
        };

    /// <summary>A float32 copy holding the scaled values (slope 1, intercept 0).</summary>
    public Volume ToFloat32() => DataType == VoxelType.Rgb24
        ? WithVoxels<float>(Deinterleave(ToFloatArray(), 3), [.. Shape, 3])
        : WithVoxels<float>(ToFloatArray());

    internal string Describe() => SourcePath is null ? "" : $" '{SourcePath}'";

    public override string ToString() =>
        $"Volume({DataType.Name()} [{string.Join(", ", Shape)}], spacing [{string.Join(", ", Spacing.Select(s => s.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)))}], {Affine.OrientationCode()})";
}
