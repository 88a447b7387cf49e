namespace MlNetMedical.Imaging.Synthetic;

/// <summary>
/// Smooth random fields for texture, surface roughness, deformation and bias: hashed value noise on
/// an integer lattice with smoothstep interpolation, values in about [-1, 1]. Stateless apart from its
/// key, so one field can be sampled from many threads and anywhere without a precomputed grid.
/// </summary>
public readonly struct SmoothNoise
{
    private readonly uint key;

    public SmoothNoise(SyntheticRandom random) => key = (uint)random.NextUInt64();

    private float Lattice(int x, int y, int z)
    {
        uint h = key ^ (uint)x * 0x8DA6B343u ^ (uint)y * 0xD8163841u ^ (uint)z * 0xCB1AB31Fu;
        h ^= h >> 15; h *= 0x2C1B3C6Du; h ^= h >> 12; h *= 0x297A2D39u; h ^= h >> 15;
        return (h & 0xFFFFFF) * (2f / 0xFFFFFF) - 1f;
    }

    private static float Fade(float t) => t * t * (3 - 2 * t);

    /// <summary>The field at (x, y, z) in lattice units (one lattice cell ≈ one feature).</summary>
    public float Sample(float x, float y, float z)
    {
        int xi = (int)MathF.Floor(x), yi = (int)MathF.Floor(y), zi = (int)MathF.Floor(z);
        float fx = Fade(x - xi), fy = Fade(y - yi), fz = Fade(z - zi);
        float c000 = Lattice(xi, yi, zi), c100 = Lattice(xi + 1, yi, zi);
        float c010 = Lattice(xi, yi + 1, zi), c110 = Lattice(xi + 1, yi + 1, zi);
        float c001 = Lattice(xi, yi, zi + 1), c101 = Lattice(xi + 1, yi, zi + 1);
        float c011 = Lattice(xi, yi + 1, zi + 1), c111 = Lattice(xi + 1, yi + 1, zi + 1);
        float x00 = c000 + fx * (c100 - c000), x10 = c010 + fx * (c110 - c010);
        float x01 = c001 + fx * (c101 - c001), x11 = c011 + fx * (c111 - c011);
        float y0 = x00 + fy * (x10 - x00), y1 = x01 + fy * (x11 - x01);
        return y0 + fz * (y1 - y0);
    }

    /// <summary>The field at a point in millimetres, with features about <paramref name="scaleMm"/> apart.</summary>
    public float At(double x, double y, double z, double scaleMm) =>
        Sample((float)(x / scaleMm), (float)(y / scaleMm), (float)(z / scaleMm));

    /// <summary>Two octaves (the second at twice the frequency, half the amplitude), about [-1.5, 1.5].</summary>
    public float Rough(double x, double y, double z, double scaleMm) =>
        At(x, y, z, scaleMm) + 0.5f * At(x + 17.3, y - 5.1, z + 9.7, scaleMm / 2);
}
