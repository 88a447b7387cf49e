namespace MlNetMedical.Metrics;

/// <summary>
/// Surface-distance figures between two binary masks, in physical units.
/// </summary>
/// <remarks>
/// <para>The surface of a mask is its boundary voxels: foreground voxels with at least one face neighbour
/// (4-connectivity in 2D, 6-connectivity in 3D) that is background or outside the image. A one-voxel-thick
/// structure is all surface.</para>
/// <para>Distances are between voxel centres: from each surface voxel of one mask to the nearest surface voxel
/// of the other, computed with the exact distance transform (<see cref="DistanceTransform"/>), so anisotropic
/// spacing is exact.</para>
/// <para>HD95 is the larger of the two directed 95th percentiles (linear interpolation between order statistics,
/// as numpy's default), as MONAI computes it. The mean surface distance is the average symmetric surface
/// distance: the mean over the union of both directed distance sets.</para>
/// <para>Empty masks: both empty → NaN (nothing to measure); exactly one empty → +∞ (a total miss).</para>
/// </remarks>
public static class SurfaceDistance
{
    /// <summary>Marks the boundary voxels of <paramref name="mask"/> (see the type remarks for the connectivity).</summary>
    public static bool[] Boundary(ReadOnlySpan<bool> mask, IReadOnlyList<int> shape)
    {
        var strides = Strides(shape);
        var boundary = new bool[mask.Length];
        for (var i = 0; i < mask.Length; i++)
        {
            if (!mask[i]) continue;
            var rest = (long)i;
            for (var axis = 0; axis < shape.Count && !boundary[i]; axis++)
            {
                var coordinate = rest / strides[axis];
                rest %= strides[axis];
                boundary[i] = coordinate == 0 || coordinate == shape[axis] - 1
                    || !mask[(int)(i - strides[axis])] || !mask[(int)(i + strides[axis])];
            }
        }
        return boundary;
    }

    /// <summary>Distances from each surface voxel of <paramref name="from"/> to the nearest surface voxel of
    /// <paramref name="to"/>. Empty when <paramref name="from"/> is empty; all +∞ when <paramref name="to"/> is.</summary>
    public static double[] Directed(ReadOnlySpan<bool> from, ReadOnlySpan<bool> to, IReadOnlyList<int> shape, IReadOnlyList<double> spacing)
    {
        var fromSurface = Boundary(from, shape);
        var squared = DistanceTransform.SquaredDistanceToSites(Boundary(to, shape), shape, spacing);
        var distances = new List<double>();
        for (var i = 0; i < fromSurface.Length; i++)
            if (fromSurface[i]) distances.Add(Math.Sqrt(squared[i]));
        return distances.ToArray();
    }

    /// <summary>The 95th-percentile Hausdorff distance and the average symmetric surface distance of two masks.</summary>
    public static (double Hausdorff95, double MeanSurfaceDistance) Compute(
        ReadOnlySpan<bool> a, ReadOnlySpan<bool> b, IReadOnlyList<int> shape, IReadOnlyList<double> spacing)
    {
        var aEmpty = !a.Contains(true);
        var bEmpty = !b.Contains(true);
        if (aEmpty && bEmpty) return (double.NaN, double.NaN);
        if (aEmpty || bEmpty) return (double.PositiveInfinity, double.PositiveInfinity);
        var ab = Directed(a, b, shape, spacing);
        var ba = Directed(b, a, shape, spacing);
        var hd95 = Math.Max(Percentile(ab, 95), Percentile(ba, 95));
        var mean = (ab.Sum() + ba.Sum()) / (ab.Length + ba.Length);
        return (hd95, mean);
    }

    /// <summary>The q-th percentile (0..100) with linear interpolation between order statistics (numpy's default).</summary>
    public static double Percentile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0) throw new ArgumentException("cannot take a percentile of no values", nameof(values));
        if (q is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(q), q, "must be in [0, 100]");
        var sorted = values.Order().ToArray();
        var position = q / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }

    internal static long[] Strides(IReadOnlyList<int> shape)
    {
        var strides = new long[shape.Count];
        long stride = 1;
        for (var axis = shape.Count - 1; axis >= 0; axis--)
        {
            strides[axis] = stride;
            stride *= shape[axis];
        }
        return strides;
    }
}
