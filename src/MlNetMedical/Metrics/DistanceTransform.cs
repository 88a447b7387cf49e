namespace MlNetMedical.Metrics;

/// <summary>
/// Exact Euclidean distance transform with anisotropic spacing, by Felzenszwalb and Huttenlocher's
/// separable lower-envelope-of-parabolas algorithm: one linear pass per axis, O(voxels × axes).
/// </summary>
public static class DistanceTransform
{
    /// <summary>
    /// For every voxel, the squared physical distance to the nearest site (a voxel where
    /// <paramref name="sites"/> is true); 0 at sites, +∞ everywhere when there are no sites.
    /// </summary>
    /// <param name="sites">Row-major voxel flags (last axis fastest).</param>
    /// <param name="shape">Axis sizes, slowest first (any number of axes).</param>
    /// <param name="spacing">Physical step per axis, aligned with <paramref name="shape"/>.</param>
    public static double[] SquaredDistanceToSites(ReadOnlySpan<bool> sites, IReadOnlyList<int> shape, IReadOnlyList<double> spacing)
    {
        if (shape.Count != spacing.Count)
            throw new ArgumentException($"spacing has {spacing.Count} axes but shape has {shape.Count}", nameof(spacing));
        long total = 1;
        foreach (var s in shape) total *= s;
        if (total != sites.Length)
            throw new ArgumentException($"sites has {sites.Length} voxels but shape [{string.Join(", ", shape)}] needs {total}", nameof(sites));

        var d = new double[sites.Length];
        for (var i = 0; i < d.Length; i++) d[i] = sites[i] ? 0 : double.PositiveInfinity;

        var maxLen = shape.Max();
        var f = new double[maxLen];
        var output = new double[maxLen];
        var hullSites = new int[maxLen];
        var bounds = new double[maxLen + 1];
        long stride = 1;
        for (var axis = shape.Count - 1; axis >= 0; axis--)
        {
            var n = shape[axis];
            var step = spacing[axis];
            // Lines along this axis start at every index whose coordinate on the axis is 0.
            var outer = total / (stride * n);
            for (long o = 0; o < outer; o++)
                for (long inner = 0; inner < stride; inner++)
                {
                    var start = o * stride * n + inner;
                    for (var q = 0; q < n; q++) f[q] = d[start + q * stride];
                    Transform1D(f.AsSpan(0, n), output.AsSpan(0, n), step, hullSites, bounds);
                    for (var q = 0; q < n; q++) d[start + q * stride] = output[q];
                }
            stride *= n;
        }
        return d;
    }

    /// <summary>out[q] = min_p (step·(q − p))² + f[p], skipping samples where f is +∞.</summary>
    private static void Transform1D(ReadOnlySpan<double> f, Span<double> output, double step, int[] v, double[] z)
    {
        var n = f.Length;
        var k = -1;   // index of the rightmost parabola in the lower envelope
        for (var q = 0; q < n; q++)
        {
            if (double.IsPositiveInfinity(f[q])) continue;
            if (k < 0)
            {
                k = 0;
                v[0] = q;
                z[0] = double.NegativeInfinity;
                z[1] = double.PositiveInfinity;
                continue;
            }
            double s;
            while (true)
            {
                // Intersection (in physical units) of the parabolas rooted at v[k] and q; z[0] = −∞ stops the loop.
                double xq = q * step, xp = v[k] * step;
                s = (f[q] + xq * xq - (f[v[k]] + xp * xp)) / (2 * (xq - xp));
                if (s > z[k]) break;
                k--;
            }
            k++;
            v[k] = q;
            z[k] = s;
            z[k + 1] = double.PositiveInfinity;
        }
        if (k < 0)
        {
            output.Fill(double.PositiveInfinity);
            return;
        }
        var j = 0;
        for (var q = 0; q < n; q++)
        {
            var x = q * step;
            while (z[j + 1] < x) j++;
            var dx = x - v[j] * step;
            output[q] = dx * dx + f[v[j]];
        }
    }
}
