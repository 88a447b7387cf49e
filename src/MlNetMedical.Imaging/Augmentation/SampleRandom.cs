using System.Security.Cryptography;
using System.Text;

namespace MlNetMedical.Imaging.Augmentation;

/// <summary>
/// SplitMix64 generator seeded from (seed, epoch, sample key): the same sample in the same epoch always
/// draws the same augmentation, whatever batch it lands in and whichever device runs it.
/// </summary>
public sealed class SampleRandom
{
    private ulong state;
    private double? spare;

    public SampleRandom(int seed, int epoch, string sampleKey)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}|{epoch}|{sampleKey}"));
        state = BitConverter.ToUInt64(h, 0);
    }

    public ulong NextULong()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();
    public bool Chance(double p) => p > 0 && NextDouble() < p;
    public int Next(int n) => (int)(NextULong() % (ulong)n);

    /// <summary>Standard normal (Box–Muller, pairs cached).</summary>
    public double Gaussian()
    {
        if (spare is { } s) { spare = null; return s; }
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        double r = Math.Sqrt(-2 * Math.Log(u1));
        spare = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }
}
