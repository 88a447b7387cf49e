using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Trainers;
using MlNetMedical.Training;

namespace MlNetMedical;

/// <summary>
/// The framework's multiclass trainers on ML.NET's <c>ml.MulticlassClassification.Trainers</c>. Each writes <c>Score</c> (a vector of
/// class probabilities) and <c>PredictedLabel</c> (a key with the label's class names), as ML.NET's own trainers do, so
/// <c>ml.MulticlassClassification.Evaluate</c> scores them. Seed, device, progress and log come from the context
/// (<c>ml.Medical()</c>, <see cref="MLContext.GpuDeviceId"/>); <see cref="TrainingOptions"/> overrides seed and progress.
/// The internal validation split is patient-safe by default (see <see cref="TrainingOptions.GroupColumnName"/>).
/// </summary>
public static class MulticlassTrainerExtensions
{
    /// <summary>
    /// An image classifier whose encoder starts from <paramref name="pretrained"/> (a segmentation U-Net, a joint network, or an image
    /// classifier; fine-tuning, paper A's seed 000/004 transfer strategies) and trains end to end with <paramref name="network"/>'s
    /// head (e.g. <see cref="EncoderClassifierConfig.FromSegmentation"/>), frozen per <paramref name="transfer"/>.
    /// Null <paramref name="pretrained"/> trains from scratch, as <see cref="ImageCnn"/>.
    /// </summary>
    /// <param name="catalog">ML.NET's multiclass trainers catalog.</param>
    /// <param name="network">The classifier network (its encoder must match the pretrained model's).</param>
    /// <param name="pretrained">A fitted model holding a network stage whose encoder weights are copied.</param>
    /// <param name="transfer">Freezing and the encoder's learning rate (default: everything trains, encoder at 0.1×).</param>
    /// <param name="training">Loop settings (epochs, batch, validation, early stopping, seed, progress).</param>
    /// <param name="columns">Columns read: <c>Image</c> (volume) and <c>Label</c> (key) by default.</param>
    public static ImageClassificationTrainer FineTunedEncoder(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        EncoderClassifierConfig network, ITransformer? pretrained, FineTuneSettings? transfer = null, TrainingOptions? training = null, ImageColumns? columns = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(network);
        var settings = CatalogSettings.Medical(catalog);
        return new ImageClassificationTrainer(network, NetworkModel.Find(pretrained), transfer ?? new FineTuneSettings(), columns ?? new ImageColumns(),
            TrainerSettings.Options(settings, training), settings.Seed) { Compute = settings.Compute, Log = settings.WriteLog };
    }

    /// <summary>
    /// An image classifier trained from scratch (the baseline without transfer): <paramref name="network"/>, e.g.
    /// <see cref="EncoderClassifierConfig.PlainCnn"/> or <see cref="EncoderClassifierConfig.ResNet"/>.
    /// </summary>
    /// <param name="catalog">ML.NET's multiclass trainers catalog.</param>
    /// <param name="network">The classifier network.</param>
    /// <param name="training">Loop settings (epochs, batch, validation, early stopping, seed, progress).</param>
    /// <param name="columns">Columns read: <c>Image</c> (volume) and <c>Label</c> (key) by default.</param>
    public static ImageClassificationTrainer ImageCnn(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        EncoderClassifierConfig network, TrainingOptions? training = null, ImageColumns? columns = null) =>
        catalog.FineTunedEncoder(network, pretrained: null, transfer: null, training, columns);

    /// <summary>
    /// ImageNet fine-tuning (the papers' ImageNet-pretrained baseline, trained end to end): <paramref name="network"/> (default
    /// <see cref="EncoderClassifierConfig.ImageNetResNet18"/> for 2D one-channel images at 112², 2 classes replaced by the label's)
    /// starts from the ImageNet-trained ResNet18 of ML.NET's <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> package (weights and mean
    /// image from its ONNX files, see <see cref="ImageNetResNet18Weights"/>) and trains like <see cref="FineTunedEncoder"/>, frozen per
    /// <paramref name="transfer"/>. Each image goes in as <c>ml.Transforms.ImageNetPixels</c> maps it for the featuriser (min–max per
    /// image to 0..255, grey to three channels, bilinear resize; a volume's middle k slice) minus the ImageNet mean image, inside the
    /// network (<see cref="ImageNetEncoder"/>), so the fitted model saves with <c>ml.Model.SaveMedical</c> and predicts on the image column.
    /// </summary>
    /// <param name="catalog">ML.NET's multiclass trainers catalog.</param>
    /// <param name="network">A classifier whose encoder is an <see cref="ImageNetEncoderConfig"/> (its dims and channels those of the
    /// images, its <see cref="ImageNetEncoderConfig.InputSize"/> the resize target); null = <c>ImageNetResNet18(2, 1, 2)</c>.</param>
    /// <param name="transfer">Freezing and the encoder's learning rate (default: everything trains, encoder at 0.1×).</param>
    /// <param name="training">Loop settings (epochs, batch, validation, early stopping, seed, progress).</param>
    /// <param name="columns">Columns read: <c>Image</c> (volume) and <c>Label</c> (key) by default.</param>
    /// <param name="modelDirectory">The folder holding <c>ResNet18Onnx/ResNet18.onnx</c> and <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c>;
    /// null = the <c>DnnImageModels</c> folder the package copies next to the application.</param>
    public static ImageClassificationTrainer ImageNetFineTuned(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        EncoderClassifierConfig? network = null, FineTuneSettings? transfer = null, TrainingOptions? training = null, ImageColumns? columns = null,
        string? modelDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        const string stage = "MulticlassClassification.ImageNetFineTuned";
        network ??= EncoderClassifierConfig.ImageNetResNet18(2, 1, 2);
        if (network.Encoder is not ImageNetEncoderConfig)
            throw new ArgumentException($"{stage}: the network's encoder is {network.Encoder?.GetType().Name ?? "null"}; an ImageNetEncoderConfig " +
                "(EncoderClassifierConfig.ImageNetResNet18) is what ImageNet's weights load into", nameof(network));
        var directory = modelDirectory ?? ImageNetResNet18Weights.DefaultModelDirectory;
        foreach (var file in new[] { ImageNetResNet18Weights.ModelFile, ImageNetResNet18Weights.PreprocessFile })
            if (!File.Exists(Path.Combine(directory, file)))
                throw new FileNotFoundException($"{stage}: modelDirectory '{directory}' has no {file}; expected the DnnImageModels folder of the " +
                    "Microsoft.ML.DnnImageFeaturizer.ResNet18 package (copied next to the application when it references the package)", Path.Combine(directory, file));
        var settings = CatalogSettings.Medical(catalog);
        return new ImageClassificationTrainer(network, null, transfer ?? new FineTuneSettings(), columns ?? new ImageColumns(),
            TrainerSettings.Options(settings, training), settings.Seed)
        {
            Compute = settings.Compute, Log = settings.WriteLog, Name = stage,
            InitializeEncoder = classifier => ImageNetResNet18Weights.LoadInto((ImageNetEncoder)classifier.Encoder, directory),
        };
    }

    /// <summary>
    /// Joint segmentation + classification (<see cref="JointTopology.Simple"/>: one U-Net whose decoder also reads out the class;
    /// <see cref="JointTopology.YNet"/>: a classification branch off the bottleneck; paper A's seed 004). Loss = Dice + CE on rows with a
    /// mask + <paramref name="classificationWeight"/> × CE on rows with a label; a row with only one contributes only that loss.
    /// Writes <c>Score</c>, <c>PredictedLabel</c> and <c>PredictedMask</c>.
    /// </summary>
    /// <param name="catalog">ML.NET's multiclass trainers catalog.</param>
    /// <param name="topology">Simple joint network or Y-Net.</param>
    /// <param name="classificationWeight">λ, the weight of the classification loss (≥ 0).</param>
    /// <param name="pretrained">A fitted segmentation model whose U-Net supplies the starting weights and config; null = from scratch.</param>
    /// <param name="unet">The U-Net config without <paramref name="pretrained"/> (default <see cref="UNetConfig"/>).</param>
    /// <param name="transfer">Freezing and the encoder's learning rate.</param>
    /// <param name="training">Loop settings.</param>
    /// <param name="columns">Columns read: <c>Image</c>, <c>Mask</c> (null values allowed) and <c>Label</c> by default.</param>
    public static JointTrainer JointSegmentationClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        JointTopology topology = JointTopology.Simple, double classificationWeight = 1.0, ITransformer? pretrained = null, UNetConfig? unet = null,
        FineTuneSettings? transfer = null, TrainingOptions? training = null, ImageColumns? columns = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var settings = CatalogSettings.Medical(catalog);
        return new JointTrainer(topology, unet ?? new UNetConfig(), classificationWeight, NetworkModel.Find(pretrained), transfer ?? new FineTuneSettings(),
            columns ?? new ImageColumns(), TrainerSettings.Options(settings, training), settings.Seed) { Compute = settings.Compute, Log = settings.WriteLog };
    }

    /// <summary>
    /// A multilayer perceptron on a feature vector (standardised inside; ReLU; <paramref name="dropout"/> after each hidden layer),
    /// e.g. after <c>ml.Transforms.SegmentationEncoderFeatures</c>. ML.NET has none; for linear models use its
    /// <c>LbfgsMaximumEntropy</c> or <c>SdcaMaximumEntropy</c>. Default options: 100 epochs, batch 32, learning rate 1e-3, no validation split.
    /// </summary>
    /// <param name="catalog">ML.NET's multiclass trainers catalog.</param>
    /// <param name="hiddenUnits">Hidden layer widths (default one layer of 64).</param>
    /// <param name="dropout">Dropout probability after each hidden layer.</param>
    /// <param name="training">Loop settings.</param>
    /// <param name="labelColumnName">The label: a key column.</param>
    /// <param name="featureColumnName">The features: a known-size vector of Single.</param>
    public static VectorClassifierTrainer Mlp(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        int[]? hiddenUnits = null, double dropout = 0, TrainingOptions? training = null,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (hiddenUnits is not null && hiddenUnits.Any(h => h < 1))
            throw new ArgumentOutOfRangeException(nameof(hiddenUnits), $"Mlp: hidden layer widths must be ≥ 1, got [{string.Join(", ", hiddenUnits)}]");
        if (!(dropout is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Mlp: dropout must be in [0, 1)");
        var settings = CatalogSettings.Medical(catalog);
        var defaults = new TrainingOptions { Epochs = 100, BatchSize = 32, LearningRate = 1e-3, ValidationFraction = 0 };
        return new VectorClassifierTrainer("Mlp", hiddenUnits ?? [64], dropout, labelColumnName, featureColumnName,
            TrainerSettings.Options(settings, training, defaults), settings.Seed) { Compute = settings.Compute, Log = settings.WriteLog };
    }
}
