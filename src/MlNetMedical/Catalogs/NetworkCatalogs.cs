using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Prediction;
using MlNetMedical.Trainers;
using MlNetMedical.Training;

namespace MlNetMedical.Catalogs;

public sealed partial class DataOperationsCatalog
{
    /// <summary>
    /// A lazy view over a CSV manifest (columns id, image, mask, label, group, split; see the imaging layer's <c>CsvManifest</c>):
    /// <c>Id</c>, <c>Image</c>, <c>Mask</c>, <c>Label</c> (key named by the sorted class labels), <c>GroupId</c>, <c>Split</c>.
    /// Volumes are read when rows are read, with <paramref name="preprocessing"/> applied and cached under <paramref name="cacheFolder"/> when given;
    /// a cursor reading volumes loads up to <paramref name="prefetch"/> rows ahead on background tasks, in row order (0 = off).
    /// </summary>
    public IDataView LoadFromManifest(string path, TransformChain? preprocessing = null, string? cacheFolder = null, int prefetch = DatasetDataView.DefaultPrefetch) =>
        new DatasetDataView(CsvManifest.Read(path), preprocessing, cacheFolder, $"manifest '{path}'", prefetch);

    /// <summary>A lazy view over a Medical Segmentation Decathlon folder (dataset.json; same columns, cache and prefetch as <see cref="LoadFromManifest"/>).</summary>
    public IDataView LoadFromDecathlon(string folder, TransformChain? preprocessing = null, string? cacheFolder = null, int prefetch = DatasetDataView.DefaultPrefetch) =>
        new DatasetDataView(Layouts.Decathlon(folder), preprocessing, cacheFolder, $"Decathlon folder '{folder}'", prefetch);
}

public sealed partial class SegmentationCatalog
{
    private SegmentationTrainers? _trainers;

    /// <summary>Segmentation trainers.</summary>
    public SegmentationTrainers Trainers => _trainers ??= new SegmentationTrainers(Context);
}

/// <summary>Segmentation trainers.</summary>
public sealed class SegmentationTrainers : CatalogBase
{
    internal SegmentationTrainers(MedicalContext context) : base(context) { }

    /// <summary>Segmentation pretraining: a U-Net (Dice + CE) with validation Dice, early stopping and the best epoch restored.</summary>
    public UNetSegmentationTrainer UNet(UNetConfig? network = null, TrainingOptions? training = null, ImageColumns? columns = null) =>
        new(network ?? new UNetConfig(), columns ?? new ImageColumns(), training ?? new TrainingOptions(), Context.Seed) { Compute = Context.Compute };
}

public sealed partial class ClassificationTrainers
{
    /// <summary>Multinomial logistic (softmax) regression on a feature vector, L2-regularised, full-batch Adam by default.</summary>
    public VectorClassifierTrainer SoftmaxRegression(double l2 = 1e-3, TrainingOptions? training = null,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features) =>
        new("SoftmaxRegression", [], 0, labelColumnName, featureColumnName,
            (training ?? new TrainingOptions { Epochs = 200, BatchSize = 0, LearningRate = 0.05, ValidationFraction = 0 }) with { WeightDecay = l2 }, Context.Seed)
        { Compute = Context.Compute };

    /// <summary>A multilayer perceptron on a feature vector.</summary>
    public VectorClassifierTrainer Mlp(int[]? hiddenUnits = null, double dropout = 0, TrainingOptions? training = null,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features) =>
        new("Mlp", hiddenUnits ?? [64], dropout, labelColumnName, featureColumnName,
            training ?? new TrainingOptions { Epochs = 100, BatchSize = 32, LearningRate = 1e-3, ValidationFraction = 0 }, Context.Seed)
        { Compute = Context.Compute };

    /// <summary>
    /// An image classifier trained end to end (fine-tuning): <paramref name="network"/> (e.g. <see cref="EncoderClassifierConfig.FromSegmentation"/>,
    /// <see cref="EncoderClassifierConfig.PlainCnn"/>, <see cref="EncoderClassifierConfig.ResNet"/>) with its encoder loaded from
    /// <paramref name="pretrained"/> (a segmentation model or a natural-image classifier; null = from scratch) and frozen per <paramref name="transfer"/>.
    /// </summary>
    public ImageClassificationTrainer ImageClassifier(EncoderClassifierConfig network, ITransformer? pretrained = null, FineTuneSettings? transfer = null,
        TrainingOptions? training = null, ImageColumns? columns = null) =>
        new(network, NetworkModel.Find(pretrained), transfer ?? new FineTuneSettings(), columns ?? new ImageColumns(), training ?? new TrainingOptions(), Context.Seed)
        { Compute = Context.Compute };
}

public sealed partial class MultiTaskCatalog
{
    private MultiTaskTrainers? _trainers;

    /// <summary>Joint segmentation + classification trainers.</summary>
    public MultiTaskTrainers Trainers => _trainers ??= new MultiTaskTrainers(Context);
}

/// <summary>Joint segmentation + classification trainers.</summary>
public sealed class MultiTaskTrainers : CatalogBase
{
    internal MultiTaskTrainers(MedicalContext context) : base(context) { }

    /// <summary>
    /// Joint training (<see cref="JointTopology.Simple"/> or <see cref="JointTopology.YNet"/>): loss = Dice+CE + λ·CE; rows with only a
    /// mask or only a label contribute only their loss. <paramref name="pretrained"/> (a segmentation U-Net model) supplies the
    /// starting weights and the U-Net config; <paramref name="unet"/> is used without one.
    /// </summary>
    public JointTrainer Joint(JointTopology topology = JointTopology.Simple, double classificationWeight = 1.0, ITransformer? pretrained = null,
        UNetConfig? unet = null, FineTuneSettings? transfer = null, TrainingOptions? training = null, ImageColumns? columns = null) =>
        new(topology, unet ?? new UNetConfig(), classificationWeight, NetworkModel.Find(pretrained), transfer ?? new FineTuneSettings(),
            columns ?? new ImageColumns(), training ?? new TrainingOptions(), Context.Seed) { Compute = Context.Compute };
}

public sealed partial class TransformsCatalog
{
    /// <summary>
    /// The frozen encoder of a trained model (a segmentation U-Net, a joint network or an image classifier) as a feature extractor:
    /// global <paramref name="pooling"/> of encoder <paramref name="levels"/> (negative = from the deepest; default the deepest)
    /// concatenated into <paramref name="outputColumnName"/>.
    /// </summary>
    public EncoderFeaturesEstimator SegmentationEncoderFeatures(ITransformer model, int[]? levels = null, PoolingKind pooling = PoolingKind.Average,
        string outputColumnName = DefaultColumnNames.Features, string imageColumnName = DefaultColumnNames.Image) =>
        new(NetworkModel.Find(model) ?? throw new ArgumentException("SegmentationEncoderFeatures: the model has no network stage", nameof(model)),
            levels ?? [-1], pooling, imageColumnName, outputColumnName) { Compute = Context.Compute };
}

public sealed partial class ModelOperationsCatalog
{
    /// <summary>A prediction engine for single rows (not thread-safe; see <see cref="CreatePredictionEnginePool{TSrc, TDst}"/>).</summary>
    public PredictionEngine<TSrc, TDst> CreatePredictionEngine<TSrc, TDst>(ITransformer model) where TSrc : class where TDst : class, new() => new(model);

    /// <summary>A thread-safe pool of prediction engines.</summary>
    public PredictionEnginePool<TSrc, TDst> CreatePredictionEnginePool<TSrc, TDst>(ITransformer model, int maxEngines = 0) where TSrc : class where TDst : class, new() =>
        new(model, maxEngines);
}
