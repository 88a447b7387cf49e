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
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) => [];

    /// <inheritdoc/>
    protected override AugmentTransformer FitCore(IDataView input) => new(config, imageColumnName, seed);
}

/// <summary>
/// Random augmentation as a pipeline stage, applied at training time only: the image network trainer that follows it in a
/// pipeline augments its training samples (image and mask) every epoch, unless its <see cref="TrainingOptions.Augmentation"/> is
/// set explicitly. <see cref="Transform"/> is the identity, so evaluation and prediction see the data unchanged. Saved as its config.
/// </summary>
public sealed class AugmentTransformer : ITransformer
{
    internal const string RegisteredName = "Augment";

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
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ColumnRequirement.Volume(ImageColumnName, VolumeKind.Image).Check(SchemaShape.Create(inputSchema), "Transforms.Augment");
        return inputSchema;
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        return new AugmentingDataView(input, this);
    }

    /// <summary>The augmentation stage upstream of <paramref name="data"/> (through row-mapping stages and subsets), or null.</summary>
    internal static AugmentTransformer? Find(IDataView data)
    {
        for (var view = data; view is not null; view = (view as IDerivedDataView)?.Source)
            if (view is AugmentingDataView a) return a.Stage;
        return null;
    }

    /// <inheritdoc/>
    public void Save(ArchiveSaveContext context) => context.WriteConfig(new SavedConfig(Config, ImageColumnName, Seed));

    internal static AugmentTransformer Load(ArchiveLoadContext context)
    {
        var c = context.ReadConfig<SavedConfig>();
        return new AugmentTransformer(c.Config ?? throw new InvalidDataException($"{context.Where}: the augmentation config is missing"), c.ImageColumnName, c.Seed);
    }

    private sealed record SavedConfig(AugmentationConfig Config, string ImageColumnName, int Seed);

    /// <summary>The input, unchanged, marked as coming through the augmentation stage.</summary>
    private sealed class AugmentingDataView(IDataView source, AugmentTransformer stage) : IDerivedDataView
    {
        public AugmentTransformer Stage => stage;
        public IDataView Source => source;
        public DataViewSchema Schema => source.Schema;
        public long? GetRowCount() => source.GetRowCount();
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) => source.GetRowCursor(columnsNeeded);
    }
}
