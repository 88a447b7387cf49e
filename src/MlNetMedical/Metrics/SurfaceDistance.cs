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
    public static double[] Directed(ReadOnlySpan<bool> from, ReadOnlySpan<bool> to, IReadOnlyList<int> shape, IReadOnlyList<double> spacing) =>
        DirectedBetweenSurfaces(Boundary(from, shape), Boundary(to, shape), shape, spacing);

    /// <summary>The 95th-percentile Hausdorff distance and the average symmetric surface distance of two masks.</summary>
    public static (double Hausdorff95, double MeanSurfaceDistance) Compute(
        ReadOnlySpan<bool> a, ReadOnlySpan<bool> b, IReadOnlyList<int> shape, IReadOnlyList<double> spacing)
    {
        var aEmpty = !a.Contains(true);
        var bEmpty = !b.Contains(true);
        if (aEmpty && bEmpty) return (double.NaN, double.NaN);
        if (aEmpty || bEmpty) return (double.PositiveInfinity, double.PositiveInfinity);
        var sa = Boundary(a, shape);
        var sb = Boundary(b, shape);
        var ab = DirectedBetweenSurfaces(sa, sb, shape, spacing);
        var ba = DirectedBetweenSurfaces(sb, sa, shape, spacing);
        var hd95 = Math.Max(Percentile(ab, 95), Percentile(ba, 95));
        var mean = (ab.Sum() + ba.Sum()) / (ab.Length + ba.Length);
        return (hd95, mean);
    }

    /// <summary>
    /// Distances from each voxel of surface <paramref name="from"/> to the nearest voxel of surface <paramref name="to"/>.
    /// The distance transform runs only over the bounding box of both surfaces: every site and every query lies inside
    /// it, so the distances are exact, and a small lesion in a large scan costs little.
    /// </summary>
    private static double[] DirectedBetweenSurfaces(bool[] from, bool[] to, IReadOnlyList<int> shape, IReadOnlyList<double> spacing)
    {
        if (!from.Contains(true)) return [];
        var strides = Strides(shape);
        var low = shape.ToArray();
        var high = new int[shape.Count];
        for (var i = 0; i < from.Length; i++)
        {
            if (!from[i] && !to[i]) continue;
            var rest = (long)i;
            for (var d = 0; d < shape.Count; d++)
            {
                var c = (int)(rest / strides[d]);
                rest %= strides[d];
                low[d] = Math.Min(low[d], c);
                high[d] = Math.Max(high[d], c + 1);
            }
        }
        var box = low.Select((l, d) => high[d] - l).ToArray();
        var boxSites = new bool[box.Aggregate(1L, (p, s) => p * s)];
        var boxFrom = new bool[boxSites.Length];
        var boxStrides = Strides(box);
        for (long j = 0; j < boxSites.Length; j++)
        {
            long full = 0, rest = j;
            for (var d = 0; d < box.Length; d++)
            {
                full += (rest / boxStrides[d] + low[d]) * strides[d];
                rest %= boxStrides[d];
            }
            boxSites[j] = to[full];
            boxFrom[j] = from[full];
        }
        var squared = DistanceTransform.SquaredDistanceToSites(boxSites, box, spacing);
        var distances = new List<double>();
        for (var j = 0; j < boxFrom.Length; j++)
            if (boxFrom[j]) distances.Add(Math.Sqrt(squared[j]));
        return distances.ToArray();
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
