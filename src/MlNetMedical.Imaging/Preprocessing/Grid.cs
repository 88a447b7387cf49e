using System.Runtime.InteropServices;

namespace MlNetMedical.Imaging.Preprocessing;

/// <summary>
/// Float32 working copy of a volume: X fastest, then Y, Z, then channels (the <see cref="Volume"/> layout).
/// 2D volumes have Z = 1.
/// </summary>
internal sealed class Grid
{
    public int X, Y, Z, C;
    public float[] Data;
    public int SpatialRank;
    public Affine Affine;

    public Grid(int x, int y, int z, int c, int spatialRank, Affine affine, float[]? data = null)
    {
        X = x; Y = y; Z = z; C = c; SpatialRank = spatialRank; Affine = affine;
        Data = data ?? new float[(long)x * y * z * c];
    }

    public int Plane => X * Y * Z;
    public int Index(int x, int y, int z, int c) => ((c * Z + z) * Y + y) * X + x;
    public Span<float> Channel(int c) => Data.AsSpan(c * Plane, Plane);

    public static Grid From(Volume v)
    {
        var f = v.DataType == VoxelType.Rgb24 ? v.ToFloat32() : v;
        var s = f.Size3;
        var data = f.DataType == VoxelType.Float32 && !f.IsScaled ? MemoryMarshal.Cast<byte, float>(f.Data.AsSpan()).ToArray() : f.ToFloatArray();
        return new Grid(s[0], s[1], s[2], f.Channels, v.SpatialRank, v.Affine, data);
    }

    /// <summary>Back to a volume of <paramref name="type"/> (float32 for images; labels keep their integer type).</summary>
    public Volume ToVolume(Volume like, VoxelType type = VoxelType.Float32)
    {
        var shape = new List<int> { X };
        if (SpatialRank > 1) shape.Add(Y);
        if (SpatialRank > 2) shape.Add(Z);
        if (C > 1) shape.Add(C);
        var meta = new Dictionary<string, string>(like.Metadata, StringComparer.Ordinal);
        var v = type switch
        {
            VoxelType.Float32 => Volume.Create<float>(Data, shape.ToArray(), Affine, SpatialRank),
            VoxelType.UInt8 => Volume.Create<byte>(Data.Select(d => (byte)Math.Clamp(MathF.Round(d), 0, 255)).ToArray(), shape.ToArray(), Affine, SpatialRank),
            VoxelType.Int16 => Volume.Create<short>(Data.Select(d => (short)Math.Clamp(MathF.Round(d), short.MinValue, short.MaxValue)).ToArray(), shape.ToArray(), Affine, SpatialRank),
            VoxelType.UInt16 => Volume.Create<ushort>(Data.Select(d => (ushort)Math.Clamp(MathF.Round(d), 0, ushort.MaxValue)).ToArray(), shape.ToArray(), Affine, SpatialRank),
            _ => Volume.Create<int>(Data.Select(d => (int)MathF.Round(d)).ToArray(), shape.ToArray(), Affine, SpatialRank),
        };
        foreach (var kv in meta) v.Metadata[kv.Key] = kv.Value;
        v.SourcePath = like.SourcePath;
        return v;
    }

    /// <summary>The integer type a label keeps through transforms.</summary>
    public static VoxelType LabelType(Volume label) => label.DataType switch
    {
        VoxelType.UInt8 or VoxelType.Int8 => VoxelType.UInt8,
        VoxelType.Int16 => VoxelType.Int16,
        VoxelType.UInt16 => VoxelType.UInt16,
        _ => VoxelType.Int32,
    };

    /// <summary>A sub-box [x0, x0+nx) × ... (indices may lie outside: those voxels get <paramref name="fill"/>), with the affine moved to match.</summary>
    public Grid Box(int x0, int y0, int z0, int nx, int ny, int nz, float fill)
    {
        var g = new Grid(nx, ny, nz, C, SpatialRank, Affine * Translation(x0, y0, z0));
        if (fill != 0) Array.Fill(g.Data, fill);
        for (int c = 0; c < C; c++)
            for (int z = 0; z < nz; z++)
            {
                int sz = z + z0;
                if (sz < 0 || sz >= Z) continue;
                for (int y = 0; y < ny; y++)
                {
                    int sy = y + y0;
                    if (sy < 0 || sy >= Y) continue;
                    int xs = Math.Max(0, -x0), xe = Math.Min(nx, X - x0);
                    if (xe <= xs) continue;
                    Array.Copy(Data, Index(xs + x0, sy, sz, c), g.Data, g.Index(xs, y, z, c), xe - xs);
                }
            }
        return g;
    }

    public static Affine Translation(double x, double y, double z) => new([1, 0, 0, x, 0, 1, 0, y, 0, 0, 1, z, 0, 0, 0, 1]);
}
