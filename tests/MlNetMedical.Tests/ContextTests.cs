using MlNetMedical.Data;
using MlNetMedical.Metrics;
using Xunit;

namespace MlNetMedical.Tests;

public class ContextTests
{
    private sealed class FakeProbe(int count) : IComputeDeviceProbe
    {
        public int CudaDeviceCount => count;
        public string? CudaUnavailableReason => count == 0 ? "no driver" : null;
    }

    [Fact]
    public void DeviceIsValidated()
    {
        Assert.Equal("cpu", new MedicalContext(seed: 1).Device);
        var noCuda = Assert.Throws<ArgumentException>(() => new MedicalContext(seed: 1, device: "cuda", deviceProbe: new FakeProbe(0)));
        Assert.Contains("device 'cuda' was requested but CUDA is not available (no driver)", noCuda.Message);
        Assert.Equal("device", noCuda.ParamName);
        Assert.Contains("CUDA is not available", Assert.Throws<ArgumentException>(() => new MedicalContext(device: "cuda")).Message);
        Assert.Equal("cuda:1", new MedicalContext(seed: 1, device: "CUDA:1", deviceProbe: new FakeProbe(2)).Device);
        Assert.Contains("only 2 CUDA device(s)", Assert.Throws<ArgumentException>(() => new MedicalContext(device: "cuda:2", deviceProbe: new FakeProbe(2))).Message);
        Assert.Contains("not one of cpu, cuda or cuda:N", Assert.Throws<ArgumentException>(() => new MedicalContext(device: "tpu")).Message);
        Assert.Equal("threads", Assert.Throws<ArgumentOutOfRangeException>(() => new MedicalContext(threads: 0)).ParamName);
    }

    [Fact]
    public void SeedAndThreadsAreKept()
    {
        var ml = new MedicalContext(seed: 42, threads: 3);
        Assert.Equal(42, ml.Seed);
        Assert.True(ml.SeedWasGiven);
        Assert.Equal(3, ml.Threads);
        Assert.False(new MedicalContext().SeedWasGiven);
        Assert.NotNull(ml.Data);
        Assert.NotNull(ml.Transforms);
        Assert.NotNull(ml.Segmentation);
        Assert.NotNull(ml.Classification);
        Assert.NotNull(ml.MultiTask);
        Assert.NotNull(ml.Model);
    }

    public sealed class SegRow
    {
        public LabelMap Mask { get; set; } = null!;
        public LabelMap PredictedMask { get; set; } = null!;
    }

    public sealed class OtherMask { public int[] Voxels { get; set; } = []; }

    public sealed class OtherMaskRow
    {
        [VolumeColumn(VolumeKind.Mask)] public OtherMask Mask { get; set; } = new();
        [VolumeColumn(VolumeKind.Mask)] public OtherMask PredictedMask { get; set; } = new();
    }

    private static LabelMap Map(params int[] labels) => new([2, 3], labels, [1.5, 1.0]);

    [Fact]
    public void SegmentationEvaluateAveragesCases()
    {
        var ml = new MedicalContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new SegRow { Mask = Map(1, 1, 0, 0, 0, 0), PredictedMask = Map(1, 1, 0, 0, 0, 0) },   // perfect
            new SegRow { Mask = Map(1, 1, 0, 0, 0, 2), PredictedMask = Map(1, 0, 0, 0, 0, 0) },   // half of class 1, misses class 2
        });
        var m = ml.Segmentation.Evaluate(data);
        Assert.Equal([1, 2], m.PerClass.Select(c => c.ClassIndex));
        Assert.Equal((1.0 + 2.0 / 3) / 2, m.PerClass[0].Dice, 12);
        // Case 2, class 1: truth surface {(0,0),(0,1)}, prediction {(0,0)}: distances 0, 1 (column step 1.0) and 0.
        Assert.Equal((0 + 1.0 / 3) / 2, m.PerClass[0].MeanSurfaceDistance, 12);
        Assert.Equal((1.0 + 0.0) / 2, m.PerClass[1].Dice, 12);   // absent in case 1 (Dice 1), missed in case 2
        Assert.True(double.IsPositiveInfinity(m.PerClass[1].Hausdorff95));
        Assert.Equal(2, m.PerCase.Count);
    }

    /// <summary>A stand-in segmenter for the cross-validation plumbing: predicts the true mask with its last voxel cleared.</summary>
    private sealed class MaskEcho : MlNetMedical.Pipeline.RowMappingTransformer
    {
        static MaskEcho() => MlNetMedical.Serialization.ModelRegistry.Register("Tests.MaskEcho", 1, _ => new MaskEcho());
        protected override IReadOnlyList<MlNetMedical.Pipeline.ColumnRequirement> RequiredColumns => [MlNetMedical.Pipeline.ColumnRequirement.Volume("Mask", VolumeKind.Mask)];
        protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => [new("PredictedMask", VolumeDataViewType.LabelMapMask)];
        protected override void MapRow(DataViewRow input, object?[] outputs)
        {
            var truth = input.GetValue<LabelMap>("Mask");
            var labels = (int[])truth.Labels.Clone();
            labels[^1] = 0;
            outputs[0] = new LabelMap([.. truth.Shape], labels, [.. truth.Spacing]);
        }
        public override void Save(MlNetMedical.Serialization.ModelSaveContext context) { }
    }

    private sealed class MaskEchoEstimator : MlNetMedical.Pipeline.EstimatorBase<MaskEcho>
    {
        protected override IReadOnlyList<MlNetMedical.Pipeline.ColumnRequirement> RequiredColumns => [MlNetMedical.Pipeline.ColumnRequirement.Volume("Mask", VolumeKind.Mask)];
        protected override IReadOnlyList<MlNetMedical.Pipeline.SchemaShape.Column> GetOutputColumns(MlNetMedical.Pipeline.SchemaShape inputSchema) =>
            [MlNetMedical.Pipeline.SchemaShape.Column.From("PredictedMask", VolumeDataViewType.LabelMapMask)];
        protected override MaskEcho FitCore(IDataView input) => new();
    }

    public sealed class MaskOnlyRow { public LabelMap Mask { get; set; } = null!; }

    [Fact]
    public void SegmentationCrossValidateScoresEachFold()
    {
        var ml = new MedicalContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 4).Select(_ => new MaskOnlyRow { Mask = Map(0, 0, 0, 1, 1, 1) }).ToArray());
        var results = ml.Segmentation.CrossValidate(data, new MaskEchoEstimator(), numberOfFolds: 2);
        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal(4.0 / 5, r.Metrics.MeanDice, 12));   // 2 of 3 voxels kept: 2·2 / (3 + 2)
        Assert.All(results, r => Assert.Equal(2, r.ScoredHoldOutSet.CountRows()));
    }

    [Fact]
    public void SegmentationEvaluateUsesRegisteredMaskConverters()
    {
        var ml = new MedicalContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new OtherMaskRow { Mask = new OtherMask { Voxels = [0, 1, 1, 0] }, PredictedMask = new OtherMask { Voxels = [0, 1, 0, 0] } } });
        var unknown = Assert.Throws<InvalidOperationException>(() => ml.Segmentation.Evaluate(data, classes: [1]));
        Assert.Contains("no mask converter for", unknown.Message);
        MaskConverters.Register<OtherMask>(m => new LabelMap([2, 2], m.Voxels));
        Assert.Equal(2.0 / 3, ml.Segmentation.Evaluate(data, classes: [1]).MeanDice, 12);
    }

    [Fact]
    public void EvaluateNamesTheBadColumn()
    {
        var ml = new MedicalContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PatientRow.Make());
        var e = Assert.Throws<MlNetMedical.Pipeline.SchemaMismatchException>(() => ml.Classification.Evaluate(data, labelColumnName: "Diagnosis"));
        Assert.Contains("Classification.Evaluate needs column 'Diagnosis' to be a key column, but it is Text", e.Message);
        Assert.Contains("needs column 'Mask'", Assert.Throws<MlNetMedical.Pipeline.SchemaMismatchException>(() => ml.Segmentation.Evaluate(data)).Message);
    }

    public sealed class JointRow
    {
        [KeyType("normal", "lesion")] public uint Label { get; set; }
        [VectorType(2)] public float[] Score { get; set; } = [];
        public LabelMap Mask { get; set; } = null!;
        public LabelMap PredictedMask { get; set; } = null!;
    }

    [Fact]
    public void MultiTaskEvaluateCombinesBoth()
    {
        var ml = new MedicalContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new JointRow { Label = 2, Score = [0.2f, 0.8f], Mask = Map(0, 1, 0, 0, 0, 0), PredictedMask = Map(0, 1, 0, 0, 0, 0) },
            new JointRow { Label = 1, Score = [0.4f, 0.6f], Mask = Map(0, 0, 0, 0, 0, 0), PredictedMask = Map(0, 0, 0, 0, 1, 0) },
        });
        var reads = 0;
        var m = ml.MultiTask.Evaluate(ml.Data.LoadFromEnumerable(Rows()));
        Assert.Equal(1, reads);   // one pass for both evaluations
        IEnumerable<JointRow> Rows()
        {
            reads++;
            foreach (var r in ml.Data.CreateEnumerable<JointRow>(data)) yield return r;
        }
        Assert.Equal(0.5, m.Classification.MicroAccuracy, 12);
        Assert.Equal(1.0, m.Classification.MacroRocAuc, 12);
        Assert.Equal((1.0 + 0.0) / 2, m.Segmentation.MeanDice, 12);
    }
}
