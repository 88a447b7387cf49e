using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Imaging.Datasets;

/// <summary>Cuts 3D samples into 2D samples along an index axis (all slices, or only those where the label is non-zero).</summary>
public static class SliceExtractor
{
    public static IEnumerable<Sample> Slices(Sample sample, int axis = 2, bool onlyLabelled = false)
    {
        if (sample.Image.SpatialRank != 3) throw new ArgumentException($"sample '{sample.Id}' is {sample.Image.SpatialRank}D; slices come from 3D volumes");
        if (axis is < 0 or > 2) throw new ArgumentOutOfRangeException(nameof(axis), axis, "axis is 0, 1 or 2");
        if (onlyLabelled && sample.Label is null) throw new ArgumentException($"sample '{sample.Id}' has no label to select slices by");
        var image = Grid.From(sample.Image);
        var label = sample.Label is null ? null : Grid.From(sample.Label);
        int[] size = [image.X, image.Y, image.Z];
        for (int s = 0; s < size[axis]; s++)
        {
            var lab = label is null ? null : Cut(label, axis, s);
            if (onlyLabelled && !lab!.Data.Any(v => v != 0)) continue;
            var img = Cut(image, axis, s);
            var sliceImage = img.ToVolume(sample.Image);
            var sliceLabel = lab?.ToVolume(sample.Label!, Grid.LabelType(sample.Label!));
            var result = new Sample($"{sample.Id}#{"ijk"[axis]}{s}", sliceImage, sliceLabel, sample.ClassLabel);
            foreach (var kv in sample.Metadata) result.Metadata[kv.Key] = kv.Value;
            result.Metadata["slice"] = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
            yield return result;
        }
    }

    /// <summary>The 2D grid of slice <paramref name="s"/>: the two remaining axes in order, affine columns moved to match.</summary>
    private static Grid Cut(Grid g, int axis, int s)
    {
        int[] size = [g.X, g.Y, g.Z];
        int a0 = axis == 0 ? 1 : 0, a1 = axis == 2 ? 1 : 2;
        // New index (u, v, 0) ↦ old index with axis = s; keep the sliced axis as the (unit) third column.
        var m = new double[16];
        m[a0 * 4 + 0] = 1; m[a1 * 4 + 1] = 1; m[axis * 4 + 2] = 1; m[axis * 4 + 3] = s; m[15] = 1;
        var n = new Grid(size[a0], size[a1], 1, g.C, 2, g.Affine * new Affine(m));
        var idx = new int[3];
        for (int c = 0; c < g.C; c++)
            for (int v = 0; v < size[a1]; v++)
                for (int u = 0; u < size[a0]; u++)
                {
                    idx[a0] = u; idx[a1] = v; idx[axis] = s;
                    n.Data[n.Index(u, v, 0, c)] = g.Data[g.Index(idx[0], idx[1], idx[2], c)];
                }
        return n;
    }
}
