using System.Diagnostics;
using System.Globalization;
using MlNetMedical.Metrics;
using Xunit;

namespace MlNetMedical.Tests.Metrics;

public class DistanceTransformTests
{
    private static (bool[] Sites, int[] Shape, double[] Spacing) RandomCase(int seed, int dims, double density)
    {
        var random = new Random(seed);
        var shape = Enumerable.Range(0, dims).Select(_ => random.Next(1, 9)).ToArray();
        var spacing = Enumerable.Range(0, dims).Select(_ => 0.3 + 2.5 * random.NextDouble()).ToArray();
        var sites = new bool[shape.Aggregate(1, (a, b) => a * b)];
        for (var i = 0; i < sites.Length; i++) sites[i] = random.NextDouble() < density;
        return (sites, shape, spacing);
    }

    private static int[] Coordinates(int index, int[] shape)
    {
        var c = new int[shape.Length];
        for (var d = shape.Length - 1; d >= 0; d--) { c[d] = index % shape[d]; index /= shape[d]; }
        return c;
    }

    private static double[] BruteForce(bool[] sites, int[] shape, double[] spacing)
    {
        var result = new double[sites.Length];
        for (var i = 0; i < sites.Length; i++)
        {
            var best = double.PositiveInfinity;
            var ci = Coordinates(i, shape);
            for (var j = 0; j < sites.Length; j++)
            {
                if (!sites[j]) continue;
                var cj = Coordinates(j, shape);
                double sq = 0;
                for (var d = 0; d < shape.Length; d++) sq += Math.Pow((ci[d] - cj[d]) * spacing[d], 2);
                best = Math.Min(best, sq);
            }
            result[i] = best;
        }
        return result;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void MatchesBruteForceOnRandomAnisotropicMasks(int dims)
    {
        for (var seed = 0; seed < 60; seed++)
        {
            var (sites, shape, spacing) = RandomCase(seed, dims, density: seed % 3 == 0 ? 0.03 : 0.2);
            var fast = DistanceTransform.SquaredDistanceToSites(sites, shape, spacing);
            var slow = BruteForce(sites, shape, spacing);
            for (var i = 0; i < fast.Length; i++)
                if (double.IsPositiveInfinity(slow[i])) Assert.True(double.IsPositiveInfinity(fast[i]));
                else Assert.True(Math.Abs(fast[i] - slow[i]) < 1e-9, $"seed {seed} voxel {i}: {fast[i]} vs {slow[i]}");
        }
    }

    [Fact]
    public void SurfaceFiguresMatchBruteForceOnRandomMasks()
    {
        for (var seed = 0; seed < 30; seed++)
        {
            var (a, shape, spacing) = RandomCase(seed, 3, 0.4);
            var (b, _, _) = RandomCase(seed, 3, 0.4);   // same shape and spacing, other draw below
            var random = new Random(seed + 1000);
            for (var i = 0; i < b.Length; i++) b[i] = random.NextDouble() < 0.4;
            if (!a.Contains(true) || !b.Contains(true)) continue;
            var (hd95, msd) = SurfaceDistance.Compute(a, b, shape, spacing);
            var sa = SurfaceDistance.Boundary(a, shape);
            var sb = SurfaceDistance.Boundary(b, shape);
            var toB = BruteForce(sb, shape, spacing);
            var toA = BruteForce(sa, shape, spacing);
            var ab = Enumerable.Range(0, a.Length).Where(i => sa[i]).Select(i => Math.Sqrt(toB[i])).ToArray();
            var ba = Enumerable.Range(0, a.Length).Where(i => sb[i]).Select(i => Math.Sqrt(toA[i])).ToArray();
            Assert.Equal(Math.Max(SurfaceDistance.Percentile(ab, 95), SurfaceDistance.Percentile(ba, 95)), hd95, 9);
            Assert.Equal(ab.Concat(ba).Average(), msd, 9);
        }
    }

    [Fact]
    public void SmallObjectsInALargeImageMatchBruteForce()
    {
        // Sparse masks, so the distance transform runs on a bounding box much smaller than the image.
        var shape = new[] { 9, 12, 10 };
        var spacing = new[] { 2.5, 0.7, 1.1 };
        var random = new Random(17);
        for (var trial = 0; trial < 10; trial++)
        {
            var a = new bool[9 * 12 * 10];
            var b = new bool[a.Length];
            for (var k = 0; k < 4; k++)
            {
                a[(2 + random.Next(3)) * 120 + (3 + random.Next(4)) * 10 + 2 + random.Next(3)] = true;
                b[(3 + random.Next(4)) * 120 + (5 + random.Next(3)) * 10 + 4 + random.Next(4)] = true;
            }
            var (hd95, msd) = SurfaceDistance.Compute(a, b, shape, spacing);
            var toB = BruteForce(SurfaceDistance.Boundary(b, shape), shape, spacing);
            var toA = BruteForce(SurfaceDistance.Boundary(a, shape), shape, spacing);
            var ab = Enumerable.Range(0, a.Length).Where(i => a[i]).Select(i => Math.Sqrt(toB[i])).ToArray();   // isolated voxels: all surface
            var ba = Enumerable.Range(0, a.Length).Where(i => b[i]).Select(i => Math.Sqrt(toA[i])).ToArray();
            Assert.Equal(Math.Max(SurfaceDistance.Percentile(ab, 95), SurfaceDistance.Percentile(ba, 95)), hd95, 9);
            Assert.Equal(ab.Concat(ba).Average(), msd, 9);
            Assert.Equal(ab, SurfaceDistance.Directed(a, b, shape, spacing).Select(v => Math.Round(v, 9)), new RoundedComparer());
        }
    }

    private sealed class RoundedComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-9;
        public int GetHashCode(double obj) => 0;
    }

    [Fact]
    public void NoSitesGivesInfinityEverywhere()
    {
        var d = DistanceTransform.SquaredDistanceToSites(new bool[12], [3, 4], [1, 1]);
        Assert.All(d, v => Assert.True(double.IsPositiveInfinity(v)));
        Assert.Throws<ArgumentException>(() => DistanceTransform.SquaredDistanceToSites(new bool[11], [3, 4], [1, 1]));
    }

    [ScipyFact]
    public void MatchesScipyDistanceTransformEdt()
    {
        foreach (var (seed, dims) in new[] { (3, 3), (7, 2), (11, 3) })
        {
            var (sites, shape, spacing) = RandomCase(seed, dims, 0.1);
            sites[0] = true;   // scipy has no "no sites" convention worth comparing
            var ours = DistanceTransform.SquaredDistanceToSites(sites, shape, spacing);
            var theirs = Scipy.Edt(sites, shape, spacing);
            for (var i = 0; i < ours.Length; i++)
                Assert.True(Math.Abs(Math.Sqrt(ours[i]) - theirs[i]) < 1e-9, $"voxel {i}: {Math.Sqrt(ours[i])} vs scipy {theirs[i]}");
        }
    }
}

public class SurfaceDistanceScipyTests
{
    [ScipyFact]
    public void Hd95AndMeanSurfaceDistanceMatchAScipyComputation()
    {
        // Independent reading of the same conventions: surface = mask minus its face-connected erosion (border counts
        // as background), EDT with sampling, max of directed 95th percentiles, mean over both directed sets.
        var random = new Random(23);
        foreach (var shape in new[] { new[] { 7, 9, 8 }, new[] { 11, 13 } })
        {
            var spacing = shape.Select(_ => 0.4 + 2 * random.NextDouble()).ToArray();
            var n = shape.Aggregate(1, (a, b) => a * b);
            var a = new bool[n];
            var b = new bool[n];
            for (var i = 0; i < n; i++) { a[i] = random.NextDouble() < 0.35; b[i] = random.NextDouble() < 0.35; }
            var (hd95, msd) = SurfaceDistance.Compute(a, b, shape, spacing);
            var (scipyHd95, scipyMsd) = Scipy.SurfaceFigures(a, b, shape, spacing);
            Assert.Equal(scipyHd95, hd95, 9);
            Assert.Equal(scipyMsd, msd, 9);
        }
    }
}

/// <summary>Runs only when /usr/bin/python3 has scipy; otherwise shows as skipped with the reason.</summary>
public sealed class ScipyFactAttribute : FactAttribute
{
    public ScipyFactAttribute()
    {
        if (!Scipy.Available) Skip = "needs /usr/bin/python3 with scipy (Debian python3-scipy)";
    }
}

internal static class Scipy
{
    private const string Python = "/usr/bin/python3";
    private static readonly Lazy<bool> IsAvailable = new(() => File.Exists(Python) && Run("import scipy.ndimage", "").ExitCode == 0);

    public static bool Available => IsAvailable.Value;

    /// <summary>scipy.ndimage.distance_transform_edt(~sites, sampling=spacing), flattened row-major.</summary>
    public static double[] Edt(bool[] sites, int[] shape, double[] spacing)
    {
        const string script = """
            import sys, numpy as np
            from scipy.ndimage import distance_transform_edt
            shape = [int(v) for v in sys.stdin.readline().split()]
            spacing = [float(v) for v in sys.stdin.readline().split()]
            sites = np.array([c == '1' for c in sys.stdin.readline().strip()]).reshape(shape)
            d = distance_transform_edt(~sites, sampling=spacing)
            print(' '.join(repr(float(v)) for v in d.ravel()))
            """;
        var input = string.Join(' ', shape) + "\n" + string.Join(' ', spacing.Select(s => s.ToString("R", CultureInfo.InvariantCulture)))
                    + "\n" + new string(sites.Select(s => s ? '1' : '0').ToArray()) + "\n";
        var (code, output) = Run(script, input);
        Assert.True(code == 0, output);
        return output.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>HD95 and mean surface distance of two masks, computed with numpy/scipy.</summary>
    public static (double Hd95, double Msd) SurfaceFigures(bool[] a, bool[] b, int[] shape, double[] spacing)
    {
        const string script = """
            import sys, numpy as np
            from scipy import ndimage as ndi
            shape = [int(v) for v in sys.stdin.readline().split()]
            spacing = [float(v) for v in sys.stdin.readline().split()]
            a = np.array([c == '1' for c in sys.stdin.readline().strip()]).reshape(shape)
            b = np.array([c == '1' for c in sys.stdin.readline().strip()]).reshape(shape)
            face = ndi.generate_binary_structure(len(shape), 1)
            sa = a & ~ndi.binary_erosion(a, structure=face, border_value=0)
            sb = b & ~ndi.binary_erosion(b, structure=face, border_value=0)
            ab = ndi.distance_transform_edt(~sb, sampling=spacing)[sa]
            ba = ndi.distance_transform_edt(~sa, sampling=spacing)[sb]
            print(repr(float(max(np.percentile(ab, 95), np.percentile(ba, 95)))), repr(float(np.concatenate([ab, ba]).mean())))
            """;
        string Bits(bool[] m) => new(m.Select(v => v ? '1' : '0').ToArray());
        var input = string.Join(' ', shape) + "\n" + string.Join(' ', spacing.Select(s => s.ToString("R", CultureInfo.InvariantCulture)))
                    + "\n" + Bits(a) + "\n" + Bits(b) + "\n";
        var (code, output) = Run(script, input);
        Assert.True(code == 0, output);
        var parts = output.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        return (parts[0], parts[1]);
    }

    private static (int ExitCode, string Output) Run(string script, string input)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}
