using System.Text.Json;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Augmentation;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using MlNetMedical.Models;
using TorchSharp;
using static TorchSharp.torch;
using MlNetMedical.Training;

namespace MlNetMedical.Transforms;

/// <summary>The imaging layer's <see cref="Augmenter"/> as the training loop's per-sample hook: the one piece of code behind both
/// <see cref="TrainingOptions.Augmentation"/> and the <see cref="AugmentTransformer"/> pipeline stage.</summary>
public static class Augmentations
{
    /// <summary>
    /// A <see cref="SampleAugmenter"/> that applies <paramref name="config"/> to a sample's image and (nearest-neighbour) mask.
    /// Its draws come from the loop's seeded <see cref="Random"/>, so the same seed gives the same augmented epochs.
    /// </summary>
    public static SampleAugmenter From(AugmentationConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        var augmenter = new Augmenter(config, seed);
        return (sample, random) =>
        {
            if (sample.Shape.Length is < 3 or > 4)
                throw new InvalidOperationException($"augmentation needs a 2D or 3D image (channels, [D,] H, W); the sample has shape [{string.Join(", ", sample.Shape)}]");
            var draw = random.Next(); // one per sample, in the loop's order
            using var scope = torch.NewDisposeScope();
            var image = torch.tensor(sample.Image, [1, .. sample.Shape]);
            var mask = sample.Mask is null ? null : torch.tensor(sample.Mask, [1, 1, .. sample.Shape[1..]]);
            var result = augmenter.Apply(image, mask, ["sample"], draw);
            return sample with
            {
                Image = result.Images.ToHostArray<float>(),
                Mask = result.Labels is null ? null : result.Labels.to(ScalarType.Int64).ToHostArray<long>(),
            };
        };
    }
}

/// <summary>Fits an <see cref="AugmentTransformer"/> (nothing is learned).</summary>
public sealed class AugmentEstimator(AugmentationConfig config, string imageColumnName, int seed) : EstimatorBase<AugmentTransformer>
{
    /// <inheritdoc/>
    public override string StageName => "Transforms.Augment";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Volume(imageColumnName, VolumeKind.Image)];

    /// <inheritdoc/>
    // The image column comes out with the same type; its added annotation is nothing a later estimator's schema check reads.
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) => [];

    /// <inheritdoc/>
    protected override AugmentTransformer FitCore(IDataView input) => new(config, imageColumnName, seed);
}

/// <summary>
/// Random augmentation as a pipeline stage, applied at training time only: it marks the image column (an annotation, which ML.NET's
/// transforms pass on), and the image network trainer that follows in the pipeline augments its training samples (image and mask)
/// every epoch, unless its <see cref="TrainingOptions.Augmentation"/> is set explicitly. The values pass through unchanged, so
/// evaluation and prediction see the data as it is. Saved as its config.
/// </summary>
public sealed class AugmentTransformer : RowMappingTransformer
{
    internal const string RegisteredName = "Augment";

    /// <summary>The annotation on the image column that carries the augmentation (JSON of the config and seed).</summary>
    public const string AnnotationKind = "MlNetMedical.Augmentation";

    internal AugmentTransformer(AugmentationConfig config, string imageColumnName, int seed)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        ImageColumnName = imageColumnName;
        Seed = seed;
    }

    /// <summary>What is drawn and how often.</summary>
    public AugmentationConfig Config { get; }

    /// <summary>The image column the stage applies to.</summary>
    public string ImageColumnName { get; }

    /// <summary>Seed of the augmentation draws (mixed with the training loop's per-epoch stream).</summary>
    public int Seed { get; }

    /// <summary>The training loop hook this stage stands for.</summary>
    public SampleAugmenter SampleAugmenter => Augmentations.From(Config, Seed);

    /// <inheritdoc/>
    public override string StageName => "Transforms.Augment";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Volume(ImageColumnName, VolumeKind.Image)];

    /// <inheritdoc/>
    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        var image = inputSchema[ImageColumnName];
        var annotations = new DataViewSchema.Annotations.Builder();
        annotations.Add(image.Annotations, name => name != AnnotationKind);
        annotations.AddPrimitiveValue(AnnotationKind, TextDataViewType.Instance,
            JsonSerializer.Serialize(new SavedConfig(Config, ImageColumnName, Seed), Json).AsMemory());
        return [new(ImageColumnName, image.Type, annotations.ToAnnotations())];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataViewRow input, object?[] outputs) => outputs[0] = input.GetRawGetter(input.Schema[ImageColumnName])();

    /// <summary>The augmentation an <see cref="AugmentTransformer"/> upstream recorded on <paramref name="imageColumnName"/>, or null.</summary>
    internal static AugmentTransformer? Find(DataViewSchema schema, string imageColumnName)
    {
        if (schema.GetColumnOrNull(imageColumnName) is not { } column) return null;
        if (column.Annotations.Schema.GetColumnOrNull(AnnotationKind) is not { Type: TextDataViewType }) return null;
        ReadOnlyMemory<char> json = default;
        column.Annotations.GetValue(AnnotationKind, ref json);
        try
        {
            var c = JsonSerializer.Deserialize<SavedConfig>(json.Span, Json) ?? throw new JsonException("null");
            return new AugmentTransformer(c.Config ?? throw new JsonException("the config is missing"), c.ImageColumnName, c.Seed);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"column '{imageColumnName}': annotation '{AnnotationKind}' is not a valid augmentation: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public override void SaveToArchive(ArchiveSaveContext context) => context.WriteConfig(new SavedConfig(Config, ImageColumnName, Seed));

    internal static AugmentTransformer Load(ArchiveLoadContext context)
    {
        var c = context.ReadConfig<SavedConfig>();
        return new AugmentTransformer(c.Config ?? throw new InvalidDataException($"{context.Where}: the augmentation config is missing"), c.ImageColumnName, c.Seed);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record SavedConfig(AugmentationConfig Config, string ImageColumnName, int Seed);
}
