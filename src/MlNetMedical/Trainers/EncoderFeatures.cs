using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Trainers;

/// <summary>
/// The frozen encoder of a trained network as a feature extractor (paper A's core idea): global pooling of the chosen encoder
/// levels, concatenated into a <c>Features</c> vector. Fitting copies the encoder's weights; nothing trains. The output is
/// deterministic (eval mode, no-grad) and any vector classifier can consume it.
/// </summary>
public sealed class EncoderFeaturesEstimator(ImageNetworkTransformer source, int[] levels, PoolingKind pooling, string imageColumnName,
    string outputColumnName) : EstimatorBase<ImageNetworkTransformer>
{
    /// <inheritdoc/>
    public override string StageName => "Transforms.SegmentationEncoderFeatures";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Volume(imageColumnName, VolumeKind.Image)];

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) =>
        // SchemaShape keeps no vector size: any known size gives the "known-size vector" kind ML.NET's trainers ask for.
        [SchemaShapes.ColumnOf(outputColumnName, new VectorDataViewType(NumberDataViewType.Single, 1))];

    /// <summary>Device and thread budget of the feature transformer (the context's, when created through a catalog).</summary>
    public ComputeResources Compute { get; init; } = ComputeResources.Default;

    /// <summary>Rows run through the encoder together (see <see cref="ImageNetworkTransformer.InferenceBatchSize"/>; default 1).</summary>
    public int InferenceBatchSize
    {
        get => _inferenceBatchSize;
        set => _inferenceBatchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(InferenceBatchSize), value, "the inference batch size must be at least 1");
    }

    private int _inferenceBatchSize = 1;

    /// <inheritdoc/>
    protected override ImageNetworkTransformer FitCore(IDataView input)
    {
        var transformer = Create(source, levels, pooling, imageColumnName, outputColumnName);
        transformer.Compute = Compute;
        transformer.InferenceBatchSize = InferenceBatchSize;
        return transformer;
    }

    /// <summary>Builds the feature transformer directly (no data needed).</summary>
    public static ImageNetworkTransformer Create(ImageNetworkTransformer source, int[] levels, PoolingKind pooling, string imageColumnName, string outputColumnName)
    {
        ArgumentNullException.ThrowIfNull(source);
        var encoderNetwork = source.Network as EncoderNetwork
            ?? throw new ArgumentException($"EncoderFeatures: the source model's network ({source.Network.GetType().Name}) has no encoder", nameof(source));
        var encoderConfig = source.Network.Config switch
        {
            UNetConfig u => (EncoderConfig)u.Encoder,
            EncoderClassifierConfig c => c.Encoder,
            YNetConfig y => y.UNet.Encoder,
            SimpleJointConfig s => s.UNet.Encoder,
            var other => throw new ArgumentException($"EncoderFeatures: cannot take the encoder of a {other.GetType().Name}", nameof(source)),
        };
        var config = new EncoderClassifierConfig { Encoder = encoderConfig, Head = new ClassificationHeadConfig { NumClasses = 1, Levels = levels, Pooling = pooling } };
        config.Validate();
        var extractor = new EncoderClassifier(config);
        extractor.LoadEncoder(encoderNetwork.state_dict(), strict: true);
        extractor.Freeze("");
        return new ImageNetworkTransformer(extractor, NetworkOutput.Features, imageColumnName, null, outputColumnName);
    }
}
