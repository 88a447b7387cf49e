using System.Diagnostics;
using MlNetMedical.Catalogs;
using MlNetMedical.Cli.Commands;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Cli.Terminal;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Imaging.Synthetic;
using MlNetMedical.Metrics;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;
using MlNetMedical.Training;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>Runs a <see cref="PipelineConfig"/>: prepares the data, trains each stage in order, scores it on the test split
/// and fills a <see cref="RunReport"/> (metrics, learning curves, sample images). Models go to OUT/models/.</summary>
public sealed class PipelineRunner(ProgressView view)
{
    private sealed record TrainedStage(string Name, ITransformer Model, IDataView ScoredTest, MethodResult Result);

    /// <summary>Put this machine's host name in the report's environment (--record-machine); left out by default.</summary>
    public bool RecordMachine { get; init; }

    /// <summary>Runs the stages in order. Cancelling <paramref name="cancellation"/> stops the running stage at its next training
    /// step (or before the next stage); the stages that finished stay in the report, with their models saved.</summary>
    public Outcome<RunReport> Run(PipelineConfig config, string pipelineDirectory, string outDir, CancellationToken cancellation = default)
    {
        var ml = config.CreateContext();
        var report = NewReport(config, ml, config.Name, RecordMachine);
        var data = LoadData(ml, config, pipelineDirectory, outDir);
        CheckSplits(data, config.Stages.Select((s, i) => s.Body is PretrainStage p
                ? (p.Split is null ? "data.pretrain_split" : $"stages.{i}.pretrain.split", p.Split ?? config.Data.PretrainSplit)
                : ("data.train_split", config.Data.TrainSplit))
            .Append(("data.test_split", config.Data.TestSplit)));
        var split = (string name) => ml.Data.CacheInMemory(ml.Data.FilterBySplit(data, name));
        var train = split(config.Data.TrainSplit);
        var test = split(config.Data.TestSplit);
        var unet = ResolveUNet(config, data);
        view.Log($"data: {train.CountRows()} train, {test.CountRows()} test cases; U-Net {unet.Encoder.SpatialDims}D, {unet.Encoder.InChannels} channel(s), {unet.NumClasses} segmentation classes");
        var augmenter = config.CreateAugmenter();
        var trained = new List<TrainedStage>();
        Interruption? interrupted = null;

        foreach (var stage in config.Stages)
        {
            var name = stage.Name;
            var progress = new TrainingProgressReporter(view, name);
            var clock = Stopwatch.StartNew();
            ITransformer model;
            MethodResult result;
            try
            {
                cancellation.ThrowIfCancellationRequested();
                (model, result) = Train(ml, config, stage, trained, data, train, unet, augmenter, progress, cancellation);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                progress.Complete("interrupted");
                interrupted = new Interruption(name, trained.Select(t => t.Name).ToList());
                break;
            }
            result.Name = name;
            result.TrainingSeconds = clock.Elapsed.TotalSeconds;
            result.History = progress.History;
            progress.Complete($"trained in {clock.Elapsed.TotalSeconds:F1} s");

            var scored = ml.Data.CacheInMemory(model.Transform(test));
            Score(ml, result, scored, unet.NumClasses);
            if (config.Outputs.SaveModels)
            {
                result.ModelPath = $"models/{name}.zip";
                ml.Model.SaveMedical(model, data.Schema, Path.Combine(outDir, result.ModelPath));
            }
            view.Log($"{name}: {Summary(result)}");
            report.Methods.Add(result);
            trained.Add(new TrainedStage(name, model, scored, result));
        }
        ReportMetrics.PairWithScratch(report.Methods);
        report.Samples = SampleImages.Collect(trained.Select(t => (t.Name, t.ScoredTest, t.Result)).ToList(), test, config.Evaluation.Samples);
        foreach (var stage in trained) (stage.Model as IDisposable)?.Dispose();
        return new Outcome<RunReport>(report, interrupted);
    }

    /// <summary>Trains one stage on the train split (pretraining: on its own split); its result has the kind filled in.</summary>
    private static (ITransformer Model, MethodResult Result) Train(MLContext ml, PipelineConfig config, StageConfig stage, List<TrainedStage> trained,
        IDataView data, IDataView train, UNetConfig unet, SampleAugmenter? augmenter, IProgress<TrainingProgress> progress, CancellationToken cancellation)
    {
        TrainingOptions Settings(TrainingSettings t, SampleAugmenter? augmentation) => Options(config, t, progress, augmentation, cancellation);
        switch (stage.Body)
        {
            case PretrainStage pretrain:
                return (Pretrain(ml, config, pretrain, data, unet, progress, augmenter, cancellation), new MethodResult { Kind = "segmentation-pretrain" });
            case FeaturizeStage featurize:
            {
                var encoder = From(trained, featurize, config).Model;
                var features = ml.Transforms.SegmentationEncoderFeatures(encoder, featurize.Levels, featurize.Pooling);
                return (FitFeatureClassifier(ml, features, featurize, train, Settings, cancellation), new MethodResult { Kind = "frozen-features" });
            }
            case ImagenetFeaturesStage imagenet:
            {
                cancellation.ThrowIfCancellationRequested();
                var features = ml.Transforms.ImageNetFeatures();
                return (FitFeatureClassifier(ml, features, imagenet, train, Settings, cancellation), new MethodResult { Kind = "imagenet-features" });
            }
            case FineTuneStage fineTune:
            {
                var encoder = From(trained, fineTune, config).Model;
                var network = EncoderClassifierConfig.FromSegmentation(unet, Head(fineTune.Head));
                var model = ml.MulticlassClassification.Trainers.FineTunedEncoder(network, encoder, fineTune.Transfer.ToLibrary(fineTune.Training.LearningRate),
                    Settings(fineTune.Training, augmenter)).Fit(train);
                return (model, new MethodResult { Kind = "fine-tune" });
            }
            case ImagenetFineTuneStage imagenet:
            {
                var network = EncoderClassifierConfig.ImageNetResNet18(unet.Encoder.SpatialDims, unet.Encoder.InChannels, 2, imagenet.InputSize) with { Head = Head(imagenet.Head) };
                var model = ml.MulticlassClassification.Trainers.ImageNetFineTuned(network, imagenet.Transfer.ToLibrary(imagenet.Training.LearningRate),
                    Settings(imagenet.Training, augmenter)).Fit(train);
                return (model, new MethodResult { Kind = "imagenet-fine-tune" });
            }
            case ScratchStage scratch:
            {
                var model = ml.MulticlassClassification.Trainers.ImageCnn(ScratchNetworkConfig(scratch, unet), Settings(scratch.Training, augmenter)).Fit(train);
                return (model, new MethodResult { Kind = "scratch" });
            }
            case JointStage joint:
            {
                var start = joint.From is null ? null : From(trained, joint, config).Model;
                var model = ml.MulticlassClassification.Trainers.JointSegmentationClassifier(joint.Topology, joint.ClassificationWeight, start, unet,
                    joint.Transfer.ToLibrary(joint.Training.LearningRate), Settings(joint.Training, augmenter)).Fit(train);
                return (model, new MethodResult { Kind = "joint" });
            }
            default: throw new InvalidOperationException("a stage without a kind passed validation");
        }
    }

    /// <summary>Appends a featurize or imagenet_features stage's classifier to <paramref name="features"/> (which write
    /// <c>Features</c>) and fits the chain on the train split.</summary>
    private static ITransformer FitFeatureClassifier<TFeatures>(MLContext ml, IEstimator<TFeatures> features, IFeatureClassifierStage stage, IDataView train,
        Func<TrainingSettings, SampleAugmenter?, TrainingOptions> settings, CancellationToken cancellation) where TFeatures : class, ITransformer
    {
        if (stage.Classifier == FeatureClassifier.Mlp)
        {
            var options = settings(stage.Training, null) with { WeightDecay = stage.L2 };
            return features.Append(ml.MulticlassClassification.Trainers.Mlp(stage.HiddenUnits, stage.Dropout, options)).Fit(train);
        }
        // ML.NET's L-BFGS trainer neither reports epochs nor watches a cancellation token: check before and after.
        cancellation.ThrowIfCancellationRequested();
        // ML.NET trainers do not cache: without the checkpoint every L-BFGS iteration would rerun the network on
        // every image. The cache (ML.NET's, which leaves out the volume columns) serves fitting only.
        var model = features.AppendCacheCheckpoint(ml)
            .Append(ml.Transforms.NormalizeMeanVariance(DefaultColumnNames.Features, fixZero: false))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(MaximumEntropy(stage))).Fit(train);
        cancellation.ThrowIfCancellationRequested();
        return model;
    }

    /// <summary>A report with the run's title, task and environment.</summary>
    internal static RunReport NewReport(ExperimentConfig config, MLContext ml, string title, bool recordMachine) => new()
    {
        Title = title,
        CreatedUtc = DateTimeOffset.UtcNow,
        Task = config.Data.Synthetic?.Task ?? Path.GetFileName(config.Data.Manifest ?? config.Data.Decathlon),
        Environment = Environment(config, ml, recordMachine),
    };

    /// <summary>Refuses, before anything trains, a configured split that has no cases, naming the key and the splits there are
    /// (a Decathlon folder, for one, has no split column: its training cases have none and its test images are 'test').</summary>
    internal static void CheckSplits(IDataView data, IEnumerable<(string Key, string Split)> needed)
    {
        var counts = data.GetColumn<string>(DefaultColumnNames.Split).GroupBy(s => s ?? "").ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var (key, split) in needed.Distinct())
        {
            if (counts.ContainsKey(split)) continue;
            var available = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
                .Select(c => $"{(c.Key.Length == 0 ? "no split" : c.Key)} ({c.Value} case{(c.Value == 1 ? "" : "s")})");
            throw new CliUserException($"{key} is '{split}', but the data has no cases in split '{split}'; the splits it has: {string.Join(", ", available)}");
        }
    }

    /// <summary>Segmentation pretraining of the U-Net on the stage's split (default data.pretrain_split).</summary>
    internal static ITransformer Pretrain(MLContext ml, ExperimentConfig config, PretrainStage pretrain, IDataView data, UNetConfig unet,
        IProgress<TrainingProgress> progress, SampleAugmenter? augmenter, CancellationToken cancellation)
    {
        var rows = ml.Data.CacheInMemory(ml.Data.FilterBySplit(data, pretrain.Split ?? config.Data.PretrainSplit));
        return ml.Segmentation.Trainers.UNet(unet, Options(config, pretrain.Training, progress, augmenter, cancellation)).Fit(rows);
    }

    internal IDataView LoadData(MLContext ml, ExperimentConfig config, string pipelineDirectory, string outDir)
    {
        var chain = config.Preprocessing.Count == 0 ? null : new TransformChain(config.Preprocessing.Select(Preprocessing.ToTransform));
        var cache = config.Data.CacheFolder is null ? null : Path.GetFullPath(config.Data.CacheFolder, pipelineDirectory);
        if (config.Data.Synthetic is { } synthetic)
        {
            var folder = Path.Combine(outDir, "data");
            DatasetsCommand.Make(view, synthetic.Task, folder, new SyntheticOptions
            {
                Seed = synthetic.Seed, Train = synthetic.Train, Test = synthetic.Test, Pretrain = synthetic.Pretrain,
                Size = synthetic.Size, Channels = synthetic.Channels,
            });
            return ml.Data.LoadFromManifest(Path.Combine(folder, "manifest.csv"), chain, cache);
        }
        if (config.Data.Manifest is { } manifest)
        {
            var path = Path.GetFullPath(manifest, pipelineDirectory);
            if (!File.Exists(path)) throw new CliUserException($"data.manifest: '{path}' does not exist");
            return ml.Data.LoadFromManifest(path, chain, cache);
        }
        var decathlon = Path.GetFullPath(config.Data.Decathlon!, pipelineDirectory);
        if (!Directory.Exists(decathlon)) throw new CliUserException($"data.decathlon: folder '{decathlon}' does not exist");
        return ml.Data.LoadFromDecathlon(decathlon, chain, cache);
    }

    /// <summary>The U-Net of network:, with dimensions, channels and classes read from the data where not given.</summary>
    internal static UNetConfig ResolveUNet(ExperimentConfig config, IDataView data)
    {
        var n = config.Network;
        int spatialDims = n.SpatialDims ?? 0, inChannels = n.InChannels ?? 0, classes = n.SegmentationClasses ?? 0;
        if (spatialDims == 0 || inChannels == 0)
        {
            var image = data.GetColumn<Volume>(DefaultColumnNames.Image).FirstOrDefault()
                ?? throw new CliUserException("the data has no cases");
            if (spatialDims == 0) spatialDims = image.Size3[2] > 1 ? 3 : 2;
            if (inChannels == 0) inChannels = image.Channels;
        }
        if (classes == 0)
        {
            int max = 0;
            foreach (var mask in data.GetColumn<Volume?>(DefaultColumnNames.Mask))
                if (mask is not null) max = Math.Max(max, (int)mask.ToDoubleArray().Max());
            classes = Math.Max(2, max + 1);
        }
        (n.SpatialDims, n.InChannels, n.SegmentationClasses) = (spatialDims, inChannels, classes); // the resolved config shows them
        return new UNetConfig
        {
            Encoder = new UNetEncoderConfig { SpatialDims = spatialDims, InChannels = inChannels, Depth = n.Depth, BaseChannels = n.BaseChannels, Norm = n.Norm, Block = n.Block },
            NumClasses = classes,
        };
    }

    internal static TrainingOptions Options(ExperimentConfig config, TrainingSettings t, IProgress<TrainingProgress> progress, SampleAugmenter? augmentation,
        CancellationToken cancellation) => new()
    {
        Epochs = t.Epochs, BatchSize = t.BatchSize, LearningRate = t.LearningRate, WeightDecay = t.WeightDecay,
        ValidationFraction = t.ValidationFraction, GroupColumnName = DefaultColumnNames.GroupId,
        EarlyStoppingPatience = t.EarlyStoppingPatience, EarlyStoppingMetric = t.EarlyStoppingMetric,
        Schedule = t.Schedule, ClassBalancing = t.ClassBalancing, GradientClipNorm = t.GradientClipNorm,
        Augmentation = augmentation, Progress = progress, Seed = config.Seed, CancellationToken = cancellation,
    };

    /// <summary>The softmax-regression classifier of a featurize stage as ML.NET's L-BFGS maximum entropy on standardised
    /// features: <c>l2</c> is its L2 regularization and there is no L1 (ML.NET's default of 1 would drop most encoder features),
    /// <c>training.epochs</c> its iteration limit; one thread, so results do not depend on the machine's cores.</summary>
    internal static Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options MaximumEntropy(IFeatureClassifierStage featurize) => new()
    {
        L2Regularization = (float)featurize.L2,
        L1Regularization = 0,
        MaximumNumberOfIterations = featurize.Training.Epochs,
        NumberOfThreads = 1,
    };

    private static TrainedStage From(List<TrainedStage> trained, ITransferStage stage, PipelineConfig config)
    {
        var from = stage.From ?? config.Stages.First(s => s.Body is PretrainStage).Name;
        return trained.First(t => t.Name == from);
    }

    internal static ClassificationHeadConfig Head(HeadSettings head) => new()
    {
        Levels = head.Levels, Pooling = head.Pooling, Dropout = head.Dropout, HiddenUnits = head.HiddenUnits,
    };

    internal static EncoderClassifierConfig ScratchNetworkConfig(ScratchStage scratch, UNetConfig unet)
    {
        var dims = unet.Encoder.SpatialDims;
        var channels = unet.Encoder.InChannels;
        var config = scratch.Network switch
        {
            ScratchNetwork.PlainCnn => EncoderClassifierConfig.PlainCnn(dims, channels, 2, scratch.Depth, scratch.BaseChannels),
            ScratchNetwork.Resnet => EncoderClassifierConfig.ResNet(dims, channels, 2, scratch.BaseChannels),
            _ => EncoderClassifierConfig.FromSegmentation(unet, new ClassificationHeadConfig()),
        };
        return config with { Head = Head(scratch.Head) };
    }

    /// <summary>Test metrics from the scored test rows: classification when the model predicts a class, segmentation when it predicts masks (and every test case has one).</summary>
    private static void Score(MLContext ml, MethodResult result, IDataView scored, int segmentationClasses)
    {
        if (scored.Schema.GetColumnOrNull(DefaultColumnNames.Score) is not null)
            result.Classification = ReportMetrics.Classification(ml, scored);
        if (scored.Schema.GetColumnOrNull(DefaultColumnNames.PredictedMask) is null) return;
        var truths = scored.GetColumn<Volume?>(DefaultColumnNames.Mask).ToList();
        if (truths.Count == 0 || truths.Any(m => m is null)) return;
        var classes = Enumerable.Range(1, segmentationClasses - 1).ToList();
        result.Segmentation = ReportMetrics.Segmentation(ml.Segmentation.Evaluate(scored, classes: classes, classNames: classes.Select(c => $"label {c}").ToList()));
    }

    internal static string Summary(MethodResult result)
    {
        var parts = new List<string>();
        if (result.Classification is { } c) parts.Add($"accuracy {c.Accuracy:F3}, balanced {c.BalancedAccuracy:F3}, AUC {c.MacroRocAuc:F3}");
        if (result.Segmentation is { } s) parts.Add($"mean Dice {s.MeanDice:F3}");
        parts.Add($"{result.TrainingSeconds:F1} s");
        return string.Join("; ", parts);
    }

    /// <summary>The engine the run used (torch threads = the context's budget); the host name only when
    /// <paramref name="recordMachine"/>: reports get shared, and a host name can say whose or which hospital's machine it was.</summary>
    internal static Dictionary<string, string> Environment(ExperimentConfig config, MLContext ml, bool recordMachine)
    {
        var info = EngineInfo.Collect();
        var environment = new Dictionary<string, string>
        {
            ["library"] = info.Library, ["dotnet"] = info.DotNet, ["os"] = info.Os, ["cores"] = info.Cores.ToString(),
            ["libtorch"] = info.Libtorch, ["torch threads"] = (ml.Medical().Threads ?? System.Environment.ProcessorCount).ToString(), ["torchsharp"] = info.TorchSharp, ["onednn"] = info.OneDnn ? "on" : "off",
            ["device"] = "cpu", ["seed"] = config.Seed.ToString(),
        };
        if (recordMachine) environment["machine"] = System.Environment.MachineName;
        return environment;
    }
}
