using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Data;

/// <summary>
/// The preprocessing chain carried as an annotation on an image column: a text annotation of kind <see cref="Kind"/> that holds
/// the imaging layer's <see cref="TransformChain"/> in its JSON form. Loaders (<c>ml.Data.LoadFromManifest</c>,
/// <c>ml.Transforms.LoadMedicalImages</c>) write it; trainers and model saving read it, so prediction applies the training
/// preprocessing. ML.NET passes column annotations through its transforms unchanged.
/// </summary>
public static class PreprocessingAnnotation
{
    /// <summary>The annotation kind.</summary>
    public const string Kind = "MlNetMedical.Preprocessing";

    /// <summary>Annotations holding <paramref name="chain"/> (none when it is null).</summary>
    public static DataViewSchema.Annotations Create(TransformChain? chain)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        if (chain is not null) builder.AddPrimitiveValue(Kind, TextDataViewType.Instance, chain.ToJson().AsMemory());
        return builder.ToAnnotations();
    }

    /// <summary>
    /// The chain recorded on column <paramref name="imageColumnName"/> of <paramref name="schema"/>, or null when the column
    /// or the annotation is absent. Throws <see cref="InvalidDataException"/> when the annotation is not text or not a valid chain.
    /// </summary>
    public static TransformChain? Read(DataViewSchema schema, string imageColumnName = DefaultColumnNames.Image)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(imageColumnName);
        if (schema.GetColumnOrNull(imageColumnName) is not { } column) return null;
        if (column.Annotations.Schema.GetColumnOrNull(Kind) is not { } annotation) return null;
        if (annotation.Type is not TextDataViewType)
            throw new InvalidDataException($"column '{imageColumnName}': annotation '{Kind}' is {annotation.Type}, expected Text (the preprocessing chain's JSON)");
        ReadOnlyMemory<char> json = default;
        column.Annotations.GetValue(Kind, ref json);
        try
        {
            return TransformChain.FromJson(json.ToString());
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"column '{imageColumnName}': annotation '{Kind}' is not a valid preprocessing chain: {e.Message}", e);
        }
    }
}
