using MlNetMedical.Transforms;

namespace MlNetMedical.Catalogs;

/// <summary>Data transforms (ML.NET's <c>TransformsCatalog</c>). Image preprocessing and encoder-feature transforms arrive with the imaging layer and the engine.</summary>
public sealed partial class TransformsCatalog : CatalogBase
{
    internal TransformsCatalog(MedicalContext context) : base(context) => Conversion = new ConversionTransforms(context);

    /// <summary>Type conversions.</summary>
    public ConversionTransforms Conversion { get; }

    /// <summary>Joins float scalars and known-length float vectors into one vector column, in order.</summary>
    public ColumnConcatenatingTransformer Concatenate(string outputColumnName, params string[] inputColumnNames) =>
        new(outputColumnName, inputColumnNames);

    /// <summary>
    /// Random augmentation (flips, 90° turns, affine, elastic, gamma, noise, blur, bias field, intensity; the imaging layer's
    /// <see cref="MlNetMedical.Imaging.Augmentation.Augmenter"/>) applied to training samples by the image network trainer that
    /// follows in the pipeline. It is the identity when the fitted model transforms data, so evaluation and prediction are
    /// unaffected; it is saved in the model zip. Same effect as setting <see cref="MlNetMedical.Training.TrainingOptions.Augmentation"/>
    /// to <see cref="Augmentations.From"/>.
    /// </summary>
    public AugmentEstimator Augment(MlNetMedical.Imaging.Augmentation.AugmentationConfig config, string imageColumnName = MlNetMedical.Data.DefaultColumnNames.Image, int? seed = null) =>
        new(config ?? throw new ArgumentNullException(nameof(config)), imageColumnName, seed ?? Context.Seed);
}

/// <summary>Type conversions (ML.NET's <c>Transforms.Conversion</c>).</summary>
public sealed class ConversionTransforms : CatalogBase
{
    internal ConversionTransforms(MedicalContext context) : base(context) { }

    /// <summary>Maps a text column to a key column (e.g. string labels to a <c>Label</c> key with class names).</summary>
    public ValueToKeyMappingEstimator MapValueToKey(string outputColumnName, string? inputColumnName = null, KeyOrdinality keyOrdinality = KeyOrdinality.ByOccurrence) =>
        new(outputColumnName, inputColumnName ?? outputColumnName, keyOrdinality);
}
