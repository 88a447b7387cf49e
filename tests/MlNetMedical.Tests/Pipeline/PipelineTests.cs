using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using Xunit;

namespace MlNetMedical.Tests.Pipeline;

/// <summary>A user-written transformer: scales a float vector column. Registered once, saved and loaded by name.</summary>
public sealed class VectorScaler : RowMappingTransformer
{
    public const string RegisteredName = "Tests.VectorScaler";

    static VectorScaler() => ModelRegistry.Register(RegisteredName, 1, Load);

    public VectorScaler(string column, float factor) { Column = column; Factor = factor; }

    public string Column { get; }
    public float Factor { get; }

    /// <summary>Runs the registration (the static constructor) before a file holding a scaler is loaded.</summary>
    public static void EnsureRegistered() { }

    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.SingleVector(Column)];

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) =>
        [new(Column, inputSchema[Column].Type, inputSchema[Column].Annotations)];

    protected override void MapRow(DataViewRow input, object?[] outputs)
    {
        VBuffer<float> values = default;
        input.GetGetter<VBuffer<float>>(input.Schema[Column])(ref values);
        outputs[0] = values.DenseValues().Select(v => v * Factor).ToArray();
    }

    public override void SaveToArchive(ArchiveSaveContext context)
    {
        context.WriteConfig(new Config(Column));
        context.WriteSingles("factor", [Factor]);
    }

    private static VectorScaler Load(ArchiveLoadContext context) => new(context.ReadConfig<Config>().Column, context.ReadSingles("factor", 1)[0]);

    private sealed record Config(string Column);
}

/// <summary>A user-written estimator that needs no training, and records whether Fit ran.</summary>
public sealed class VectorScalerEstimator(string column, float factor) : EstimatorBase<VectorScaler>
{
    public int FitCalls { get; private set; }
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.SingleVector(column)];
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) => [inputSchema.Find(column)!.Value];
    protected override VectorScaler FitCore(IDataView input) { FitCalls++; return new VectorScaler(column, factor); }
}

/// <summary>The framework's estimators and transformers inside ML.NET's EstimatorChain and TransformerChain, with ML.NET's own
/// stages on either side: fitting, schema propagation and its errors, the prediction engine, and ML.NET's own Save.</summary>
public class PipelineTests
{
    private readonly MLContext _ml = new(seed: 2);

    private IEstimator<ITransformer> Pipeline(VectorScalerEstimator? scaler = null) =>
        _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(scaler ?? new VectorScalerEstimator("Features", 2f))
            .Append(_ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy())
            .Append(_ml.Transforms.Conversion.MapKeyToValue("PredictedDiagnosis", "PredictedLabel"));

    [Fact]
    public void FitTransformEvaluateWithMLNetsStagesAroundOurs()
    {
        var data = _ml.Data.LoadFromEnumerable(PatientRow.Make());
        var split = DataSplitter.TrainTest(data, 0.25, "Patient", "Diagnosis", seed: 2);
        var scaler = new VectorScalerEstimator("Features", 2f);
        var model = Pipeline(scaler).Fit(split.TrainSet);
        Assert.Equal(1, scaler.FitCalls);
        Assert.Contains(((IEnumerable<ITransformer>)model), t => t is VectorScaler { Factor: 2f });
        var scored = model.Transform(split.TestSet);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 2), scored.Schema["Score"].Type);
        Assert.Equal(["benign", "malignant"], scored.Schema["PredictedLabel"].ClassNames());
        var metrics = _ml.MulticlassClassification.Evaluate(scored);
        Assert.Equal(1.0, metrics.MicroAccuracy);   // the classes are 4 units apart with ±0.5 noise
        Assert.Equal(1.0, _ml.MulticlassClassification.EvaluateRoc(scored).MacroAuc);
        // The scaler's output is what the trainer saw: the scaled features, in ML.NET's own VBuffer form.
        var features = scored.GetColumn<float[]>("Features").ToList();
        Assert.Equal(split.TestSet.GetColumn<float[]>("Features").Select(f => f.Select(v => 2 * v).ToArray()), features);
    }

    public sealed class Prediction
    {
        public float[] Score { get; set; } = [];
        public string PredictedDiagnosis { get; set; } = "";
        [VectorType(2)] public float[] Features { get; set; } = [];
    }

    [Fact]
    public void PredictionEngineRunsOurTransformerRowByRow()
    {
        var data = _ml.Data.LoadFromEnumerable(PatientRow.Make());
        var model = Pipeline().Fit(data);
        var engine = _ml.Model.CreatePredictionEngine<PatientRow, Prediction>(model);
        foreach (var row in PatientRow.Make().Where((_, i) => i % 7 == 0))
        {
            var p = engine.Predict(row);
            Assert.Equal(row.Diagnosis, p.PredictedDiagnosis);
            Assert.Equal(row.Features.Select(v => 2 * v), p.Features);   // computed by VectorScaler through its row mapper
        }
    }

    [Fact]
    public void MissingColumnIsReportedBeforeAnyStageIsFitted()
    {
        var scaler = new VectorScalerEstimator("Features", 2f);
        var last = new VectorScalerEstimator("Embedding", 1f);
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Append(scaler).Append(last);
        var e = Assert.Throws<SchemaMismatchException>(() => pipeline.Fit(_ml.Data.LoadFromEnumerable(PatientRow.Make())));
        Assert.Equal("Embedding", e.ColumnName);
        Assert.Equal("VectorScalerEstimator", e.Stage);
        Assert.Null(e.Actual);
        Assert.Contains("VectorScalerEstimator needs column 'Embedding' (a known-length vector of Single), but the input has no such column", e.Message);
        Assert.Contains("Features: Vector<Single>", e.AvailableColumns);
        Assert.IsAssignableFrom<ArgumentOutOfRangeException>(e);   // as ML.NET's own schema errors
        Assert.Equal(0, scaler.FitCalls);   // ML.NET's chain propagates the schema through every stage first
        Assert.Equal(0, last.FitCalls);
    }

    [Fact]
    public void WrongTypedColumnNamesColumnStageAndTypes()
    {
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Append(new VectorScalerEstimator("Patient", 1f));
        var shape = SchemaShapes.Create(_ml.Data.LoadFromEnumerable(PatientRow.Make()).Schema);
        var e = Assert.Throws<SchemaMismatchException>(() => pipeline.GetOutputSchema(shape));
        Assert.Equal("Patient", e.ColumnName);
        Assert.Equal("String", e.Actual);
        Assert.Contains("VectorScalerEstimator needs column 'Patient' to be a known-length vector of Single, but it is String", e.Message);
        // A key column is described as a key.
        var key = Assert.Throws<SchemaMismatchException>(() => _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(new VectorScalerEstimator("Label", 1f)).GetOutputSchema(shape));
        Assert.Equal("Key", key.Actual);
    }

    [Fact]
    public void OutputSchemaShapeFlowsThroughTheChain()
    {
        var shape = Pipeline().GetOutputSchema(SchemaShapes.Create(_ml.Data.LoadFromEnumerable(PatientRow.Make()).Schema));
        Assert.True(shape.Find("Label")!.Value.IsKey);
        Assert.Equal(SchemaShape.Column.VectorKind.Vector, shape.Find("Features")!.Value.Kind);
        Assert.Equal(SchemaShape.Column.VectorKind.Vector, shape.Find("Score")!.Value.Kind);
        Assert.True(shape.Find("PredictedLabel")!.Value.IsKey);
    }

    public sealed class WideRow { [VectorType(3)] public float[] Features { get; set; } = [1, 2, 3]; public string Features2 { get; set; } = ""; }

    [Fact]
    public void TransformerChecksItsInputToo()
    {
        var scaler = new VectorScaler("Embedding", 2f);
        var other = _ml.Data.LoadFromEnumerable(new[] { new WideRow() });
        var e = Assert.Throws<SchemaMismatchException>(() => scaler.Transform(other));
        Assert.Equal("VectorScaler", e.Stage);
        Assert.Contains("VectorScaler needs column 'Embedding' (a known-length vector of Single), but the input has no such column", e.Message);
        Assert.Throws<SchemaMismatchException>(() => scaler.GetOutputSchema(other.Schema));
        // The transform is lazy: nothing is mapped until the column is read.
        var scaled = new VectorScaler("Features", 2f).Transform(other);
        Assert.Equal([2f, 4, 6], scaled.GetColumn<float[]>("Features").Single());
    }

    [Fact]
    public void MLNetsOwnSaveNamesSaveMedical()
    {
        var data = _ml.Data.LoadFromEnumerable(PatientRow.Make());
        var model = Pipeline().Fit(data);
        using var stream = new MemoryStream();
        var save = Assert.Throws<MedicalModelSaveException>(() => _ml.Model.Save(model, data.Schema, stream));
        Assert.Equal("VectorScaler", save.Stage);
        Assert.Contains("ml.Model.SaveMedical", save.Message);
        Assert.Contains("ml.Model.Save cannot store VectorScaler", save.Message);
        // A framework transformer alone fails the same way.
        Assert.Contains("ml.Model.SaveMedical", Assert.Throws<MedicalModelSaveException>(() =>
            _ml.Model.Save(new VectorScaler("Features", 1f), data.Schema, new MemoryStream())).Message);
    }
}
