using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Training;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>ML.NET AutoML's shape: <c>ml.MedicalAuto().CreateExperiment()</c>, sweepable estimators, the dataset, metric and tuner
/// setters, <c>RunAsync</c>'s best trial with its model, and the four-callback monitor.</summary>
public sealed class MlNetShapeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-shape-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private sealed class BlobRow
    {
        [VectorType(2)] public float[] Features { get; set; } = [];
        public string Class { get; set; } = "";
        public string Group { get; set; } = "";
    }

    /// <summary>Three overlapping Gaussian blobs in 2D with a key label and a group column (two rows per group).</summary>
    private static IDataView Blobs(MLContext ml, int count, int seed)
    {
        var random = new Random(seed);
        double[][] centres = [[0, 0], [2, 0], [1, 2]];
        var rows = Enumerable.Range(0, count).Select(i =>
        {
            int c = i % 3;
            double Noise() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            return new BlobRow { Features = [(float)(centres[c][0] + Noise()), (float)(centres[c][1] + Noise())], Class = $"k{c}", Group = $"g{seed}-{i / 2}" };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        return ml.Transforms.Conversion.MapValueToKey(DefaultColumnNames.Label, nameof(BlobRow.Class), keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
                 .Fit(data).Transform(data);
    }

    private static MLContext NewContext(int seed = 1)
    {
        var ml = new MLContext(seed);
        ml.Medical().Seed = seed;
        return ml;
    }

    /// <summary>NormalizeMinMax, then ML.NET's L-BFGS maximum entropy with a searched L2 (stock estimators only).</summary>
    private static SweepablePipeline StockPipeline(MLContext ml)
    {
        var auto = ml.MedicalAuto();
        var normalize = auto.CreateSweepableEstimator((c, _) => c.Transforms.NormalizeMinMax(DefaultColumnNames.Features));
        var trainer = auto.CreateSweepableEstimator(
            (c, p) => c.MulticlassClassification.Trainers.LbfgsMaximumEntropy(l2Regularization: (float)p.GetDouble("l2")),
            new SearchSpace().Float("l2", 1e-4, 10, log: true), "lbfgs");
        return normalize.Append(trainer);
    }

    private sealed class RecordingMonitor : IAutoMLMonitor
    {
        public List<TrialSettings> Running { get; } = [];
        public List<TrialResult> Completed { get; } = [];
        public List<TrialResult> Best { get; } = [];
        public List<(TrialSettings Settings, Exception? Error)> Failed { get; } = [];

        public void ReportRunningTrial(TrialSettings settings) => Running.Add(settings);
        public void ReportCompletedTrial(TrialResult result) => Completed.Add(result);
        public void ReportBestTrial(TrialResult result) => Best.Add(result);
        public void ReportFailTrial(TrialSettings settings, Exception? exception = null) => Failed.Add((settings, exception));
    }

    [Fact]
    public async Task StockEstimatorSweepReturnsTheBestTrialWithAModelThatScoresData()
    {
        var ml = NewContext();
        var train = Blobs(ml, 60, 1);
        var validation = Blobs(ml, 30, 2);
        var pipeline = StockPipeline(ml);
        Assert.Equal(["e1", "e1.lbfgs.l2"], pipeline.SearchSpace.Dimensions.Select(d => d.FullName));
        var monitor = new RecordingMonitor();
        var experiment = ml.MedicalAuto().CreateExperiment()
            .SetPipeline(pipeline)
            .SetDataset(train, validation)
            .SetMulticlassClassificationMetric(MulticlassClassificationMetric.MacroAccuracy)
            .SetMaxModelToExplore(4)
            .SetRandomSearchTuner()
            .SetMonitor(monitor)
            .SetStudy(Path.Combine(_dir, "stock.db"), "stock");
        var best = await experiment.RunAsync();

        var trials = experiment.LastResult!.Trials;
        Assert.Equal(4, trials.Count);
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.Equal(4, trials.Select(t => t.Parameters.GetDouble("e1.lbfgs.l2")).Distinct().Count());
        Assert.Equal("balanced_accuracy", experiment.MetricName);
        Assert.Equal(trials.Max(t => t.Value!.Value), best.Metric);
        Assert.Equal(-best.Metric, best.Loss);
        Assert.Equal(experiment.LastResult.BestTrial!.Number, best.TrialSettings.TrialId);
        Assert.Equal(experiment.LastResult.BestTrial.Parameters, best.TrialSettings.Parameter);
        Assert.True(best.DurationInMilliseconds > 0);
        Assert.True(best.Metric > 0.5, $"macro accuracy {best.Metric} on three separable-ish blobs");

        // The model is the trial's own: scoring the validation rows gives the trial's metric.
        var scored = best.Model.Transform(validation);
        Assert.Equal(best.Metric, ml.MulticlassClassification.Evaluate(scored).MacroAccuracy, 12);
        Assert.Equal(best.Metric, best.Metrics["balanced_accuracy"], 12);
        Assert.Contains("top_k_accuracy", best.Metrics.Keys);
        Assert.Contains("log_loss_reduction", best.Metrics.Keys);

        Assert.Equal(4, monitor.Running.Count);
        Assert.Equal(4, monitor.Completed.Count);
        Assert.Empty(monitor.Failed);
        Assert.NotEmpty(monitor.Best);
        Assert.Equal(best.TrialSettings.TrialId, monitor.Best[^1].TrialSettings.TrialId);
        Assert.Equal(monitor.Completed.Select(c => c.TrialSettings.TrialId).Order(), trials.Select(t => t.Number).Order());
    }

    [Fact]
    public async Task GridTunerCoversAChoiceStageAndTheMonitorSeesAllFourKindsOfCall()
    {
        var ml = NewContext();
        var auto = ml.MedicalAuto();
        var normalize = auto.CreateSweepableEstimator((c, _) => c.Transforms.NormalizeMinMax(DefaultColumnNames.Features));
        var lbfgs = auto.CreateSweepableEstimator((c, p) => c.MulticlassClassification.Trainers.LbfgsMaximumEntropy(l2Regularization: (float)p.GetDouble("l2")),
                                                  new SearchSpace().Float("l2", 1e-3, 1, log: true), "lbfgs");
        var broken = auto.CreateSweepableEstimator((c, _) => c.MulticlassClassification.Trainers.LbfgsMaximumEntropy(featureColumnName: "NoSuchColumn"), null, "broken");
        var pipeline = normalize.Append(lbfgs, broken);
        Assert.Equal(["e1", "e1.lbfgs.l2"], pipeline.SearchSpace.Dimensions.Select(d => d.FullName));

        var monitor = new RecordingMonitor();
        var experiment = auto.CreateExperiment().SetPipeline(pipeline).SetDataset(Blobs(ml, 45, 3), Blobs(ml, 30, 4))
            .SetMaxModelToExplore(10).SetGridSearchTuner(step: 2).SetMonitor(monitor).SetStudy(Path.Combine(_dir, "grid.db"), "grid");
        var best = await experiment.RunAsync();

        Assert.Equal("grid", experiment.Tuner!.Name);
        // Grid: lbfgs at l2 = 1e-3 and 1, and broken: three configurations, then the grid is exhausted and the study ends.
        var ran = experiment.LastResult!.Trials.Where(t => t.Parameters.Count > 0).ToList();
        Assert.Equal(3, ran.Select(t => t.Parameters).Distinct().Count());
        Assert.Equal(3, monitor.Running.Count);
        Assert.Equal(2, monitor.Completed.Count);
        var failed = Assert.Single(monitor.Failed);
        Assert.Equal("broken", failed.Settings.Parameter.GetString("e1"));
        Assert.Contains("NoSuchColumn", failed.Error!.Message);
        Assert.Equal("lbfgs", best.TrialSettings.Parameter.GetString("e1"));
        Assert.Equal(best.TrialSettings.TrialId, monitor.Best[^1].TrialSettings.TrialId);
        Assert.Equal("accuracy", experiment.MetricName); // MicroAccuracy by default
        Assert.Equal(best.Metric, ml.MulticlassClassification.Evaluate(best.Model.Transform(Blobs(ml, 30, 4))).MicroAccuracy, 12);
    }

    [Theory]
    [InlineData("tpe")]
    [InlineData("cfo")]
    [InlineData("random")]
    [InlineData("grid")]
    public async Task EachTunerSetterRunsAFoldedStudyWithinMaxModels(string tuner)
    {
        var ml = NewContext();
        var experiment = ml.MedicalAuto().CreateExperiment().SetPipeline(StockPipeline(ml))
            .SetDataset(Blobs(ml, 60, 5), fold: 3, samplingKeyColumnName: nameof(BlobRow.Group))
            .SetMulticlassClassificationMetric(MulticlassClassificationMetric.LogLoss)
            .SetMaxModelToExplore(3).SetStudy(Path.Combine(_dir, tuner + ".db"), tuner);
        _ = tuner switch
        {
            "tpe" => experiment.SetTpeTuner(),
            "cfo" => experiment.SetEciCostFrugalTuner(),
            "random" => experiment.SetRandomSearchTuner(seed: 7),
            _ => experiment.SetGridSearchTuner(),
        };
        var best = await experiment.RunAsync();

        Assert.Equal(tuner, experiment.Tuner!.Name);
        var trials = experiment.LastResult!.Trials;
        Assert.Equal(3, trials.Count);
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.Equal(trials.Min(t => t.Value!.Value), best.Metric); // log-loss is minimised
        Assert.Equal(best.Metric, best.Loss);
        // The model is the best fold's: it scores any rows with the pipeline's columns.
        var scored = best.Model.Transform(Blobs(ml, 9, 6));
        Assert.Equal(9, ml.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false).Count());
    }

    private sealed class ScoredRow
    {
        public uint PredictedLabel { get; set; }
    }

    [Fact]
    public async Task FrameworkEstimatorReportsItsEpochsAndSetDatasetNamesAMissingSamplingKey()
    {
        var ml = NewContext();
        var auto = ml.MedicalAuto();
        var mlp = auto.CreateSweepableEstimator((c, p, t) => c.MulticlassClassification.Trainers.Mlp([8], 0, new TrainingOptions
        {
            Epochs = 3, BatchSize = 16, LearningRate = p.GetDouble("lr"), ValidationFraction = 0.25,
            EpochCallback = t?.EpochCallback, CancellationToken = t?.CancellationToken ?? default, GroupColumnName = t?.GroupColumnName,
        }), new SearchSpace().Float("lr", 1e-3, 3e-2, log: true), "mlp");
        var experiment = auto.CreateExperiment().SetPipeline(mlp).SetDataset(Blobs(ml, 48, 7), Blobs(ml, 24, 8), nameof(BlobRow.Group))
            .SetMaxModelToExplore(2).SetTpeTuner().SetStudy(Path.Combine(_dir, "mlp.db"), "mlp");
        var best = await experiment.RunAsync();

        Assert.All(experiment.LastResult!.Trials, t =>
        {
            Assert.Equal(TrialState.Complete, t.State);
            Assert.Equal([0, 1, 2], t.IntermediateValues.Keys);
        });
        Assert.Equal(best.Metric, ml.MulticlassClassification.Evaluate(best.Model.Transform(Blobs(ml, 24, 8))).MicroAccuracy, 12);

        var e = Assert.Throws<ArgumentException>(() => auto.CreateExperiment().SetDataset(Blobs(ml, 12, 1), fold: 3, samplingKeyColumnName: "Patient"));
        Assert.Contains("'Patient'", e.Message);
        var noData = await Assert.ThrowsAsync<InvalidOperationException>(() => auto.CreateExperiment().SetPipeline(mlp).SetMaxModelToExplore(1).RunAsync());
        Assert.Contains("SetDataset", noData.Message);
    }

    [Fact]
    public async Task TransferStrategyIsOneSweepablePipeline()
    {
        var ml = NewContext(3);
        var rows = SquareRow.Make(24, 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        var toKey = ml.Transforms.Conversion.MapValueToKey(DefaultColumnNames.Label, nameof(SquareRow.Diagnosis)).Fit(data);
        var train = toKey.Transform(data);
        var validation = toKey.Transform(ml.Data.LoadFromEnumerable(SquareRow.Make(12, 2)));
        var strategy = ml.MedicalAuto().TransferStrategy(null, train.Schema, TinyTransferTask.Quick);
        var experiment = ml.MedicalAuto().CreateExperiment().SetPipeline(strategy).SetDataset(train, validation, "GroupId").SetMaxModelToExplore(1);
        var best = await experiment.RunAsync();
        Assert.Equal(TransferStrategy.Scratch, best.TrialSettings.Parameter.GetString("strategy"));
        Assert.Equal(best.Metric, ml.MulticlassClassification.Evaluate(best.Model.Transform(validation)).MicroAccuracy, 12);
    }

    [Fact]
    public async Task AResumedStudyWhoseBestRanEarlierFitsItAgainAndAStudyWithoutACompletedTrialSaysWhy()
    {
        var ml = NewContext();
        var train = Blobs(ml, 45, 9);
        var validation = Blobs(ml, 30, 10);
        MedicalAutoMLExperiment Experiment(int max) => ml.MedicalAuto().CreateExperiment().SetPipeline(StockPipeline(ml)).SetDataset(train, validation)
            .SetMaxModelToExplore(max).SetRandomSearchTuner().SetStudy(Path.Combine(_dir, "resume.db"), "resume");
        var first = await Experiment(2).RunAsync();
        var monitor = new RecordingMonitor();
        var resumed = Experiment(2).SetMonitor(monitor);
        var again = await resumed.RunAsync();
        Assert.Empty(monitor.Running);                      // the budget was spent by the first run
        Assert.Equal(first.TrialSettings.TrialId, again.TrialSettings.TrialId);
        Assert.Equal(first.Metric, again.Metric);
        Assert.Equal(first.TrialSettings.Parameter, again.TrialSettings.Parameter);
        Assert.Equal(9, ml.Data.CreateEnumerable<ScoredRow>(again.Model.Transform(Blobs(ml, 9, 11)), reuseRowObject: false).Count());

        var broken = ml.MedicalAuto().CreateSweepableEstimator((c, _) => c.MulticlassClassification.Trainers.LbfgsMaximumEntropy(featureColumnName: "NoSuchColumn"));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ml.MedicalAuto().CreateExperiment().SetPipeline(broken).SetDataset(train, validation).SetMaxModelToExplore(1).RunAsync());
        Assert.Contains("no completed trial", e.Message);
        Assert.Contains("NoSuchColumn", e.Message);
    }

    private sealed class MaskRow
    {
        [VolumeColumn(VolumeKind.Mask)] public Volume Mask { get; set; } = null!;
        [VolumeColumn(VolumeKind.Mask)] public Volume Shifted { get; set; } = null!;
    }

    [Theory]
    [InlineData(SegmentationMetric.Dice)]
    [InlineData(SegmentationMetric.Hausdorff95)]
    public async Task SegmentationMetricPicksTheTrueMaskOverAShiftedOne(SegmentationMetric metric)
    {
        var ml = NewContext();
        var rows = SquareRow.Make(6, 1).Select(r =>
        {
            var mask = r.Mask!.Voxels<byte>().ToArray();
            var shifted = new byte[mask.Length];
            for (int i = 0; i + 2 < mask.Length; i++) shifted[i + 2] = mask[i]; // two pixels to the right
            return new MaskRow { Mask = r.Mask, Shifted = Volume.Create<byte>(shifted, [SquareRow.Size, SquareRow.Size]) };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var auto = ml.MedicalAuto();
        var truth = auto.CreateSweepableEstimator((c, _) => c.Transforms.CopyColumns(DefaultColumnNames.PredictedMask, "Mask"), null, "truth");
        var shiftedMask = auto.CreateSweepableEstimator((c, _) => c.Transforms.CopyColumns(DefaultColumnNames.PredictedMask, "Shifted"), null, "shifted");
        var monitor = new RecordingMonitor();
        var experiment = auto.CreateExperiment().SetPipeline(new SweepablePipeline().Append(shiftedMask, truth))
            .SetDataset(data, data).SetSegmentationMetric(metric).SetGridSearchTuner().SetMaxModelToExplore(2).SetMonitor(monitor);
        var best = await experiment.RunAsync();
        Assert.Equal("truth", best.TrialSettings.Parameter.GetString("e0"));
        Assert.Equal(metric == SegmentationMetric.Dice ? 1.0 : 0.0, best.Metric, 9);
        Assert.Equal(2, monitor.Completed.Count);
        var other = monitor.Completed.Single(c => c.TrialSettings.TrialId != best.TrialSettings.TrialId);
        Assert.True(metric == SegmentationMetric.Dice ? other.Metric < 1 : other.Metric > 0, $"the shifted mask scored {other.Metric}");
        Assert.Equal(best.Metric, metric == SegmentationMetric.Dice ? ml.Segmentation.Evaluate(best.Model.Transform(data)).MeanDice
                                                                    : ml.Segmentation.Evaluate(best.Model.Transform(data)).MeanHausdorff95, 9);
    }
}
