namespace MlNetMedical.Imaging.Synthetic;

/// <summary>
/// xoshiro256** seeded through SplitMix64. Owned here (not System.Random) so the stream is fixed by
/// this code alone: the same (seed, stream, index) gives the same numbers on every runtime, and each
/// case gets its own generator, so parallel generation stays deterministic.
/// </summary>
public sealed class SyntheticRandom
{
    private ulong s0, s1, s2, s3;

    public SyntheticRandom(ulong seed)
    {
        ulong x = seed;
        s0 = SplitMix(ref x); s1 = SplitMix(ref x); s2 = SplitMix(ref x); s3 = SplitMix(ref x);
    }

    /// <summary>The generator for one (seed, stream, index) triple; streams separate e.g. phantoms from slices.</summary>
    public static SyntheticRandom For(long seed, string stream, long index) => new(Mix(seed, stream, index));

    /// <summary>A 64-bit key for (seed, stream, index), also used to seed hash noise.</summary>
    public static ulong Mix(long seed, string stream, long index)
    {
        ulong h = 0xcbf29ce484222325UL; // FNV-1a over the stream name, then SplitMix over the numbers
        foreach (char c in stream) { h ^= c; h *= 0x100000001b3UL; }
        ulong x = h ^ (ulong)seed * 0x9E3779B97F4A7C15UL;
        x = SplitMix(ref x) ^ (ulong)index * 0xD1B54A32D192ED03UL;
        return SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double min, double max) => min + (max - min) * NextDouble();

    /// <summary>Uniform integer in [0, n).</summary>
    public int Next(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        return (int)((NextUInt64() >> 33) * (ulong)n >> 31);
    }

    public bool Chance(double p) => NextDouble() < p;

    private double spare;
    private bool hasSpare;

    /// <summary>Standard normal (Marsaglia polar method).</summary>
    public double Gaussian()
    {
        if (hasSpare) { hasSpare = false; return spare; }
        double u, v, s;
        do { u = 2 * NextDouble() - 1; v = 2 * NextDouble() - 1; s = u * u + v * v; } while (s >= 1 || s == 0);
        double f = Math.Sqrt(-2 * Math.Log(s) / s);
        spare = v * f; hasSpare = true;
        return u * f;
    }

    public double Gaussian(double mean, double sd) => mean + sd * Gaussian();

    /// <summary>A uniformly random unit vector.</summary>
    public (double X, double Y, double Z) UnitVector()
    {
        double z = Uniform(-1, 1), a = Uniform(0, 2 * Math.PI), r = Math.Sqrt(1 - z * z);
        return (r * Math.Cos(a), r * Math.Sin(a), z);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
