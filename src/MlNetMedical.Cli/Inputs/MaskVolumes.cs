using MlNetMedical.Data;
using MlNetMedical.Imaging;

namespace MlNetMedical.Cli.Inputs;

/// <summary>
/// Writes the core's predicted <see cref="LabelMap"/> (row-major, last axis fastest) back as the imaging layer's mask
/// <see cref="Volume"/> (file index order, i fastest): the voxel buffer is the same, the axes are reversed. The other way,
/// volume to label map, is the core's <see cref="MaskConverters.FromVolume"/>.
/// </summary>
public static class MaskVolumes
{
    /// <summary>A predicted label map (computed on <paramref name="grid"/>'s voxels) as a uint8 (or int16) volume with that grid's geometry.</summary>
    public static Volume ToVolume(LabelMap map, Volume grid)
    {
        var shape = map.Shape.Reverse().ToArray();
        if (!shape.SequenceEqual(grid.Shape.Take(grid.SpatialRank)))
            throw new InvalidOperationException($"the predicted mask has shape [{string.Join(", ", shape)}] but the image grid is [{string.Join(", ", grid.Shape.Take(grid.SpatialRank))}]");
        return Labels(map.Labels, shape, grid.Affine, grid.SpatialRank);
    }

    /// <summary>uint8 voxels when every label fits, int16 otherwise.</summary>
    private static Volume Labels(int[] labels, int[] shape, Affine affine, int rank) => labels.All(l => l <= byte.MaxValue)
        ? Volume.Create<byte>(labels.Select(l => (byte)l).ToArray(), shape, affine, rank)
        : Volume.Create<short>(labels.Select(l => checked((short)l)).ToArray(), shape, affine, rank);

    /// <summary>
    /// Resamples <paramref name="mask"/> onto <paramref name="target"/>'s voxel grid by nearest neighbour in world
    /// coordinates (voxels that fall outside the mask get 0), so a mask predicted on a resampled or cropped image lands
    /// on the original image's grid. Returns <paramref name="mask"/> itself when the grids already agree.
    /// </summary>
    public static Volume OntoGrid(Volume mask, Volume target)
    {
        var rank = target.SpatialRank;
        var targetShape = target.Shape.Take(rank).ToArray();
        if (mask.Shape.SequenceEqual(targetShape) && mask.Affine.ApproximatelyEquals(target.Affine)) return mask;
        var toMask = mask.Affine.Inverse() * target.Affine;   // target voxel index → mask voxel index
        var source = mask.ToFloatArray();
        var size = mask.Size3;
        var t3 = target.Size3;
        var result = new int[targetShape.Aggregate(1L, (a, b) => a * b)];
        long n = 0;
        for (var k = 0; k < t3[2]; k++)
            for (var j = 0; j < t3[1]; j++)
                for (var i = 0; i < t3[0]; i++, n++)
                {
                    var p = toMask.Apply(i, j, k);
                    int si = (int)Math.Round(p[0]), sj = (int)Math.Round(p[1]), sk = (int)Math.Round(p[2]);
                    if (si < 0 || sj < 0 || sk < 0 || si >= size[0] || sj >= size[1] || sk >= size[2]) continue;
                    result[n] = (int)source[((long)sk * size[1] + sj) * size[0] + si];
                }
        return Labels(result, targetShape, target.Affine, rank);
    }
}
