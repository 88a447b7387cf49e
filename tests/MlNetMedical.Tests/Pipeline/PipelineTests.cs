using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using MlNetMedical.Trainers;
using Xunit;

namespace MlNetMedical.Tests.Pipeline;

/// <summary>A user-written transformer: scales a float vector column. Registered once, saved and loaded by name.</summary>
public sealed class VectorScaler : RowMappingTransformer
{
    static VectorScaler() => ModelRegistry.Register("Tests.VectorScaler", 1, Load);

    public VectorScaler(string column, float factor) { Column = column; Factor = factor; }

    public string Column { get; }
    public float Factor { get; }

    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.SingleVector(Column)];

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => [new(Column, inputSchema[Column].Type)];

    protected override void MapRow(DataViewRow input, object?[] outputs) =>
        outputs[0] = input.GetValue<float[]>(Column).Select(v => v * Factor).ToArray();

    public override void Save(ModelSaveContext context)
    {
        context.WriteConfig(new Config(Column));
        context.WriteSingles("factor", [Factor]);
    }

    private static VectorScaler Load(ModelLoadContext context) => new(context.ReadConfig<Config>().Column, context.ReadSingles("factor", 1)[0]);

    private sealed record Config(string Column);
}

/// <summary>A user-written estimator that needs no training, and records whether Fit ran.</summary>
public sealed class VectorScalerEstimator(string column, float factor) : EstimatorBase<VectorScaler>
{
    public int FitCalls { get; private set; }
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.SingleVector(column)];
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) => [inputSchema.Find(column)!];
    protected override VectorScaler FitCore(IDataView input) { FitCalls++; return new VectorScaler(column, factor); }
}

public class PipelineTests
{
    private readonly MedicalContext _ml = new(seed: 2);

    private IEstimator<TransformerChain<NearestCentroidTransformer>> Pipeline(VectorScalerEstimator? scaler = null) =>
        _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(scaler ?? new VectorScalerEstimator("Features", 2f))
            .Append(_ml.Classification.Trainers.NearestCentroid());

    [Fact]
    public void FitTransformEvaluate()
    {
        var split = _ml.Data.TrainTestSplit(_ml.Data.LoadFromEnumerable(PatientRow.Make()), 0.25, "Patient", stratify: true, labelColumnName: "Diagnosis");
        var model = Pipeline().Fit(split.TrainSet);
        var scored = model.Transform(split.TestSet);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 2), scored.Schema["Score"].Type);
        Assert.Equal(["benign", "malignant"], ((KeyDataViewType)scored.Schema["PredictedLabel"].Type).KeyNames);
        var metrics = _ml.Classification.Evaluate(scored);
        Assert.Equal(1.0, metrics.MicroAccuracy);   // the classes are 4 units apart with ±0.5 noise
        Assert.Equal(1.0, metrics.MacroRocAuc);
        Assert.Equal(["benign", "malignant"], metrics.ClassNames);
        Assert.NotNull(model.LastTransformer);
        Assert.Equal(2, model.LastTransformer!.Dimension);
    }

    public sealed class Prediction
    {
        public string Patient { get; set; } = "";
        [KeyType("benign", "malignant")] public uint PredictedLabel { get; set; }
        public float[] Score { get; set; } = [];
    }

    [Fact]
    public void PredictionsReadBackAsObjects()
    {
        var data = _ml.Data.LoadFromEnumerable(PatientRow.Make());
        var predictions = _ml.Data.CreateEnumerable<Prediction>(Pipeline().Fit(data).Transform(data)).ToList();
        Assert.Equal(48, predictions.Count);
        Assert.All(predictions.Where(p => p.Patient == "P20"), p => { Assert.Equal(2u, p.PredictedLabel); Assert.True(p.Score[1] > 0.5f); });
        Assert.Equal(32, predictions.Count(p => p.PredictedLabel == 1));
        var e = Assert.Throws<ArgumentException>(() => _ml.Data.CreateEnumerable<Prediction>(data));
        Assert.Contains("Prediction.PredictedLabel needs column 'PredictedLabel', which the data lacks", e.Message);
    }

    [Fact]
    public void MissingColumnIsReportedBeforeAnyStageIsFitted()
    {
        var scaler = new VectorScalerEstimator("Features", 2f);
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(scaler)
            .Append(_ml.Classification.Trainers.NearestCentroid(featureColumnName: "Embedding"));
        var e = Assert.Throws<SchemaMismatchException>(() => pipeline.Fit(_ml.Data.LoadFromEnumerable(PatientRow.Make())));
        Assert.Equal("Embedding", e.ColumnName);
        Assert.Equal("pipeline stage 3 of 3 (NearestCentroid)", e.Stage);
        Assert.Contains("needs column 'Embedding' (a known-length vector of Single), but the input has no such column", e.Message);
        Assert.Equal(0, scaler.FitCalls);
    }

    [Fact]
    public void WrongTypedColumnNamesColumnStageAndTypes()
    {
        // Label left as text: the trainer needs a key.
        var pipeline = new VectorScalerEstimator("Features", 1f).Append(_ml.Classification.Trainers.NearestCentroid(labelColumnName: "Diagnosis"));
        var shape = SchemaShape.Create(_ml.Data.LoadFromEnumerable(PatientRow.Make()).Schema);
        var e = Assert.Throws<SchemaMismatchException>(() => pipeline.GetOutputSchema(shape));
        Assert.Equal("Diagnosis", e.ColumnName);
        Assert.Equal("Text", e.Actual);
        Assert.Contains("pipeline stage 2 of 2 (NearestCentroid) needs column 'Diagnosis' to be a key column, but it is Text", e.Message);
    }

    [Fact]
    public void OutputSchemaShapeFlowsThroughTheChain()
    {
        var shape = Pipeline().GetOutputSchema(SchemaShape.Create(_ml.Data.LoadFromEnumerable(PatientRow.Make()).Schema));
        Assert.True(shape.Find("Label")!.IsKey);
        Assert.Equal(SchemaShape.VectorKind.Vector, shape.Find("Score")!.Kind);
        Assert.True(shape.Find("PredictedLabel")!.IsKey);
    }

    [Fact]
    public void TransformerChecksItsInputToo()
    {
        var model = Pipeline().Fit(_ml.Data.LoadFromEnumerable(PatientRow.Make()));
        var centroid = model.LastTransformer!;
        var other = _ml.Data.LoadFromEnumerable(new[] { new MlNetMedical.Tests.Data.DataViewTests.SizedRow() });   // Features has 3 items, model wants 2
        var e = Assert.Throws<SchemaMismatchException>(() => centroid.Transform(other));
        Assert.Contains("'Features' to be a vector of 2 Single, but it is Vector<Single, 3>", e.Message);
    }

    [Fact]
    public void CrossValidateReturnsMetricsModelAndFoldPerFold()
    {
        var data = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Fit(_ml.Data.LoadFromEnumerable(PatientRow.Make()))
            .Transform(_ml.Data.LoadFromEnumerable(PatientRow.Make()));
        var log = new List<string>();
        _ml.Log += (_, e) => log.Add(e.ToString());
        var results = _ml.Classification.CrossValidate(data, _ml.Classification.Trainers.NearestCentroid(), numberOfFolds: 3, samplingKeyColumnName: "Patient");
        Assert.Equal([0, 1, 2], results.Select(r => r.Fold));
        Assert.All(results, r => Assert.Equal(1.0, r.Metrics.MicroAccuracy));
        Assert.All(results, r => Assert.Equal(16, r.ScoredHoldOutSet.CountRows()));
        Assert.All(results, r => Assert.IsType<NearestCentroidTransformer>(r.Model));
        Assert.Contains(log, l => l.Contains("fold 3 of 3"));
    }

    [Fact]
    public void NearestCentroidScoresByHand()
    {
        // Class a at (0,0) from rows (−1,0),(1,0); class b at (4,0) from (4,0) alone. Spread s = (1 + 1 + 0) / 3.
        var rows = new[] { ("a", -1f), ("a", 1f), ("b", 4f) }.Select(r => new PatientRow { Diagnosis = r.Item1, Features = [r.Item2, 0f] }).ToList();
        var data = _ml.Data.LoadFromEnumerable(rows);
        var model = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Append(_ml.Classification.Trainers.NearestCentroid()).Fit(data);
        var centroid = model.LastTransformer!;
        Assert.Equal(2.0 / 3, centroid.Scale, 12);
        Assert.Equal([0f, 0f], centroid.Centroid(0).ToArray());
        // Row (1,0): squared distances 1 and 9 → p(a) = 1 / (1 + e^{−(9−1)/s}) = 1 / (1 + e^{−12}).
        var p = model.Transform(data).GetColumn<float[]>("Score").ElementAt(1);
        Assert.Equal(1 / (1 + Math.Exp(-12)), p[0], 6);
    }
}
