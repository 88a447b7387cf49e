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
}

/// <summary>Type conversions (ML.NET's <c>Transforms.Conversion</c>).</summary>
public sealed class ConversionTransforms : CatalogBase
{
    internal ConversionTransforms(MedicalContext context) : base(context) { }

    /// <summary>Maps a text column to a key column (e.g. string labels to a <c>Label</c> key with class names).</summary>
    public ValueToKeyMappingEstimator MapValueToKey(string outputColumnName, string? inputColumnName = null, KeyOrdinality keyOrdinality = KeyOrdinality.ByOccurrence) =>
        new(outputColumnName, inputColumnName ?? outputColumnName, keyOrdinality);
}
