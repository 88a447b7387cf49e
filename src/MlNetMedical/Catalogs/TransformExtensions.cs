using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Augmentation;
using MlNetMedical.Models;
using MlNetMedical.Trainers;
using MlNetMedical.Transforms;

namespace MlNetMedical;

/// <summary>The framework's network transforms on ML.NET's <c>ml.Transforms</c>.</summary>
public static class TransformExtensions
{
    /// <summary>
    /// The frozen encoder of a trained model (a segmentation U-Net, a joint network or an image classifier) as a feature extractor
    /// (paper A's seed 000): global <paramref name="pooling"/> of encoder <paramref name="levels"/> (negative = from the deepest;
    /// default the deepest), concatenated into <paramref name="outputColumnName"/>, a known-size vector of Single that ML.NET's
    /// normalizers and trainers consume. Nothing trains; the output is deterministic.
    /// </summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="model">A fitted model holding a network stage (the last one is used).</param>
    /// <param name="levels">Encoder levels pooled.</param>
    /// <param name="pooling">Average or max pooling.</param>
    /// <param name="outputColumnName">The features column written.</param>
    /// <param name="imageColumnName">The image volume column read.</param>
    public static EncoderFeaturesEstimator SegmentationEncoderFeatures(this TransformsCatalog catalog, ITransformer model, int[]? levels = null,
        PoolingKind pooling = PoolingKind.Average, string outputColumnName = DefaultColumnNames.Features, string imageColumnName = DefaultColumnNames.Image)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        var settings = CatalogSettings.Medical(catalog);
        return new EncoderFeaturesEstimator(
            NetworkModel.Find(model) ?? throw new ArgumentException("SegmentationEncoderFeatures: the model has no network stage", nameof(model)),
            levels ?? [-1], pooling, imageColumnName, outputColumnName) { Compute = settings.Compute };
    }

    /// <summary>
    /// Random augmentation (flips, 90° turns, affine, elastic, gamma, noise, blur, bias field, intensity; the imaging layer's
    /// <see cref="Augmenter"/>) applied to the training samples of the image network trainer that follows in the pipeline. The rows
    /// pass through unchanged, so evaluation and prediction are unaffected; it is saved with the model. Same effect as setting
    /// <see cref="MlNetMedical.Training.TrainingOptions.Augmentation"/> to <see cref="Augmentations.From"/>.
    /// </summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="config">What is drawn and how often.</param>
    /// <param name="imageColumnName">The image volume column (the trainer's image column).</param>
    /// <param name="seed">Seed of the draws; default the context's (<c>ml.Medical().Seed</c>).</param>
    public static AugmentEstimator Augment(this TransformsCatalog catalog, AugmentationConfig config, string imageColumnName = DefaultColumnNames.Image, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(config);
        return new AugmentEstimator(config, imageColumnName, seed ?? CatalogSettings.Medical(catalog).Seed);
    }
}
