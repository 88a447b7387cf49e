using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Preprocessing;
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

    internal ImageNetworkTransformer(Network network, NetworkOutput output, string imageColumnName, IReadOnlyList<string>? classNames,
        string outputColumnName = DefaultColumnNames.Features)
    {
        Network = network;
        Output = output;
        ImageColumnName = imageColumnName;
        ClassNames = classNames?.ToArray();
        OutputColumnName = outputColumnName;
        if (output is NetworkOutput.Classification or NetworkOutput.Joint && (classNames is null || classNames.Count == 0))
            throw new ArgumentException("a classifying network needs the label's class names", nameof(classNames));
        network.eval();
    }

    /// <summary>The network (eval mode). Do not train it in place.</summary>
    public Network Network { get; }

    private ComputeResources _compute = ComputeResources.Default;

    /// <summary>Device and thread budget inference runs with; setting it moves the network to the device
    /// (loading a model through a context applies the context's).</summary>
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

    /// <summary>Class names of <c>PredictedLabel</c> (the label's key values, in key order; classification outputs), else null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>The features column written (<see cref="NetworkOutput.Features"/>).</summary>
    public string OutputColumnName { get; }

    /// <summary>Length of the features vector.</summary>
    public int FeatureCount => Network is EncoderClassifier c ? (int)c.Head.PooledWidth : 0;

    /// <inheritdoc/>
    public override string StageName => $"ImageNetwork({Output})";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Volume(ImageColumnName, VolumeKind.Image)];

    /// <inheritdoc/>
    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        LabelGuidedPreprocessing.Refuse(inputSchema, ImageColumnName, StageName);
        return Output switch
        {
            NetworkOutput.Features => [new(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, FeatureCount))],
            NetworkOutput.Segmentation => [new(DefaultColumnNames.PredictedMask, MaskType)],
            NetworkOutput.Classification => ClassificationColumns(ClassNames!),
            _ => [.. ClassificationColumns(ClassNames!), new(DefaultColumnNames.PredictedMask, MaskType)],
        };
    }

    /// <summary>The type of <c>PredictedMask</c>: a mask volume of <see cref="LabelMap"/>s.</summary>
    internal static VolumeDataViewType MaskType { get; } = new(VolumeKind.Mask, typeof(LabelMap));

    /// <summary><c>Score</c> (a vector of K probabilities, slots named by class) and <c>PredictedLabel</c> (a key with the label's
    /// key values), as ML.NET's multiclass trainers write them, so <c>ml.MulticlassClassification.Evaluate</c> reads them.</summary>
    internal static DataViewSchema.DetachedColumn[] ClassificationColumns(IReadOnlyList<string> classNames)
    {
        var (key, keyValues) = SchemaShapes.ClassKey(classNames);
        return [new(DefaultColumnNames.Score, new VectorDataViewType(NumberDataViewType.Single, classNames.Count), SlotNames(classNames)),
            new(DefaultColumnNames.PredictedLabel, key, keyValues)];
    }

    /// <summary>The shapes of <see cref="ClassificationColumns"/> for estimators, from the label column's shape (a key of K classes).</summary>
    internal static SchemaShape.Column[] ClassificationShapes(SchemaShape.Column label)
    {
        var count = label.ItemType is KeyDataViewType key ? (int)key.Count : 0;
        // SchemaShape keeps annotation names and types only, so placeholder names of the right count stand for the real ones.
        var names = Enumerable.Range(1, Math.Max(count, 1)).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var hasKeyValues = label.Annotations.Any(a => a.Name == SchemaShapes.AnnotationKinds.KeyValues);
        return
        [
            SchemaShapes.ColumnOf(DefaultColumnNames.Score, new VectorDataViewType(NumberDataViewType.Single, count), SlotNames(names)),
            SchemaShapes.KeyColumnOf(DefaultColumnNames.PredictedLabel, hasKeyValues ? SchemaShapes.ClassKey(names).Annotations : null),
        ];
    }

    private static DataViewSchema.Annotations SlotNames(IReadOnlyList<string> names) =>
        SchemaShapes.NamesAnnotation(SchemaShapes.AnnotationKinds.SlotNames, names);

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
        var values = inputs.Select(row => row.GetClrGetter(row.Schema[ImageColumnName])()).ToList();
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
                using var pause = GarbageCollectionPause.Enter();
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
    public override void SaveToArchive(ArchiveSaveContext context)
    {
        context.WriteConfig(new Config(Output, ImageColumnName, ClassNames, OutputColumnName, Network.Config.ToJson()));
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
        try
        {
            return new ImageNetworkTransformer(network, c.Output, c.ImageColumnName, c.ClassNames, c.OutputColumnName);
        }
        catch (ArgumentException e)
        {
            network.Dispose();
            throw new InvalidDataException($"{context.Where}: {e.Message}", e);
        }
    }

    /// <summary>Frees the network's tensors.</summary>
    public void Dispose() => Network.Dispose();

    private sealed record Config(NetworkOutput Output, string ImageColumnName, IReadOnlyList<string>? ClassNames, string OutputColumnName, string Network);
}

/// <summary>
/// Preprocessing that reads the true mask (a crop to the mask's bounding box, a normalisation over the mask's voxels) leaks the
/// answer into the image: a model applied to such rows sees where the lesion is. Network transformers refuse them.
/// </summary>
internal static class LabelGuidedPreprocessing
{
    /// <summary>The steps of <paramref name="chain"/> that read the mask, in words (empty when none does).</summary>
    public static IReadOnlyList<string> Steps(TransformChain? chain) => chain is null ? [] : chain.Transforms.Select(t => t switch
    {
        CropForeground { UseLabel: true } => "CropForeground(UseLabel = true) crops to the mask's bounding box",
        ZScore { Mask: "label" } => "ZScore(Mask = \"label\") normalises over the mask's voxels",
        _ => null,
    }).OfType<string>().ToArray();

    /// <summary>Throws when the image column's preprocessing chain (<see cref="PreprocessingAnnotation"/>) reads the mask.</summary>
    public static void Refuse(DataViewSchema schema, string imageColumnName, string stage)
    {
        var steps = Steps(PreprocessingAnnotation.Read(schema, imageColumnName));
        if (steps.Count == 0) return;
        throw new InvalidOperationException(
            $"{stage}: the preprocessing of image column '{imageColumnName}' reads the true mask ({string.Join("; ", steps)}). " +
            "A model applied to these rows would see the answer it is asked for (where the lesion is), and at prediction time there is no mask. " +
            "Preprocess without the mask (CropForeground with UseLabel = false, ZScore with Mask = \"nonzero\" or \"none\"), " +
            "or crop with a predicted mask in a separate step.");
    }
}
