using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Training;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>A 16×16 image with a bright square in its top ("top") or bottom ("bottom") half, its mask, and a patient id.
/// The diagnosis is text, as ML.NET's LoadFromEnumerable reads it; <see cref="TinyTransferTask"/> maps it to the <c>Label</c> key.</summary>
public sealed class SquareRow
{
    [VolumeColumn(VolumeKind.Image)] public Volume Image { get; set; } = null!;
    [VolumeColumn(VolumeKind.Mask)] public Volume? Mask { get; set; }
    public string Diagnosis { get; set; } = "";
    public string GroupId { get; set; } = "";

    public const int Size = 16;

    public static List<SquareRow> Make(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            bool bottom = i % 2 == 0;
            int side = 3 + random.Next(3), x0 = random.Next(0, Size - side), y0 = bottom ? random.Next(Size / 2, Size - side) : random.Next(0, Size / 2 - side);
            var image = new float[Size * Size];
            var mask = new byte[Size * Size];
            for (int y = 0; y < Size; y++)
                for (int x = 0; x < Size; x++)
                {
                    bool inside = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
                    mask[y * Size + x] = (byte)(inside ? 1 : 0);
                    image[y * Size + x] = (inside ? 1f : 0f) + 0.5f * (float)(random.NextDouble() - 0.5);
                }
            return new SquareRow
            {
                Image = Volume.Create<float>(image, [Size, Size]), Mask = Volume.Create<byte>(mask, [Size, Size]),
                Diagnosis = bottom ? "bottom" : "top", GroupId = $"S{seed}-{i / 2}",
            };
        }).ToList();
    }
}

/// <summary>A pretrained tiny U-Net and the train/validation views the sweeps share (pretraining once keeps the tests fast).</summary>
public sealed class TinyTransferTask : IDisposable
{
    public MLContext Ml { get; } = NewContext();
    public IDataView Train { get; }
    public IDataView Validation { get; }
    public ITransformer Segmentation { get; }

    public TinyTransferTask()
    {
        var train = Ml.Data.LoadFromEnumerable(SquareRow.Make(24, 1));
        var toKey = Ml.Transforms.Conversion.MapValueToKey(DefaultColumnNames.Label, nameof(SquareRow.Diagnosis),
            keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue).Fit(train);
        Train = toKey.Transform(train);
        Validation = toKey.Transform(Ml.Data.LoadFromEnumerable(SquareRow.Make(12, 2)));
        var unet = new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = 2, InChannels = 1, Depth = 3, BaseChannels = 4 }, NumClasses = 2 };
        Segmentation = Ml.Segmentation.Trainers.UNet(unet, new TrainingOptions { Epochs = 2, BatchSize = 8, LearningRate = 5e-3, ValidationFraction = 0 }).Fit(Train);
    }

    private static MLContext NewContext()
    {
        var ml = new MLContext(seed: 3);
        ml.Medical().Seed = 3;
        return ml;
    }

    public static TransferStrategyOptions Quick => new() { Epochs = 3, BatchSize = 8, ValidationFraction = 0.25 };

    public void Dispose() => (Segmentation as IDisposable)?.Dispose();
}

[CollectionDefinition("TinyTransfer")]
public sealed class TinyTransferCollection : ICollectionFixture<TinyTransferTask>;

[Collection("TinyTransfer")]
public sealed class TransferStrategyTests(TinyTransferTask task) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-transfer-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    /// <summary>Prunes one given trial at one given step: the plumbing from the trainer's epoch callback to a pruned trial.</summary>
    private sealed class PruneOneTrial(int trial, int step) : IPruner
    {
        public string Name => "prune-one";
        public bool ShouldPrune(IStudyView study, TrialRecord t) => t.Number == trial && t.LastStep >= step;
    }

    private static ParameterSet PointOf(SearchSpace space, string strategy, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 1000; i++)
            if (space.Sample(random) is var p && p.GetString(TransferStrategy.ChoiceName) == strategy) return p;
        throw new InvalidOperationException($"no sample of '{strategy}'");
    }

    [Fact]
    public void EveryBranchTrainsReportsEachEpochOneIsPrunedAndTheBestIsRefittedAndSaved()
    {
        var pipeline = new TransferStrategy(task.Ml, task.Segmentation, task.Train.Schema, TinyTransferTask.Quick);
        // The default space: every branch but imagenet-features, which is swept only when listed.
        Assert.Equal(TransferStrategy.DefaultStrategies, pipeline.Strategies);
        Assert.DoesNotContain(TransferStrategy.ImageNetFeatures, pipeline.Strategies);
        var experiment = new AutoMLExperiment(task.Ml)
            .SetPipeline(pipeline)
            .SetDataset(task.Train, task.Validation, "GroupId")
            .SetMetric(SweepMetrics.Accuracy, Direction.Maximize)
            .SetMaxTrials(pipeline.Strategies.Count)
            .SetPruner(new PruneOneTrial(trial: 1, step: 1))
            .SetStudy(Path.Combine(_dir, "study.db"), "transfer")
            .SetRefit();
        for (int i = 0; i < pipeline.Strategies.Count; i++) experiment.Enqueue(PointOf(pipeline.SearchSpace, pipeline.Strategies[i], i));
        var result = experiment.Run();

        Assert.All(result.Trials, t => Assert.True(t.State != TrialState.Fail, $"trial {t.Number} ({t.Parameters.ToJson()}) failed: {t.Error}"));
        Assert.Equal(pipeline.Strategies, result.Trials.OrderBy(t => t.Number).Select(t => t.Parameters.GetString(TransferStrategy.ChoiceName)));
        var pruned = Assert.Single(result.Trials, t => t.State == TrialState.Pruned);
        Assert.Equal(1, pruned.Number);
        Assert.Equal([0, 1], pruned.IntermediateValues.Keys);
        foreach (var t in result.Trials.Where(t => t.State == TrialState.Complete))
        {
            // ML.NET's L-BFGS softmax has no epochs: that branch reports nothing to the pruner.
            bool lbfgs = t.Parameters.GetString(TransferStrategy.ChoiceName) == TransferStrategy.FrozenSoftmax;
            Assert.Equal(lbfgs ? [] : [0, 1, 2], t.IntermediateValues.Keys);
            Assert.InRange(t.Value!.Value, 0, 1);
            Assert.Equal(lbfgs ? "0" : "3", t.UserAttributes["epochs_trained"]);
            Assert.True(t.UserAttributes.ContainsKey(SweepMetrics.LogLoss));
        }
        Assert.Equal(result.Leaderboard.Max(t => t.Value), result.BestTrial!.Value);
        Assert.True(File.Exists(result.LeaderboardCsvPath) && File.Exists(result.LeaderboardJsonPath));
        Assert.Equal(Path.Combine(_dir, "transfer.best-model.zip"), result.BestModelPath);
        var model = task.Ml.Model.LoadMedical(result.BestModelPath!, out var schema);
        Assert.NotNull(schema);
        var metrics = task.Ml.MulticlassClassification.Evaluate(model.Transform(task.Validation));
        Assert.Equal(12, metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()));
    }

    /// <summary>
    /// The per-epoch values the pruner sees are the experiment's validation accuracy, the figure trials are ranked by, not a
    /// share the trainer holds out of its training rows. The validation rows here carry swapped labels, so on them a model that
    /// learnt the task scores near 0 while any split of the training rows would score it near 1: a trial's final value (its best
    /// epoch's validation accuracy) must then be the best of the values it reported, each a whole number of the 12 rows.
    /// </summary>
    [Fact]
    public void EpochValuesReportedToThePrunerAreTheExperimentsValidationScore()
    {
        var rows = SquareRow.Make(12, 2);
        foreach (var r in rows) r.Diagnosis = r.Diagnosis == "top" ? "bottom" : "top";
        var swappedRows = task.Ml.Data.LoadFromEnumerable(rows);
        var swapped = task.Ml.Transforms.Conversion.MapValueToKey(DefaultColumnNames.Label, nameof(SquareRow.Diagnosis),
            keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue).Fit(swappedRows).Transform(swappedRows);
        string[] networks = [TransferStrategy.FrozenMlp, TransferStrategy.FineTune, TransferStrategy.Joint, TransferStrategy.Scratch];
        var pipeline = new TransferStrategy(task.Ml, task.Segmentation, task.Train.Schema, TinyTransferTask.Quick with { Strategies = networks });
        var experiment = new AutoMLExperiment(task.Ml)
            .SetPipeline(pipeline)
            .SetDataset(task.Train, swapped, "GroupId")
            .SetMetric(SweepMetrics.Accuracy, Direction.Maximize)
            .SetMaxTrials(networks.Length)
            .SetStudy(Path.Combine(_dir, "epochs.db"), "epochs");
        for (int i = 0; i < networks.Length; i++) experiment.Enqueue(PointOf(pipeline.SearchSpace, networks[i], i));
        var result = experiment.Run();

        Assert.Equal(networks.Length, result.Trials.Count);
        foreach (var t in result.Trials)
        {
            string branch = t.Parameters.GetString(TransferStrategy.ChoiceName);
            Assert.True(t.State == TrialState.Complete, $"{branch} trial {t.Number}: {t.State} {t.Error}");
            Assert.Equal([0, 1, 2], t.IntermediateValues.Keys);
            Assert.All(t.IntermediateValues.Values, v => Assert.True(Math.Abs(v * 12 - Math.Round(v * 12)) < 1e-9, $"{branch}: epoch value {v} is not a count of the 12 validation rows"));
            Assert.True(Math.Abs(t.IntermediateValues.Values.Max() - t.Value!.Value) < 1e-9,
                $"{branch}: the pruner saw [{string.Join(", ", t.IntermediateValues.Values)}], the trial's validation accuracy is {t.Value}");
        }
    }

    /// <summary>A study of <paramref name="trials"/> random trials of <paramref name="pipeline"/> on the validation split, maximising
    /// accuracy, with the best model refitted; the SQLite file and study are both named <paramref name="name"/>.</summary>
    private ExperimentResult RandomAccuracyStudyWithRefit(TransferStrategy pipeline, int trials, string name) =>
        new AutoMLExperiment(task.Ml)
            .SetPipeline(pipeline)
            .SetDataset(task.Train, task.Validation, "GroupId")
            .SetMetric(SweepMetrics.Accuracy, Direction.Maximize)
            .SetMaxTrials(trials)
            .SetTuner(new RandomTuner(3))
            .SetStudy(Path.Combine(_dir, name + ".db"), name)
            .SetRefit()
            .Run();

    /// <summary>The imagenet-features branch (ResNet18 features + L-BFGS softmax regression) without any pretrained model: its
    /// trials complete, report no epochs (L-BFGS has none), and the refitted best model, saved and loaded, scores new rows.</summary>
    [Fact]
    public void ImageNetFeaturesRunsWithoutAPretrainedModelReportsNoEpochsAndItsBestModelScores()
    {
        var pipeline = new TransferStrategy(task.Ml, null, task.Train.Schema, TinyTransferTask.Quick with { Strategies = [TransferStrategy.ImageNetFeatures] });
        Assert.Equal([TransferStrategy.ImageNetFeatures], pipeline.Strategies);
        var result = RandomAccuracyStudyWithRefit(pipeline, trials: 2, "imagenet");

        Assert.Equal(2, result.Trials.Count);
        foreach (var t in result.Trials)
        {
            Assert.True(t.State == TrialState.Complete, $"trial {t.Number} ({t.Parameters.ToJson()}): {t.State} {t.Error}");
            Assert.Equal(TransferStrategy.ImageNetFeatures, t.Parameters.GetString(TransferStrategy.ChoiceName));
            Assert.InRange(t.Parameters.GetDouble(TransferStrategy.ChoiceName + "." + TransferStrategy.ImageNetFeatures + ".l2"), 1e-5, 0.1);
            Assert.Empty(t.IntermediateValues);
            Assert.Equal("0", t.UserAttributes["epochs_trained"]);
            Assert.InRange(t.Value!.Value, 0, 1);
        }
        var model = task.Ml.Model.LoadMedical(result.BestModelPath!, out _);
        var scored = model.Transform(task.Validation);
        Assert.Equal(512, ((VectorDataViewType)scored.Schema[DefaultColumnNames.Features].Type).Size);
        var metrics = task.Ml.MulticlassClassification.Evaluate(scored);
        Assert.Equal(12, metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()));
    }

    /// <summary>The imagenet-fine-tune branch (ImageNet's ResNet18 fine-tuned, at 64² here) without any pretrained model: it is
    /// offered only when listed, its trial reports each epoch, and the refitted best model, saved and loaded, scores new rows.</summary>
    [Fact]
    public void ImageNetFineTuneRunsWithoutAPretrainedModelReportsEpochsAndItsBestModelScores()
    {
        Assert.DoesNotContain(TransferStrategy.ImageNetFineTune, TransferStrategy.DefaultStrategies);
        var pipeline = new TransferStrategy(task.Ml, null, task.Train.Schema,
            TinyTransferTask.Quick with { Epochs = 2, Strategies = [TransferStrategy.ImageNetFineTune], ImageNetInputSize = 64 });
        Assert.Equal([TransferStrategy.ImageNetFineTune], pipeline.Strategies);
        var result = RandomAccuracyStudyWithRefit(pipeline, trials: 1, "imagenet-ft");

        var t = Assert.Single(result.Trials);
        Assert.True(t.State == TrialState.Complete, $"trial {t.Number} ({t.Parameters.ToJson()}): {t.State} {t.Error}");
        Assert.Equal(TransferStrategy.ImageNetFineTune, t.Parameters.GetString(TransferStrategy.ChoiceName));
        Assert.InRange(t.Parameters.GetDouble(TransferStrategy.ChoiceName + "." + TransferStrategy.ImageNetFineTune + ".lr"), 1e-4, 1e-2);
        Assert.Equal(2, t.IntermediateValues.Count);
        var model = task.Ml.Model.LoadMedical(result.BestModelPath!, out _);
        var metrics = task.Ml.MulticlassClassification.Evaluate(model.Transform(task.Validation));
        Assert.Equal(12, metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()));
    }

    [Fact]
    public void CrossValidatedTrialsAverageTheFoldsAndCountEveryFoldsEpochs()
    {
        var pipeline = new ModelRecordingPipeline(new TransferStrategy(task.Ml, task.Segmentation, task.Train.Schema, TinyTransferTask.Quick with { Strategies = [TransferStrategy.FrozenMlp] }));
        var result = new AutoMLExperiment(task.Ml)
            .SetPipeline(pipeline)
            .SetDataset(task.Train, folds: 2, groupColumnName: "GroupId")
            .SetMetric(SweepMetrics.LogLoss, Direction.Minimize)
            .SetMaxTrials(2)
            .SetTuner(new RandomTuner(2))
            .SetStudy(Path.Combine(_dir, "cv.db"), "cv")
            .Run();
        Assert.All(result.Trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.All(result.Trials, t => Assert.Equal("6", t.UserAttributes["epochs_trained"]));
        Assert.All(result.Trials, t => Assert.Equal([0, 1, 2], t.IntermediateValues.Keys));
        Assert.True(result.BestTrial!.Value > 0);
        // Every fold's fitted model was disposed by the runner, not left to finalizers: its networks' weights are freed.
        Assert.Equal(4, pipeline.Weights.Count);
        Assert.All(pipeline.Weights, w => Assert.NotEmpty(w));
        Assert.All(pipeline.Weights.SelectMany(w => w), w => Assert.True(w.IsInvalid, "a trial's network weights are still allocated"));
    }

    /// <summary>The parameters of every network stage of a fitted model (a chain or a single stage).</summary>
    private static IEnumerable<TorchSharp.torch.Tensor> NetworkWeights(ITransformer model) => model switch
    {
        MlNetMedical.Trainers.ImageNetworkTransformer image => image.Network.parameters(),
        MlNetMedical.Trainers.VectorClassifierTransformer vector => vector.Network.parameters(),
        IEnumerable<ITransformer> stages => stages.SelectMany(NetworkWeights), // ML.NET's TransformerChain
        _ => [],
    };

    /// <summary>Keeps the network weights of every model the trials fit, so the test can check what happened to them.</summary>
    private sealed class ModelRecordingPipeline(ISweepablePipeline inner) : ISweepablePipeline
    {
        public System.Collections.Concurrent.ConcurrentQueue<List<TorchSharp.torch.Tensor>> Weights { get; } = new();
        public SearchSpace SearchSpace => inner.SearchSpace;

        public IEstimator<ITransformer> BuildEstimator(ParameterSet parameters, TrialTraining training) =>
            new Recording(inner.BuildEstimator(parameters, training), Weights);

        private sealed class Recording(IEstimator<ITransformer> estimator, System.Collections.Concurrent.ConcurrentQueue<List<TorchSharp.torch.Tensor>> weights) : IEstimator<ITransformer>
        {
            public ITransformer Fit(IDataView input)
            {
                var model = estimator.Fit(input);
                weights.Enqueue(NetworkWeights(model).ToList());
                return model;
            }

            public SchemaShape GetOutputSchema(SchemaShape inputSchema) => estimator.GetOutputSchema(inputSchema);
        }
    }

    /// <summary>Records the calling thread's torch thread count when a trial builds its estimator (inside the trial's budget).</summary>
    private sealed class ThreadRecordingPipeline(ISweepablePipeline inner) : ISweepablePipeline
    {
        public System.Collections.Concurrent.ConcurrentBag<int> Threads { get; } = [];
        public SearchSpace SearchSpace => inner.SearchSpace;

        public IEstimator<ITransformer> BuildEstimator(ParameterSet parameters, TrialTraining training)
        {
            Threads.Add(MlNetMedical.Models.TorchRuntime.CurrentThreads);
            return inner.BuildEstimator(parameters, training);
        }
    }

    [Fact]
    public void ParallelTrialsGiveTheSameValuesFromRunToRun()
    {
        // Each trial draws its weights and dropout from its own seeded generators and trains under its own thread budget,
        // so what runs beside it cannot change its value (the old engine's shared generator changed 3-4 of 16).
        IReadOnlyList<(string Parameters, double? Value)> Run(string name)
        {
            var pipeline = new TransferStrategy(task.Ml, task.Segmentation, task.Train.Schema, TinyTransferTask.Quick);
            var result = new AutoMLExperiment(task.Ml).SetPipeline(pipeline).SetDataset(task.Train, task.Validation, "GroupId")
                .SetMaxTrials(8).SetParallelism(2).SetTuner(new RandomTuner(5)).SetStudy(Path.Combine(_dir, name + ".db"), name).Run();
            Assert.All(result.Trials, t => Assert.Equal(TrialState.Complete, t.State));
            return result.Trials.OrderBy(t => t.Number).Select(t => (string.Join(";", t.Parameters.Values.Select(p => $"{p.Key}={p.Value}")), t.Value)).ToList();
        }
        var first = Run("first");
        var second = Run("second");
        Assert.Equal(8, first.Count);
        Assert.True(first.Select(t => t.Parameters).Distinct().Count() > 1, "the tuner should try several configurations");
        Assert.Equal(first, second);
    }

    [Fact]
    public void ParallelTrialsEachTrainUnderTheirShareOfTheCores()
    {
        var pipeline = new ThreadRecordingPipeline(new TransferStrategy(task.Ml, task.Segmentation, task.Train.Schema, TinyTransferTask.Quick with { Strategies = [TransferStrategy.FrozenSoftmax] }));
        var experiment = new AutoMLExperiment(task.Ml).SetPipeline(pipeline).SetDataset(task.Train, task.Validation, "GroupId")
            .SetMaxTrials(4).SetParallelism(2).SetTuner(new RandomTuner(4)).SetStudy(Path.Combine(_dir, "parallel.db"), "parallel");
        var result = experiment.Run();
        Assert.All(result.Trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.Equal(4, pipeline.Threads.Count);
        Assert.All(pipeline.Threads, n => Assert.Equal(experiment.TrialThreadBudget, n));
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), experiment.TrialThreadBudget);
    }

    [Fact]
    public void WithoutAPretrainedModelOnlyScratchRemainsAndBadSettingsAreNamed()
    {
        Assert.Equal([TransferStrategy.Scratch], new TransferStrategy(task.Ml, null, task.Train.Schema).Strategies);
        // imagenet-features needs no pretrained model: listed, it is offered without one (the segmentation branches are not).
        Assert.Equal([TransferStrategy.Scratch, TransferStrategy.ImageNetFeatures], new TransferStrategy(task.Ml, null, task.Train.Schema,
            new TransferStrategyOptions { Strategies = [TransferStrategy.FrozenSoftmax, TransferStrategy.Scratch, TransferStrategy.ImageNetFeatures] }).Strategies);
        var none = Assert.Throws<ArgumentException>(() => new TransferStrategy(task.Ml, null, task.Train.Schema, new TransferStrategyOptions { Strategies = [TransferStrategy.FineTune] }));
        Assert.Contains("imagenet-features", none.Message);
        var e = Assert.Throws<ArgumentException>(() => new TransferStrategy(task.Ml, task.Segmentation, task.Train.Schema, new TransferStrategyOptions { Strategies = ["frozen"] }));
        Assert.Contains("'frozen'", e.Message);
        var noGroup = Assert.Throws<ArgumentException>(() => new AutoMLExperiment(task.Ml).SetDataset(task.Train, task.Validation, "Patient"));
        Assert.Contains("'Patient'", noGroup.Message);
        var noData = Assert.Throws<InvalidOperationException>(() =>
            new AutoMLExperiment(task.Ml).SetPipeline(new TransferStrategy(task.Ml, null, task.Train.Schema)).SetMaxTrials(1).Run());
        Assert.Contains("SetDataset", noData.Message);
        var badMetric = Assert.Throws<ArgumentException>(() => new AutoMLExperiment(task.Ml).SetPipeline(new TransferStrategy(task.Ml, null, task.Train.Schema))
            .SetDataset(task.Train, task.Validation).SetMetric("dice", Direction.Maximize).SetMaxTrials(1).Run());
        Assert.Contains("'dice'", badMetric.Message);
    }
}
