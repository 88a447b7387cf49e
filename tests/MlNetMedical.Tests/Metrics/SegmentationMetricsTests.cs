using MlNetMedical.Data;
using MlNetMedical.Metrics;
using Xunit;

namespace MlNetMedical.Tests.Metrics;

public class SegmentationMetricsTests
{
    /// <summary>A 6×6 map with label 1 on rows 1–3 and the given three columns.</summary>
    private static LabelMap Square(int firstColumn, double[]? spacing = null)
    {
        var labels = new int[36];
        for (var r = 1; r <= 3; r++)
            for (var c = firstColumn; c < firstColumn + 3; c++) labels[r * 6 + c] = 1;
        return new LabelMap([6, 6], labels, spacing);
    }

    private static LabelMap SingleVoxel(int[] shape, int[] at, double[] spacing)
    {
        var labels = new int[shape.Aggregate(1, (a, b) => a * b)];
        var index = 0;
        for (var d = 0; d < shape.Length; d++) index = index * shape[d] + at[d];
        labels[index] = 1;
        return new LabelMap(shape, labels, spacing);
    }

    [Fact]
    public void ShiftedSquareByHand()
    {
        // 3×3 squares one column apart: overlap 6, sizes 9 and 9. Each surface has 8 voxels, 4 of them on the
        // other surface and 4 one step away → HD95 = 1 step, mean surface distance = 8 / 16 steps.
        var s = SegmentationMetrics.ComputeCase(Square(1), Square(2), [1])[0];
        Assert.Equal(12.0 / 18, s.Dice, 12);
        Assert.Equal(6.0 / 12, s.IoU, 12);
        Assert.Equal(1.0, s.Hausdorff95, 12);
        Assert.Equal(0.5, s.MeanSurfaceDistance, 12);
        // Columns 0.5 mm apart, rows 2 mm: every one-step distance is now the 0.5 mm column step.
        var mm = SegmentationMetrics.ComputeCase(Square(1, [2.0, 0.5]), Square(2, [2.0, 0.5]), [1])[0];
        Assert.Equal(0.5, mm.Hausdorff95, 12);
        Assert.Equal(0.25, mm.MeanSurfaceDistance, 12);
        Assert.Equal(s.Dice, mm.Dice, 12);
    }

    [Fact]
    public void SpacingFollowsAxisOrderIn2DAnd3D()
    {
        // (0,0) to (1,3) with spacing (2, 0.5): √(2² + 1.5²) = 2.5.
        var s2 = SegmentationMetrics.ComputeCase(
            SingleVoxel([4, 4], [0, 0], [2, 0.5]), SingleVoxel([4, 4], [1, 3], [2, 0.5]), [1])[0];
        Assert.Equal(2.5, s2.Hausdorff95, 12);
        Assert.Equal(2.5, s2.MeanSurfaceDistance, 12);
        Assert.Equal(0.0, s2.Dice);
        // (0,0,0) to (2,1,3) with spacing (3, 2, 1): √(36 + 4 + 9) = 7.
        var s3 = SegmentationMetrics.ComputeCase(
            SingleVoxel([3, 2, 4], [0, 0, 0], [3, 2, 1]), SingleVoxel([3, 2, 4], [2, 1, 3], [3, 2, 1]), [1])[0];
        Assert.Equal(7.0, s3.Hausdorff95, 12);
    }

    [Fact]
    public void EmptyMaskConventions()
    {
        var empty = new LabelMap([4, 4], new int[16]);
        var both = SegmentationMetrics.ComputeCase(empty, empty, [1])[0];
        Assert.Equal(1.0, both.Dice);
        Assert.Equal(1.0, both.IoU);
        Assert.True(double.IsNaN(both.Hausdorff95));
        Assert.True(double.IsNaN(both.MeanSurfaceDistance));
        var missed = SegmentationMetrics.ComputeCase(SingleVoxel([4, 4], [1, 1], [1, 1]), empty, [1])[0];
        Assert.Equal(0.0, missed.Dice);
        Assert.Equal(0.0, missed.IoU);
        Assert.True(double.IsPositiveInfinity(missed.Hausdorff95));
        Assert.True(double.IsPositiveInfinity(missed.MeanSurfaceDistance));
    }

    [Fact]
    public void BoundaryIsFaceConnectedAndTheImageEdgeCounts()
    {
        var square = Square(1).Labels.Select(v => v == 1).ToArray();
        Assert.Equal(8, SurfaceDistance.Boundary(square, [6, 6]).Count(b => b));   // all but the centre
        var full = Enumerable.Repeat(true, 27).ToArray();
        var surface = SurfaceDistance.Boundary(full, [3, 3, 3]);
        Assert.Equal(26, surface.Count(b => b));   // all but the centre: the image border counts as background
        Assert.False(surface[13]);
    }

    [Fact]
    public void PercentileInterpolatesLikeNumpy()
    {
        Assert.Equal(3.85, SurfaceDistance.Percentile([1, 2, 3, 4], 95), 12);   // numpy.percentile([1,2,3,4], 95)
        Assert.Equal(7.0, SurfaceDistance.Percentile([7], 95));
    }

    [Fact]
    public void AggregateSkipsNaNAndKeepsInfinity()
    {
        var hit = SegmentationMetrics.ComputeCase(Square(1), Square(2), [1, 2]);   // class 2 absent from both
        var miss = SegmentationMetrics.ComputeCase(Square(1), new LabelMap([6, 6], new int[36]), [1, 2]);
        var m = SegmentationMetrics.Aggregate([hit, miss], ["lesion", "other"]);
        Assert.Equal((2.0 / 3 + 0) / 2, m.PerClass[0].Dice, 12);
        Assert.True(double.IsPositiveInfinity(m.PerClass[0].Hausdorff95));
        Assert.Equal(2, m.PerClass[0].SurfaceCaseCount);
        Assert.Equal(1.0, m.PerClass[1].Dice);
        Assert.True(double.IsNaN(m.PerClass[1].Hausdorff95));
        Assert.Equal(0, m.PerClass[1].SurfaceCaseCount);
        Assert.Equal("lesion", m.PerClass[0].Name);
        Assert.Equal(((2.0 / 3 + 0) / 2 + 1) / 2, m.MeanDice, 12);
        var justHit = SegmentationMetrics.Aggregate([hit]);
        Assert.Equal(1.0, justHit.MeanHausdorff95, 12);   // class 2's NaN is left out
    }

    [Fact]
    public void MismatchedGeometryIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            SegmentationMetrics.ComputeCase(Square(1), new LabelMap([6, 5], new int[30]), [1]));
        Assert.Contains("shape", e.Message);
        Assert.Throws<ArgumentException>(() => SegmentationMetrics.ComputeCase(Square(1), Square(1, [1, 2]), [1]));
        Assert.Throws<ArgumentException>(() => new LabelMap([2, 2], new int[3]));
        Assert.Throws<ArgumentException>(() => new LabelMap([2, 2], new int[4], [1, 0]));
    }
}
