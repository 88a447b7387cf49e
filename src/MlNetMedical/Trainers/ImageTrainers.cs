using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using TorchSharp;
using static TorchSharp.torch;
using MlNetMedical.Training;
using MlNetMedical.Transforms;

namespace MlNetMedical.Trainers;

/// <summary>Column names read by image network trainers.</summary>
public sealed record ImageColumns
{
    /// <summary>Image volume column.</summary>
    public string Image { get; init; } = DefaultColumnNames.Image;
    /// <summary>Mask column (segmentation and joint trainers).</summary>
    public string Mask { get; init; } = DefaultColumnNames.Mask;
    /// <summary>Label key column (classification and joint trainers).</summary>
    public string Label { get; init; } = DefaultColumnNames.Label;
}

/// <summary>
/// Base of the image network trainers: reads the rows into memory, seeds libtorch, builds the network, runs the shared
/// <see cref="TrainingLoop"/> with the strategy's <see cref="ITrainingTask"/>, and wraps the result as an <see cref="ImageNetworkTransformer"/>.
/// </summary>
public abstract class ImageNetworkTrainer(ImageColumns columns, TrainingOptions training, int seed) : EstimatorBase<ImageNetworkTransformer>
{
    /// <summary>Columns read.</summary>
    public ImageColumns Columns { get; } = columns;

    /// <summary>Loop settings.</summary>
    public TrainingOptions Training { get; } = training;

    /// <summary>What the last <see cref="EstimatorBase{T}.Fit"/> did, per epoch.</summary>
    public TrainingHistory? LastHistory { get; private set; }

    /// <summary>Device and thread budget for training (the context's, when created through a catalog); the fitted transformer keeps it.</summary>
    public ComputeResources Compute { get; init; } = ComputeResources.Default;

    /// <summary>Where log messages go (the context's <see cref="MedicalSettings.WriteLog"/>, when created through a catalog).</summary>
    internal Action<LogKind, string, string>? Log { get; init; }

    private protected int Seed => Training.Seed ?? seed;

    private protected torch.Device TargetDevice => Compute.TorchDevice;

    private protected abstract bool ReadsMask { get; }
    private protected abstract bool ReadsLabel { get; }
    private protected abstract NetworkOutput Output { get; }

    /// <summary>Builds the network (its initial weights drawn from the run's seeded <see cref="WeightInit.Current"/>) and its training task;
    /// <paramref name="classNames"/> are the label's classes (null when the trainer reads no label).</summary>
    private protected abstract (Network, ITrainingTask) Create(IReadOnlyList<string>? classNames);

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns
    {
        get
        {
            var required = new List<ColumnRequirement> { ColumnRequirement.Volume(Columns.Image, VolumeKind.Image) };
            if (ReadsMask) required.Add(ColumnRequirement.Volume(Columns.Mask, VolumeKind.Mask));
            if (ReadsLabel) required.Add(ColumnRequirement.Key(Columns.Label));
            return required;
        }
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema)
    {
        var mask = SchemaShapes.ColumnOf(DefaultColumnNames.PredictedMask, ImageNetworkTransformer.MaskType);
        var classification = ReadsLabel ? ImageNetworkTransformer.ClassificationShapes(inputSchema.Find(Columns.Label)!.Value) : [];
        return Output == NetworkOutput.Segmentation ? [mask] : Output == NetworkOutput.Classification ? classification : [.. classification, mask];
    }

    /// <inheritdoc/>
    protected override ImageNetworkTransformer FitCore(IDataView input)
    {
        var classNames = ReadsLabel ? input.Schema[Columns.Label].ClassNames() : null;
        var group = Training.ResolveGroupColumn(input.Schema, StageName, m => Log?.Invoke(LogKind.Warning, StageName, m));
        var samples = TrainingSamples.Read(input, Columns.Image, ReadsMask ? Columns.Mask : null, ReadsLabel ? Columns.Label : null, group, StageName);
        if (ReadsLabel) samples = TrainingSamples.Trainable(samples, ReadsMask, Columns.Label, StageName, (kind, m) => Log?.Invoke(kind, StageName, m));
        var validation = Training.ValidationData is { } held
            // Rows without a label score nothing for a classifier (as ML.NET's evaluators skip missing labels); the joint trainer scores their masks.
            ? TrainingSamples.Read(held, Columns.Image, ReadsMask ? Columns.Mask : null, ReadsLabel ? Columns.Label : null, null, StageName + " (ValidationData)")
                .Where(s => ReadsMask || !ReadsLabel || s.HasLabel).ToList()
            : null;
        // An Augment stage upstream in the pipeline marks the image column; it augments these samples unless the options name their own.
        var training = Training.Augmentation is null && AugmentTransformer.Find(input.Schema, Columns.Image) is { } augment
            ? Training with { Augmentation = augment.SampleAugmenter } : Training;
        Log?.Invoke(LogKind.Info, StageName, $"training on {samples.Count} rows ({samples.Select(s => s.Group).Distinct().Count()} groups) on {Compute.Device}");
        using var threads = Compute.Enter();
        using var weights = new Generator((ulong)Seed);
        Network network;
        ITrainingTask task;
        using (WeightInit.Use(weights)) (network, task) = Create(classNames);
        try
        {
            LastHistory = new TrainingLoop(training, Seed, StageName) { Device = TargetDevice, ClassCount = classNames?.Length }.Run(task, samples, validation);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        Log?.Invoke(LogKind.Info, StageName, $"best epoch {LastHistory.BestEpoch + 1} by {LastHistory.Metric}{(LastHistory.StoppedEarly ? " (stopped early)" : "")}");
        if (Log is { } log) CheckTrained(task, LastHistory, (kind, message) => log(kind, StageName, message));
        return new ImageNetworkTransformer(network, Output, Columns.Image, classNames) { Compute = Compute };
    }

    /// <summary>Looks at the kept epoch for signs that training went wrong in a way the user should hear about.</summary>
    private protected virtual void CheckTrained(ITrainingTask task, TrainingHistory history, Action<LogKind, string> log) { }

    /// <summary>The network of a pretrained transformer as an <see cref="EncoderNetwork"/>, or an error naming what it is.</summary>
    private protected static EncoderNetwork EncoderOf(ImageNetworkTransformer pretrained, string stage) =>
        pretrained.Network as EncoderNetwork ?? throw new ArgumentException($"{stage}: the pretrained model's network ({pretrained.Network.GetType().Name}) has no encoder", nameof(pretrained));
}

/// <summary>Segmentation pretraining: a U-Net trained with Dice + cross-entropy; validation Dice picks the best epoch.</summary>
public sealed class UNetSegmentationTrainer(UNetConfig network, ImageColumns columns, TrainingOptions training, int seed)
    : ImageNetworkTrainer(columns, training, seed)
{
    /// <inheritdoc/>
    public override string StageName => "Segmentation.UNet";
    private protected override bool ReadsMask => true;
    private protected override bool ReadsLabel => false;
    private protected override NetworkOutput Output => NetworkOutput.Segmentation;

    private protected override (Network, ITrainingTask) Create(IReadOnlyList<string>? classNames)
    {
        var unet = new UNet(network);
        return (unet, new SegmentationTask(unet, TargetDevice));
    }

    /// <summary>
    /// A U-Net whose kept epoch marks no voxel of any validation row as foreground has learned to predict background only:
    /// its Dice is what an empty mask scores, and its encoder has little to transfer. Seen in the replication suite's 3D
    /// pretraining at 24³ (seeds 4 and 5: validation Dice flat at the empty mask's value from epoch 6 on).
    /// </summary>
    private protected override void CheckTrained(ITrainingTask task, TrainingHistory history, Action<LogKind, string> log)
    {
        if (task is not SegmentationTask segmentation || history.BestEpoch < 0
            || !segmentation.PredictedForeground.TryGetValue(history.BestEpoch, out var fraction) || fraction > 0) return;
        var dice = history.Epochs[history.BestEpoch].TryGetValue("dice", out var d) ? $" (validation Dice {d:F3}, what an empty mask scores)" : "";
        log(LogKind.Warning, $"at its kept epoch ({history.BestEpoch + 1}) the network predicts background on every validation voxel{dice}: " +
            "it has not learned to segment, and an encoder reused from it has little to transfer. Train longer or at a higher learning rate, " +
            "or check that the masks line up with the images.");
    }

    private sealed class SegmentationTask(UNet unet, torch.Device device) : ITrainingTask
    {
        private int epoch;

        /// <summary>Per epoch (0-based), the fraction of validation voxels predicted as a foreground class.</summary>
        public Dictionary<int, double> PredictedForeground { get; } = [];

        public nn.Module Network => unet;
        public void OnEpochStart(int epoch, int epochs) => this.epoch = epoch;
        public string DefaultMetric => "dice";
        public IReadOnlyList<NamedParameterGroup> ParameterGroups(double learningRate) => [new NamedParameterGroup("all", unet.parameters().ToArray(), null)];

        public Tensor Loss(IReadOnlyList<TrainingSample> batch, Tensor? classWeights)
        {
            using var output = unet.ForwardSegmentation(TrainingBatches.Images(batch, device));
            return SegmentationLoss(output.Logits, TrainingBatches.Masks(batch, device));
        }

        public IReadOnlyDictionary<string, double> Evaluate(IReadOnlyList<TrainingSample> samples) => SegmentationMetricsOf(unet, samples, device, x =>
        {
            using var output = unet.ForwardSegmentation(x);
            return output.Logits.clone();
        }, fraction => PredictedForeground[epoch] = fraction);
    }

    /// <summary>Dice + cross-entropy (or BCE-free Dice with one sigmoid channel).</summary>
    internal static Tensor SegmentationLoss(Tensor logits, Tensor masks) => logits.shape[1] == 1
        ? SegmentationLosses.Dice(logits, masks.unsqueeze(1).to(ScalarType.Float32), DiceActivation.Sigmoid)
        : SegmentationLosses.DiceCrossEntropy(logits, masks);

    internal static IReadOnlyDictionary<string, double> SegmentationMetricsOf(ISegmentationNetwork network, IReadOnlyList<TrainingSample> samples, torch.Device device,
        Func<Tensor, Tensor> forward, Action<double>? predictedForeground = null)
    {
        var logits = TrainingBatches.MapBatches(samples, 8, forward, device);
        var (dice, foreground) = TaskMetrics.ForegroundDice(logits, samples.Select(s => s.Mask!).ToList(), network.SegmentationClasses);
        predictedForeground?.Invoke(foreground);
        double loss = 0;
        for (var start = 0; start < samples.Count; start += 8)
        {
            using var scope = torch.NewDisposeScope();
            var batch = samples.Skip(start).Take(8).ToList();
            loss += SegmentationLoss(forward(TrainingBatches.Images(batch, device)), TrainingBatches.Masks(batch, device)).ToDouble() * batch.Count;
        }
        return new Dictionary<string, double>
        {
            ["loss"] = loss / samples.Count,
            ["dice"] = dice,
        };
    }
}

/// <summary>
/// Image classification trained end to end: an <see cref="EncoderClassifierConfig"/> network whose encoder comes from a pretrained
/// model (a segmentation U-Net, a natural-image classifier: <c>FineTunedEncoder</c>) or from scratch (<c>ImageCnn</c>), with freeze
/// modes and per-group learning rates.
/// </summary>
public sealed class ImageClassificationTrainer(EncoderClassifierConfig network, ImageNetworkTransformer? pretrainedEncoder, FineTuneSettings transfer,
    ImageColumns columns, TrainingOptions training, int seed) : ImageNetworkTrainer(columns, training, seed)
{
    /// <inheritdoc/>
    public override string StageName => Name ?? (pretrainedEncoder is null ? "MulticlassClassification.ImageCnn" : "MulticlassClassification.FineTunedEncoder");
    private protected override bool ReadsMask => false;
    private protected override bool ReadsLabel => true;
    private protected override NetworkOutput Output => NetworkOutput.Classification;

    /// <summary>The stage name when another catalog method created the trainer (e.g. <c>ImageNetFineTuned</c>).</summary>
    internal string? Name { get; init; }

    /// <summary>Loads the starting encoder weights from elsewhere than a pretrained model (ImageNet's, from ONNX files); runs after
    /// the network is built, only without a pretrained model.</summary>
    internal Action<EncoderClassifier>? InitializeEncoder { get; init; }

    private protected override (Network, ITrainingTask) Create(IReadOnlyList<string>? classNames)
    {
        var classifier = new EncoderClassifier(network with { Head = network.Head with { NumClasses = classNames!.Count } });
        try
        {
            if (pretrainedEncoder is not null) classifier.LoadEncoder(EncoderOf(pretrainedEncoder, StageName).state_dict(), strict: true);
            else InitializeEncoder?.Invoke(classifier);
        }
        catch
        {
            classifier.Dispose();
            throw;
        }
        return (classifier, new ClassificationTask(classifier, transfer, TargetDevice));
    }

    private sealed class ClassificationTask(EncoderClassifier classifier, FineTuneSettings transfer, torch.Device device) : ITrainingTask
    {
        public nn.Module Network => classifier;
        public string DefaultMetric => "accuracy";
        public IReadOnlyList<NamedParameterGroup> ParameterGroups(double learningRate) => transfer.Groups(classifier, learningRate);
        public void OnEpochStart(int epoch, int epochs) => transfer.Apply(classifier, epoch);

        public Tensor Loss(IReadOnlyList<TrainingSample> batch, Tensor? classWeights) =>
            nn.functional.cross_entropy(classifier.Classify(TrainingBatches.Images(batch, device)), TrainingBatches.Labels(batch, device), classWeights);

        public IReadOnlyDictionary<string, double> Evaluate(IReadOnlyList<TrainingSample> samples) =>
            ClassificationMetricsOf(TrainingBatches.MapBatches(samples, 8, classifier.Classify, device), samples);
    }

    internal static Dictionary<string, double> ClassificationMetricsOf(IReadOnlyList<float[]> logits, IReadOnlyList<TrainingSample> samples)
    {
        var labels = samples.Select(s => s.Label).ToList();
        return new() { ["loss"] = TaskMetrics.CrossEntropy(logits, labels), ["accuracy"] = TaskMetrics.Accuracy(logits, labels) };
    }
}

/// <summary>Joint network topology.</summary>
public enum JointTopology
{
    /// <summary>One U-Net whose decoder gives the mask and a per-pixel lesion-type map read out into the class (<see cref="SimpleJointNet"/>).</summary>
    Simple,
    /// <summary>Y-Net: a classification branch off the encoder bottleneck.</summary>
    YNet,
}

/// <summary>
/// Joint segmentation + classification: loss = segmentation Dice+CE (rows with a mask) + λ · cross-entropy (rows with a label);
/// a row with only one of them contributes only that loss. Optionally starts from a pretrained U-Net (all matching weights),
/// with the same freeze modes as fine-tuning.
/// </summary>
public sealed class JointTrainer(JointTopology topology, UNetConfig unet, double classificationWeight, ImageNetworkTransformer? pretrainedUNet,
    FineTuneSettings transfer, ImageColumns columns, TrainingOptions training, int seed) : ImageNetworkTrainer(columns, training, seed)
{
    /// <inheritdoc/>
    public override string StageName => $"MulticlassClassification.JointSegmentationClassifier({topology})";
    private protected override bool ReadsMask => true;
    private protected override bool ReadsLabel => true;
    private protected override NetworkOutput Output => NetworkOutput.Joint;

    private protected override (Network, ITrainingTask) Create(IReadOnlyList<string>? classNames)
    {
        if (!(classificationWeight >= 0)) throw new ArgumentOutOfRangeException(nameof(classificationWeight), classificationWeight, $"{StageName}: λ must be ≥ 0");
        var config = pretrainedUNet?.Network.Config as UNetConfig ?? unet;
        UNetBase network = topology == JointTopology.YNet
            ? new YNet(new YNetConfig { UNet = config, NumClasses = classNames!.Count })
            : new SimpleJointNet(new SimpleJointConfig { UNet = config, NumClasses = classNames!.Count });
        if (pretrainedUNet is not null)
        {
            var result = network.LoadStateDict(EncoderOf(pretrainedUNet, StageName).state_dict(), strict: false);
            if (result.Loaded.Count == 0) throw new ArgumentException($"{StageName}: no weight of the pretrained model fits the joint network", nameof(pretrainedUNet));
        }
        return (network, new JointTask(network, (IJointNetwork)network, classificationWeight, transfer, TargetDevice));
    }

    private sealed class JointTask(UNetBase network, IJointNetwork joint, double lambda, FineTuneSettings transfer, torch.Device device) : ITrainingTask
    {
        public nn.Module Network => network;
        public string DefaultMetric => "accuracy";
        public IReadOnlyList<NamedParameterGroup> ParameterGroups(double learningRate) => transfer.Groups(network, learningRate);
        public void OnEpochStart(int epoch, int epochs) => transfer.Apply(network, epoch);

        public Tensor Loss(IReadOnlyList<TrainingSample> batch, Tensor? classWeights)
        {
            using var output = joint.ForwardJoint(TrainingBatches.Images(batch, device));
            Tensor? loss = null;
            if (TrainingBatches.RowsWhere(batch, s => s.HasMask, device) is { } masked)
                loss = UNetSegmentationTrainer.SegmentationLoss(output.SegmentationLogits.index_select(0, masked),
                    TrainingBatches.Masks(batch.Where(s => s.HasMask).ToList(), device));
            if (TrainingBatches.RowsWhere(batch, s => s.HasLabel, device) is { } labelled)
            {
                var ce = nn.functional.cross_entropy(output.ClassLogits.index_select(0, labelled), TrainingBatches.Labels(batch.Where(s => s.HasLabel).ToList(), device), classWeights) * lambda;
                loss = loss is null ? ce : loss + ce;
            }
            return loss ?? throw new InvalidOperationException("a training batch has neither masks nor labels");
        }

        public IReadOnlyDictionary<string, double> Evaluate(IReadOnlyList<TrainingSample> samples)
        {
            var labelled = samples.Where(s => s.HasLabel).ToList();
            var masked = samples.Where(s => s.HasMask).ToList();
            var metrics = labelled.Count > 0
                ? ImageClassificationTrainer.ClassificationMetricsOf(TrainingBatches.MapBatches(labelled, 8, joint.Classify, device), labelled)
                : new Dictionary<string, double> { ["loss"] = 0 };
            if (masked.Count > 0)
            {
                var seg = UNetSegmentationTrainer.SegmentationMetricsOf(joint, masked, device, x =>
                {
                    using var o = joint.ForwardSegmentation(x);
                    return o.Logits.clone();
                });
                metrics["dice"] = seg["dice"];
                metrics["loss"] += seg["loss"];
            }
            return metrics;
        }
    }
}
