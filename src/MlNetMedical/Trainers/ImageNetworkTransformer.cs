using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using TorchSharp;
using static TorchSharp.torch;
using MlNetMedical.Training;

namespace MlNetMedical.Trainers;

/// <summary>What an <see cref="ImageNetworkTransformer"/> writes.</summary>
public enum NetworkOutput
{
    /// <summary><c>Score</c> (class probabilities) and <c>PredictedLabel</c>.</summary>
    Classification,
    /// <summary><c>PredictedMask</c> (arg-max label map).</summary>
    Segmentation,
    /// <summary>Both.</summary>
    Joint,
    /// <summary><c>Features</c>: pooled encoder levels (the network is an <see cref="EncoderClassifier"/> whose head is not used).</summary>
    Features,
}

/// <summary>
/// A trained network applied to an image column, <see cref="InferenceBatchSize"/> rows at a time (default 1), in eval mode under no-grad and
/// a dispose scope, on <see cref="Compute"/>'s device and thread budget (deterministic; safe to call from several threads, calls
/// are serialised). Saved as its network config (JSON) plus
/// safetensors weights, so predictions after reload are bit-identical.
/// </summary>
public sealed class ImageNetworkTransformer : RowMappingTransformer, IDisposable
{
    internal const string RegisteredName = "ImageNetwork";
    private readonly object _gate = new();

    internal ImageNetworkTransformer(Network network, NetworkOutput output, string imageColumnName, KeyDataViewType? labelType,
        string outputColumnName = DefaultColumnNames.Features)
    {
        Network = network;
        Output = output;
        ImageColumnName = imageColumnName;
        LabelType = labelType;
        OutputColumnName = outputColumnName;
        if (output is NetworkOutput.Classification or NetworkOutput.Joint && labelType is null)
            throw new ArgumentException("a classifying network needs the label key type (class names)", nameof(labelType));
        network.eval();
    }

    /// <summary>The network (eval mode). Do not train it in place.</summary>
    public Network Network { get; }

    private ComputeResources _compute = ComputeResources.Default;

    /// <summary>Device and thread budget inference runs with; setting it moves the network to the device
    /// (<see cref="MlNetMedical.Catalogs.ModelOperationsCatalog"/> applies the context's to loaded models).</summary>
    public ComputeResources Compute
    {
        get => _compute;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_gate)
            {
                Network.to(value.TorchDevice);
                _compute = value;
            }
        }
    }

    /// <summary>What the transformer writes.</summary>
    public NetworkOutput Output { get; }

    /// <summary>The image column read.</summary>
    public string ImageColumnName { get; }

    /// <summary>Class names of <c>PredictedLabel</c> (classification outputs).</summary>
    public KeyDataViewType? LabelType { get; }

    /// <summary>The features column written (<see cref="NetworkOutput.Features"/>).</summary>
    public string OutputColumnName { get; }

    /// <summary>Length of the features vector.</summary>
    public int FeatureCount => Network is EncoderClassifier c ? (int)c.Head.PooledWidth : 0;

    /// <inheritdoc/>
    public override string StageName => $"ImageNetwork({Output})";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Volume(ImageColumnName, VolumeKind.Image)];

    /// <inheritdoc/>
    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => Output switch
    {
        NetworkOutput.Features => [new(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, FeatureCount))],
        NetworkOutput.Segmentation => [new(DefaultColumnNames.PredictedMask, VolumeDataViewType.LabelMapMask)],
        NetworkOutput.Classification => ClassificationColumns(),
        _ => [.. ClassificationColumns(), new(DefaultColumnNames.PredictedMask, VolumeDataViewType.LabelMapMask)],
    };

    private DataViewSchema.DetachedColumn[] ClassificationColumns() =>
    [
        new(DefaultColumnNames.Score, new VectorDataViewType(NumberDataViewType.Single, LabelType!.Count)),
        new(DefaultColumnNames.PredictedLabel, LabelType),
    ];

    /// <summary>
    /// Rows run through the network together (default 1: row by row). Larger batches are faster, but libtorch picks its
    /// oneDNN convolution and BLAS kernels by batch size, so a row's outputs then differ from its row-by-row outputs in the
    /// last bits (about 1e-7 relative, measured; predicted labels and masks agree) and depend on which rows share its batch.
    /// Any batch size is deterministic: the same data in the same order gives the same bits.
    /// </summary>
    public int InferenceBatchSize
    {
        get => _inferenceBatchSize;
        set => _inferenceBatchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(InferenceBatchSize), value, "the inference batch size must be at least 1");
    }

    private int _inferenceBatchSize = 1;

    /// <inheritdoc/>
    protected override int MapBatchSize => InferenceBatchSize;

    /// <inheritdoc/>
    protected override void MapRow(DataViewRow input, object?[] outputs) => MapRows([input], [outputs]);

    /// <inheritdoc/>
    protected override void MapRows(IReadOnlyList<DataViewRow> inputs, IReadOnlyList<object?[]> outputs)
    {
        var values = inputs.Select(row => row.GetBoxedGetter(row.Schema[ImageColumnName])()).ToList();
        var images = values.Select((value, i) => TrainingSamples.ImageValue(value, ImageColumnName, inputs[i].Position, StageName)).ToList();
        // Predicted masks carry their image's voxel spacing, so they score in mm against the true masks.
        var spacings = values.Select(value => value is Volume volume ? MaskConverters.TensorSpacing(volume) : null).ToList();
        lock (_gate)
        {
            using var threads = _compute.Enter();
            using var noGrad = torch.no_grad();
            // Consecutive rows of one shape go through the network as one batch.
            for (var start = 0; start < images.Count;)
            {
                var end = start + 1;
                while (end < images.Count && images[end].Shape.SequenceEqual(images[start].Shape)) end++;
                using var scope = torch.NewDisposeScope();
                var shape = images[start].Shape;
                var voxels = new float[images[start].Voxels.Length * (end - start)];
                for (var i = start; i < end; i++) images[i].Voxels.CopyTo(voxels, (long)(i - start) * images[start].Voxels.Length);
                var batch = torch.tensor(voxels, [end - start, .. shape]).to(_compute.TorchDevice);
                WriteOutputs(batch, outputs.Skip(start).Take(end - start).ToList(), spacings.Skip(start).Take(end - start).ToList());
                start = end;
            }
        }
    }

    // Runs the network on a batch and writes each row's outputs (row i of every output tensor).
    private void WriteOutputs(Tensor batch, IReadOnlyList<object?[]> rows, IReadOnlyList<double[]?> spacings)
    {
        switch (Output)
        {
            case NetworkOutput.Features:
                var features = ((EncoderClassifier)Network).PooledFeatures(batch);
                for (var i = 0; i < rows.Count; i++) rows[i][0] = features.select(0, i).ToHostArray<float>();
                break;
            case NetworkOutput.Segmentation:
                using (var seg = ((ISegmentationNetwork)Network).ForwardSegmentation(batch))
                    for (var i = 0; i < rows.Count; i++) rows[i][0] = ToLabelMap(seg.Logits.narrow(0, i, 1), spacings[i]);
                break;
            case NetworkOutput.Classification:
                var logits = ((IClassificationNetwork)Network).Classify(batch);
                for (var i = 0; i < rows.Count; i++) (rows[i][0], rows[i][1]) = Probabilities(logits.narrow(0, i, 1));
                break;
            default:
                using (var joint = ((IJointNetwork)Network).ForwardJoint(batch))
                    for (var i = 0; i < rows.Count; i++)
                    {
                        (rows[i][0], rows[i][1]) = Probabilities(joint.ClassLogits.narrow(0, i, 1));
                        rows[i][2] = ToLabelMap(joint.SegmentationLogits.narrow(0, i, 1), spacings[i]);
                    }
                break;
        }
    }

    private static (float[], uint) Probabilities(Tensor logits)
    {
        var p = logits.softmax(1).ToHostArray<float>();
        var best = 0;
        for (var c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c;
        return (p, (uint)(best + 1));
    }

    private static LabelMap ToLabelMap(Tensor logits, double[]? spacing)
    {
        var labels = logits.shape[1] == 1
            ? logits.ToHostArray<float>().Select(v => v > 0 ? 1 : 0).ToArray()
            : logits.argmax(1).ToHostArray<long>().Select(v => (int)v).ToArray();
        return new LabelMap(logits.shape[2..].Select(s => (int)s).ToArray(), labels, spacing);
    }

    /// <inheritdoc/>
    public override void Save(ArchiveSaveContext context)
    {
        context.WriteConfig(new Config(Output, ImageColumnName, LabelType?.KeyNames, OutputColumnName, Network.Config.ToJson()));
        context.WriteBlob("weights.safetensors", TrainingLoop.Serialize(Network));
    }

    internal static ImageNetworkTransformer Load(ArchiveLoadContext context)
    {
        var c = context.ReadConfig<Config>();
        var weights = context.ReadBlob("weights.safetensors");
        Network network;
        try
        {
            // A valid config needs at most one element per 4 bytes of weights (float32); the margin covers configs that build
            // a throw-away encoder while validating. Beyond that the config asks for more than its weights file holds.
            using (WeightInit.LimitElements(weights.LongLength + (1 << 16)))
                network = NetworkFactory.FromJson(c.Network);
        }
        catch (NetworkTooLargeException e)
        {
            throw new InvalidDataException($"{context.Where}: the network config asks for more weights than weights.safetensors ({weights.Length:N0} bytes) can hold: {e.Message}", e);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"{context.Where}: network config is not valid: {e.Message}", e);
        }
        try
        {
            TrainingLoop.Restore(network, weights, "weights.safetensors");
        }
        catch (Exception e) when (e is StateDictMismatchException or FormatException)
        {
            network.Dispose();
            throw new InvalidDataException($"{context.Where}: weights.safetensors does not match the network config: {e.Message}", e);
        }
        return new ImageNetworkTransformer(network, c.Output, c.ImageColumnName, c.ClassNames is null ? null : new KeyDataViewType(c.ClassNames), c.OutputColumnName);
    }

    /// <summary>Frees the network's tensors.</summary>
    public void Dispose() => Network.Dispose();

    private sealed record Config(NetworkOutput Output, string ImageColumnName, IReadOnlyList<string>? ClassNames, string OutputColumnName, string Network);
}
