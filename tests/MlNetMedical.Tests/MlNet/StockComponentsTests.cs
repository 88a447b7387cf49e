using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Models;
using MlNetMedical.Tests.Trainers;
using MlNetMedical.Trainers;
using Xunit;

namespace MlNetMedical.Tests.MlNet;

/// <summary>A manifest-style row as ML.NET's LoadFromEnumerable reads it: a volume, a text diagnosis, a patient and a tabular column.</summary>
public sealed class ScanRow
{
    [VolumeColumn(VolumeKind.Image)] public Volume Image { get; set; } = null!;
    [VolumeColumn(VolumeKind.Mask)] public Volume? Mask { get; set; }
    public string Diagnosis { get; set; } = "";
    public string Patient { get; set; } = "";
    public float Age { get; set; }

    /// <summary>The synthetic disks (class = which half holds the disk) with an age that carries no signal; two rows per patient.</summary>
    public static List<ScanRow> Make(int count, int seed) => SyntheticImages.Disks(count, seed).Select((d, i) => new ScanRow
    {
        Image = d.Image,
        Mask = d.Mask,
        Diagnosis = d.Label == 1 ? "left" : "right",
        Patient = $"S{seed}P{i / 2:00}",
        Age = 40 + (i * 7919 % 37),
    }).ToList();
}

/// <summary>What the prediction engine hands back.</summary>
public sealed class ScanPrediction
{
    public float[] Score { get; set; } = [];
    public string PredictedDiagnosis { get; set; } = "";
}

/// <summary>
/// The framework's components in one chain with stock ML.NET components, both ways round: ML.NET's key mapping, normalising,
/// concatenation, trainers, evaluation, cross-validation, grouped splitting, feature importance and prediction engine.
/// </summary>
[Collection("Torch")]
public sealed class StockComponentsTests
{
    private readonly MLContext _ml = new(seed: 3);
    private IDataView Train => _ml.Data.LoadFromEnumerable(ScanRow.Make(48, 1));
    private IDataView Test => _ml.Data.LoadFromEnumerable(ScanRow.Make(40, 2));

    private static ITransformer? _segmentation;

    /// <summary>One small U-Net pretrained on the training masks, shared by the tests (it is only a feature source here).</summary>
    private ITransformer Segmentation()
    {
        lock (typeof(StockComponentsTests))
            return _segmentation ??= _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(4)).Fit(Train);
    }

    /// <summary>Encoder features, scaled by ML.NET, joined with the tabular Age column.</summary>
    private IEstimator<ITransformer> Features() =>
        _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(_ml.Transforms.SegmentationEncoderFeatures(Segmentation(), levels: [-1, -2], pooling: PoolingKind.AverageMax, outputColumnName: "Encoder"))
            .Append(_ml.Transforms.Concatenate("Features", "Encoder", "Age"))
            .Append(_ml.Transforms.NormalizeMinMax("Features"))
            .AppendCacheCheckpoint(_ml);

    public static TheoryData<string> StockTrainers => ["LbfgsMaximumEntropy", "SdcaMaximumEntropy", "LightGbm", "OneVersusAllFastTree"];

    private IEstimator<ITransformer> Trainer(string name) => name switch
    {
        "LbfgsMaximumEntropy" => _ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(),
        "SdcaMaximumEntropy" => _ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 50),
        "LightGbm" => _ml.MulticlassClassification.Trainers.LightGbm(numberOfLeaves: 4, minimumExampleCountPerLeaf: 2, numberOfIterations: 20),
        "OneVersusAllFastTree" => _ml.MulticlassClassification.Trainers.OneVersusAll(
            _ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 4, minimumExampleCountPerLeaf: 2, numberOfTrees: 20)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(StockTrainers))]
    public void StockTrainersLearnFromEncoderFeaturesAndTabularColumns(string trainer)
    {
        var model = Features().Append(Trainer(trainer)).Fit(Train);
        var metrics = _ml.MulticlassClassification.Evaluate(model.Transform(Test));
        Assert.True(metrics.MicroAccuracy >= 0.75, $"{trainer}: accuracy {metrics.MicroAccuracy:F3}");
        Assert.Equal(2, metrics.ConfusionMatrix.NumberOfClasses);
        Assert.Equal(40, metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()));
    }

    [Fact]
    public void TrainTestSplitKeepsPatientsTogetherAndCrossValidateRuns()
    {
        var data = _ml.Data.LoadFromEnumerable(ScanRow.Make(48, 1).Concat(ScanRow.Make(40, 2)));
        var split = _ml.Data.TrainTestSplit(data, testFraction: 0.3, samplingKeyColumnName: "Patient", seed: 1);
        var train = split.TrainSet.GetColumn<string>("Patient").ToHashSet();
        var test = split.TestSet.GetColumn<string>("Patient").ToHashSet();
        Assert.NotEmpty(test);
        Assert.Empty(train.Intersect(test));

        var folds = _ml.MulticlassClassification.CrossValidate(data, Features().Append(Trainer("LbfgsMaximumEntropy")),
            numberOfFolds: 3, labelColumnName: "Label", samplingKeyColumnName: "Patient", seed: 1);
        Assert.Equal(3, folds.Count);
        Assert.All(folds, f => Assert.True(f.Metrics.MicroAccuracy >= 0.7, $"fold accuracy {f.Metrics.MicroAccuracy:F3}"));
    }

    [Fact]
    public void PermutationFeatureImportanceRanksTheEncoderAboveAge()
    {
        var model = Features().Append(_ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy()).Fit(Train);
        var scored = model.Transform(Test);
        var importance = _ml.MulticlassClassification.PermutationFeatureImportance(model.LastTransformer, scored, permutationCount: 2);
        var drops = importance.Select(s => -s.MicroAccuracy.Mean).ToArray();
        Assert.Equal(((VectorDataViewType)scored.Schema["Features"].Type).Size, drops.Length);
        // Age is the last slot and carries no signal; some encoder slot must matter more.
        Assert.True(drops[..^1].Max() > drops[^1], $"age drop {drops[^1]:F3}, best encoder drop {drops[..^1].Max():F3}");
    }

    [Fact]
    public void PredictionEngineRunsTheMixedChainOnSingleRows()
    {
        var model = Features().Append(Trainer("LbfgsMaximumEntropy"))
            .Append(_ml.Transforms.Conversion.MapKeyToValue("PredictedDiagnosis", "PredictedLabel")).Fit(Train);
        using var engine = _ml.Model.CreatePredictionEngine<ScanRow, ScanPrediction>(model);
        var rows = ScanRow.Make(40, 2);
        var correct = rows.Count(r => engine.Predict(r).PredictedDiagnosis == r.Diagnosis);
        Assert.True(correct >= 30, $"{correct} of 40 right");
        var one = engine.Predict(rows[0]);
        Assert.Equal(2, one.Score.Length);
        Assert.Equal(1.0, one.Score.Sum(), 3);
    }

    [Fact]
    public void StockStagesFeedTheFrameworksFineTuningTrainer()
    {
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(_ml.MulticlassClassification.Trainers.FineTunedEncoder(
                EncoderClassifierConfig.FromSegmentation(SyntheticImages.TinyUNet, new ClassificationHeadConfig()), Segmentation(),
                training: SyntheticImages.Quick(4)))
            .Append(_ml.Transforms.Conversion.MapKeyToValue("PredictedDiagnosis", "PredictedLabel"));
        var model = pipeline.Fit(Train);
        var scored = model.Transform(Test);
        var metrics = _ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MicroAccuracy >= 0.7, $"accuracy {metrics.MicroAccuracy:F3}");
        var names = scored.GetColumn<string>("PredictedDiagnosis").Distinct().Order().ToArray();
        Assert.Subset(new HashSet<string> { "left", "right" }, names.ToHashSet());
    }

    /// <summary>ML.NET's getters may change the buffer they fill (its normalisers do, in place): the framework's views must hand
    /// out copies, or a stock stage after a framework stage of the same column name corrupts what later reads see.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ScoresReadDirectlyEqualScoresReadThroughACache(bool manifest)
    {
        var folder = Directory.CreateTempSubdirectory("mlnm-cache-").FullName;
        IDataView train = Train, test = Test;
        var features = Features();
        if (!manifest)
            features = _ml.Transforms.SegmentationEncoderFeatures(Segmentation(), levels: [-1, -2], pooling: PoolingKind.AverageMax)
                .Append(_ml.Transforms.NormalizeMinMax("Features")).AppendCacheCheckpoint(_ml);
        if (manifest)
        {
            var data = _ml.Data.LoadFromManifest(SyntheticImages.WriteManifest(folder, 24, i => i % 3 == 0 ? "test" : "train"));
            (train, test) = (_ml.Data.FilterBySplit(data, "train"), _ml.Data.FilterBySplit(data, "test"));
            features = _ml.Transforms.SegmentationEncoderFeatures(Segmentation(), levels: [-1, -2], pooling: PoolingKind.AverageMax)
                .Append(_ml.Transforms.NormalizeMinMax("Features")).AppendCacheCheckpoint(_ml);
        }
        var model = features.Append(_ml.Transforms.Conversion.MapValueToKey("Label", manifest ? "Label" : "Diagnosis")).Append(Trainer("LbfgsMaximumEntropy")).Fit(train);
        var direct = model.Transform(test).GetColumn<float[]>("Score").ToList();
        var cached = _ml.Data.CacheInMemory(model.Transform(test)).GetColumn<float[]>("Score").ToList();
        var evaluated = _ml.MulticlassClassification.Evaluate(model.Transform(test));
        var evaluatedCached = _ml.MulticlassClassification.Evaluate(_ml.Data.CacheInMemory(model.Transform(test)));
        Directory.Delete(folder, recursive: true);
        Assert.Equal(direct.Count, cached.Count);
        for (var i = 0; i < direct.Count; i++) Assert.Equal(direct[i], cached[i]);
        Assert.Equal(evaluated.MicroAccuracy, evaluatedCached.MicroAccuracy);
        Assert.Equal(evaluated.LogLoss, evaluatedCached.LogLoss);
    }

    [Fact]
    public void StockSaveOfAChainWithAFrameworkStageNamesTheCallThatWorks()
    {
        var model = Features().Append(Trainer("LbfgsMaximumEntropy")).Fit(Train);
        using var stream = new MemoryStream();
        var error = Assert.ThrowsAny<Exception>(() => _ml.Model.Save(model, Train.Schema, stream));
        var message = Flatten(error);
        Assert.Contains("ml.Model.SaveMedical", message);
        Assert.Contains("ImageNetwork(Features)", message);
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Flatten(e.InnerException);
}
