using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
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

    // ---- ml.Segmentation.Evaluate and CrossValidate over ML.NET views ----

    public sealed class SegRow
    {
        [VolumeColumn(VolumeKind.Mask)] public LabelMap Mask { get; set; } = null!;
        [VolumeColumn(VolumeKind.Mask)] public LabelMap PredictedMask { get; set; } = null!;
    }

    public sealed class OtherMask { public int[] Voxels { get; set; } = []; }

    public sealed class OtherMaskRow
    {
        [VolumeColumn(VolumeKind.Mask)] public OtherMask Mask { get; set; } = new();
        [VolumeColumn(VolumeKind.Mask)] public OtherMask PredictedMask { get; set; } = new();
    }

    private static LabelMap Map(params int[] labels) => new([2, 3], labels, [1.5, 1.0]);

    [Fact]
    public void EvaluateAveragesCases()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new SegRow { Mask = Map(1, 1, 0, 0, 0, 0), PredictedMask = Map(1, 1, 0, 0, 0, 0) },   // perfect
            new SegRow { Mask = Map(1, 1, 0, 0, 0, 2), PredictedMask = Map(1, 0, 0, 0, 0, 0) },   // half of class 1, misses class 2
        });
        Assert.Equal(new VolumeDataViewType(VolumeKind.Mask, typeof(LabelMap)), data.Schema["Mask"].Type);
        var m = ml.Segmentation.Evaluate(data);
        Assert.Equal([1, 2], m.PerClass.Select(c => c.ClassIndex));
        Assert.Equal((1.0 + 2.0 / 3) / 2, m.PerClass[0].Dice, 12);
        // Case 2, class 1: truth surface {(0,0),(0,1)}, prediction {(0,0)}: distances 0, 1 (column step 1.0) and 0.
        Assert.Equal((0 + 1.0 / 3) / 2, m.PerClass[0].MeanSurfaceDistance, 12);
        Assert.Equal((1.0 + 0.0) / 2, m.PerClass[1].Dice, 12);   // absent in case 1 (Dice 1), missed in case 2
        Assert.True(double.IsPositiveInfinity(m.PerClass[1].Hausdorff95));
        Assert.Equal(2, m.PerCase.Count);
        Assert.Equal("lesion", ml.Segmentation.Evaluate(data, classes: [1], classNames: ["lesion"]).PerClass[0].Name);
    }

    /// <summary>A stand-in segmenter for the cross-validation plumbing: predicts the true mask with its last voxel cleared.</summary>
    internal sealed class MaskEcho : RowMappingTransformer
    {
        internal static readonly VolumeDataViewType MaskType = new(VolumeKind.Mask, typeof(LabelMap));
        static MaskEcho() => ModelRegistry.Register("Tests.MaskEcho", 1, _ => new MaskEcho());
        protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Volume("Mask", VolumeKind.Mask)];
        protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) =>
            [new("PredictedMask", MaskType, new DataViewSchema.Annotations.Builder().ToAnnotations())];
        protected override void MapRow(DataViewRow input, object?[] outputs)
        {
            LabelMap truth = null!;
            input.GetGetter<LabelMap>(input.Schema["Mask"])(ref truth);
            var labels = (int[])truth.Labels.Clone();
            labels[^1] = 0;
            outputs[0] = new LabelMap([.. truth.Shape], labels, [.. truth.Spacing]);
        }
        public override void SaveToArchive(ArchiveSaveContext context) => context.WriteConfig(new { });
    }

    private sealed class MaskEchoEstimator : EstimatorBase<MaskEcho>
    {
        protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Volume("Mask", VolumeKind.Mask)];
        protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) => [SchemaShapes.ColumnOf("PredictedMask", MaskEcho.MaskType)];
        protected override MaskEcho FitCore(IDataView input) => new();
    }

    public sealed class MaskOnlyRow { [VolumeColumn(VolumeKind.Mask)] public LabelMap Mask { get; set; } = null!; }

    [Fact]
    public void CrossValidateScoresEachFold()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 12).Select(_ => new MaskOnlyRow { Mask = Map(0, 0, 0, 1, 1, 1) }).ToArray());
        var log = new List<string>();
        ml.Medical().Log += (_, e) => log.Add(e.ToString());
        var results = ml.Segmentation.CrossValidate(data, new MaskEchoEstimator(), numberOfFolds: 2);
        Assert.Equal([0, 1], results.Select(r => r.Fold));
        Assert.All(results, r => Assert.Equal(4.0 / 5, r.Metrics.MeanDice, 12));   // 2 of 3 voxels kept: 2·2 / (3 + 2)
        Assert.Equal(12, results.Sum(r => r.ScoredHoldOutSet.GetColumn<LabelMap>("PredictedMask").Count()));
        Assert.All(results, r => Assert.IsType<MaskEcho>(r.Model));
        Assert.Contains(log, l => l.Contains("fold 2 of 2"));
    }

    [Fact]
    public void EvaluateUsesRegisteredMaskConverters()
    {
        var ml = new MLContext(seed: 1);
        VolumeTypes.Register<OtherMask>();
        var data = ml.Data.LoadFromEnumerable(new[] { new OtherMaskRow { Mask = new OtherMask { Voxels = [0, 1, 1, 0] }, PredictedMask = new OtherMask { Voxels = [0, 1, 0, 0] } } });
        if (!MaskConverters.CanConvert(typeof(OtherMask)))
        {
            var unknown = Assert.Throws<InvalidOperationException>(() => ml.Segmentation.Evaluate(data, classes: [1]));
            Assert.Contains("no mask converter for", unknown.Message);
            Assert.Contains("MaskConverters.Register<OtherMask>", unknown.Message);
            MaskConverters.Register<OtherMask>(m => new LabelMap([2, 2], m.Voxels));
        }
        Assert.Equal(2.0 / 3, ml.Segmentation.Evaluate(data, classes: [1]).MeanDice, 12);
    }

    [Fact]
    public void EvaluateNamesTheStageAndTheMissingColumn()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PatientRow.Make());
        var e = Assert.Throws<SchemaMismatchException>(() => ml.Segmentation.Evaluate(data));
        Assert.Contains("Segmentation.Evaluate needs column 'Mask' (a mask volume column), but the input has no such column", e.Message);
        Assert.Contains("Patient", e.AvailableColumns);
        var wrong = Assert.Throws<SchemaMismatchException>(() => ml.Segmentation.Evaluate(data, labelColumnName: "Features"));
        Assert.Equal("Features", wrong.ColumnName);
        Assert.Contains("Segmentation.Evaluate needs column 'Features' to be a mask volume column, but it is Vector<Single>", wrong.Message);
        var none = ml.Data.LoadFromEnumerable(Array.Empty<SegRow>());
        Assert.Contains("no rows to evaluate", Assert.Throws<InvalidOperationException>(() => ml.Segmentation.Evaluate(none)).Message);
    }
}
