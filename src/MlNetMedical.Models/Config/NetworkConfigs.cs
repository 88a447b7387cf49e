using System.Text.Json;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Everything needed to rebuild a network: saved next to its weights as JSON (<see cref="ToJson"/>), rebuilt with
/// <see cref="NetworkFactory.Create"/>. Every option is a plain value so AutoML can sweep it.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "network")]
[JsonDerivedType(typeof(UNetConfig), "unet")]
[JsonDerivedType(typeof(EncoderClassifierConfig), "encoder-classifier")]
[JsonDerivedType(typeof(YNetConfig), "ynet")]
[JsonDerivedType(typeof(SimpleJointConfig), "simple-joint")]
public abstract record NetworkConfig
{
    /// <summary>Builds the network, drawing its initial weights from <paramref name="generator"/> (libtorch's default
    /// generator when null), so a seeded generator gives the same weights in any thread.</summary>
    public Network Build(Generator? generator = null)
    {
        TorchRuntime.Initialize(); // the engine's threads, allocator and kernel choices before the first network
        using (WeightInit.Use(generator)) return Create();
    }

    /// <summary>Constructs the network (<see cref="Build"/> has installed the weight generator).</summary>
    protected abstract Network Create();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public abstract void Validate();

    public string ToJson() => JsonSerializer.Serialize(this, NetworkJson.Options);

    /// <summary>Reads a config written by <see cref="ToJson"/>; throws <see cref="JsonException"/> on unknown networks, a missing
    /// network or encoder kind, or malformed JSON.</summary>
    public static NetworkConfig FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        NetworkConfig config;
        try
        {
            config = JsonSerializer.Deserialize<NetworkConfig>(json, NetworkJson.Options)
                     ?? throw new JsonException("network config JSON is null");
        }
        catch (NotSupportedException e)
        {
            // System.Text.Json reports a missing "network" or "kind" discriminator this way.
            throw new JsonException($"network config JSON is not valid: {e.Message}", e);
        }
        config.Validate();
        return config;
    }
}

/// <summary>JSON settings of network configs: camelCase names, enums as strings, unknown properties rejected.</summary>
public static class NetworkJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
    };
}

/// <summary>Builds networks from configs.</summary>
public static class NetworkFactory
{
    public static Network Create(NetworkConfig config, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Build(generator);
    }

    public static Network FromJson(string json, Generator? generator = null) => Create(NetworkConfig.FromJson(json), generator);
}

/// <summary>
/// U-Net: an encoder (<see cref="UNetEncoderConfig"/> by default: depth, widths, norm, block kind, downsampling; or any
/// other <see cref="EncoderConfig"/>, a user's own encoder included, whose level i is at 1/2^i resolution), a decoder
/// mirroring it with the encoder's <see cref="EncoderConfig.DecoderBlockSettings"/>, a 1×1 head to <see cref="NumClasses"/>,
/// and optionally <see cref="DeepSupervisionOutputs"/> extra 1×1 heads at decoder levels 1..k.
/// </summary>
public sealed record UNetConfig : NetworkConfig
{
    public EncoderConfig Encoder { get; init; } = new UNetEncoderConfig();
    /// <summary>Segmentation classes, background included (1 means a single sigmoid channel).</summary>
    public int NumClasses { get; init; } = 2;
    public UpsamplingKind Upsampling { get; init; } = UpsamplingKind.TransposedConv;
    /// <summary>Deep-supervision outputs at levels 1..k (0 = off); at most Depth-2.</summary>
    public int DeepSupervisionOutputs { get; init; }

    protected override Network Create() => new UNet(this);

    public override void Validate()
    {
        ArgumentNullException.ThrowIfNull(Encoder, nameof(Encoder));
        Encoder.Validate();
        var levels = Encoder.LevelChannels().Length;
        Check.Range(levels, 2, 10, "Encoder levels");
        Check.Range(NumClasses, 1, 10_000, nameof(NumClasses));
        Check.Defined(Upsampling, nameof(Upsampling));
        Check.Range(DeepSupervisionOutputs, 0, levels - 2, nameof(DeepSupervisionOutputs));
    }
}

/// <summary>
/// Classification head: global <see cref="Pooling"/> of the encoder <see cref="Levels"/> (negative = from the deepest,
/// default the deepest only), dropout, an MLP with <see cref="HiddenUnits"/> (ReLU) and a linear output.
/// </summary>
public sealed record ClassificationHeadConfig
{
    public int NumClasses { get; init; } = 2;
    public int[] Levels { get; init; } = [-1];
    public PoolingKind Pooling { get; init; } = PoolingKind.Average;
    public double Dropout { get; init; }
    public int[] HiddenUnits { get; init; } = [];

    public void Validate()
    {
        Check.Range(NumClasses, 1, 100_000, nameof(NumClasses));
        ArgumentNullException.ThrowIfNull(Levels, nameof(Levels));
        ArgumentNullException.ThrowIfNull(HiddenUnits, nameof(HiddenUnits));
        if (Levels.Length == 0) throw new ArgumentException("Levels must name at least one level", nameof(Levels));
        Check.Defined(Pooling, nameof(Pooling));
        Check.Probability(Dropout, nameof(Dropout));
        foreach (var h in HiddenUnits) Check.Range(h, 1, 1 << 20, nameof(HiddenUnits) + "[]");
    }

    /// <summary>Levels as indices 0..levelCount-1, in the order given; throws on out-of-range or repeated levels.</summary>
    public int[] ResolveLevels(int levelCount)
    {
        var resolved = Levels.Select(l => l < 0 ? levelCount + l : l).ToArray();
        for (int i = 0; i < resolved.Length; i++)
            if (resolved[i] < 0 || resolved[i] >= levelCount)
                throw new ArgumentOutOfRangeException(nameof(Levels), Levels[i], $"level {Levels[i]} does not exist: the features have levels 0..{levelCount - 1} (or -1..-{levelCount})");
        if (resolved.Distinct().Count() != resolved.Length)
            throw new ArgumentException($"Levels [{string.Join(", ", Levels)}] name a level twice", nameof(Levels));
        return resolved;
    }
}

/// <summary>
/// An encoder with a classification head. Presets: <see cref="FromSegmentation"/> (the encoder of a segmentation U-Net,
/// so its weights load), <see cref="PlainCnn"/> (scratch baseline), <see cref="ResNet"/> (small ResNet) and <see cref="ImageNetResNet18"/>
/// (ImageNet's ResNet18 for grey images).
/// </summary>
public sealed record EncoderClassifierConfig : NetworkConfig
{
    public EncoderConfig Encoder { get; init; } = new UNetEncoderConfig();
    public ClassificationHeadConfig Head { get; init; } = new();

    protected override Network Create() => new EncoderClassifier(this);

    public override void Validate()
    {
        ArgumentNullException.ThrowIfNull(Encoder, nameof(Encoder));
        ArgumentNullException.ThrowIfNull(Head, nameof(Head));
        Encoder.Validate();
        Head.Validate();
        Head.ResolveLevels(Encoder.LevelChannels().Length);
    }

    /// <summary>A classifier on the encoder of <paramref name="segmentation"/> (same names and shapes).</summary>
    public static EncoderClassifierConfig FromSegmentation(UNetConfig segmentation, ClassificationHeadConfig head) =>
        new() { Encoder = segmentation.Encoder, Head = head };

    /// <summary>Plain CNN: <paramref name="depth"/> levels of conv-BN-ReLU (one conv each) and 2× max pooling, widths
    /// <paramref name="baseChannels"/>·2^i, average pooling of the deepest level, linear output.</summary>
    public static EncoderClassifierConfig PlainCnn(int spatialDims, int inChannels, int numClasses, int depth = 4, int baseChannels = 16, double dropout = 0) => new()
    {
        Encoder = new UNetEncoderConfig { SpatialDims = spatialDims, InChannels = inChannels, Depth = depth, BaseChannels = baseChannels, ConvsPerBlock = 1 },
        Head = new ClassificationHeadConfig { NumClasses = numClasses, Dropout = dropout },
    };

    /// <summary>ImageNet's ResNet18 (<see cref="ResNetEncoderConfig.ImageNetResNet18"/>) behind the grey-image mapping of
    /// <see cref="ImageNetEncoderConfig"/> (images of <paramref name="spatialDims"/> dims and <paramref name="inChannels"/> channels; a
    /// volume gives its middle k slice, the first channel is read), resized to <paramref name="inputSize"/>²; average pooling of the
    /// deepest level (512), linear output. The weights start random: the ImageNet fine-tuning trainer
    /// (<c>ml.MulticlassClassification.Trainers.ImageNetFineTuned</c>) or <see cref="ImageNetResNet18Weights.LoadInto"/> loads ImageNet's.</summary>
    public static EncoderClassifierConfig ImageNetResNet18(int spatialDims, int inChannels, int numClasses, int inputSize = ImageNetEncoderConfig.DefaultInputSize, double dropout = 0) => new()
    {
        Encoder = new ImageNetEncoderConfig { SpatialDims = spatialDims, InChannels = inChannels, InputSize = inputSize },
        Head = new ClassificationHeadConfig { NumClasses = numClasses, Dropout = dropout },
    };

    /// <summary>Small ResNet: 3×3 stem and residual stages per <paramref name="blocksPerStage"/> (default [1, 1, 1, 1]).</summary>
    public static EncoderClassifierConfig ResNet(int spatialDims, int inChannels, int numClasses, int baseChannels = 32, int[]? blocksPerStage = null) => new()
    {
        Encoder = new ResNetEncoderConfig { SpatialDims = spatialDims, InChannels = inChannels, BaseChannels = baseChannels, BlocksPerStage = blocksPerStage ?? [1, 1, 1, 1] },
        Head = new ClassificationHeadConfig { NumClasses = numClasses },
    };
}

/// <summary>Y-Net: <see cref="UNet"/> plus a classification branch of <see cref="ExtraDownBlocks"/> down blocks
/// (width <see cref="BranchChannels"/>, default the bottleneck's), global average pooling and FC <see cref="HiddenUnits"/> → classes.</summary>
public sealed record YNetConfig : NetworkConfig
{
    public UNetConfig UNet { get; init; } = new();
    /// <summary>Image-level classes.</summary>
    public int NumClasses { get; init; } = 2;
    public int ExtraDownBlocks { get; init; } = 2;
    public int? BranchChannels { get; init; }
    public int[] HiddenUnits { get; init; } = [128, 64];
    public double Dropout { get; init; }

    protected override Network Create() => new YNet(this);

    public override void Validate()
    {
        ArgumentNullException.ThrowIfNull(UNet, nameof(UNet));
        UNet.Validate();
        Check.Range(NumClasses, 1, 100_000, nameof(NumClasses));
        Check.Range(ExtraDownBlocks, 0, 8, nameof(ExtraDownBlocks));
        if (BranchChannels is { } b) Check.Range(b, 1, 8192, nameof(BranchChannels));
        ArgumentNullException.ThrowIfNull(HiddenUnits, nameof(HiddenUnits));
        foreach (var h in HiddenUnits) Check.Range(h, 1, 1 << 20, nameof(HiddenUnits) + "[]");
        Check.Probability(Dropout, nameof(Dropout));
    }
}

/// <summary>
/// Simple joint network (our reading of Heker &amp; Greenspan): <see cref="UNet"/> with a per-voxel lesion-type head of
/// <see cref="NumClasses"/> channels; the image class comes from the lesion-type logits averaged over the soft lesion
/// mask plus <see cref="Pooling"/> of the decoder maps at <see cref="DecoderLevels"/> (null = all), through an MLP.
/// </summary>
public sealed record SimpleJointConfig : NetworkConfig
{
    public UNetConfig UNet { get; init; } = new();
    /// <summary>Image-level (lesion-type) classes.</summary>
    public int NumClasses { get; init; } = 2;
    public int[]? DecoderLevels { get; init; }
    public PoolingKind Pooling { get; init; } = PoolingKind.Average;
    public double Dropout { get; init; }
    public int[] HiddenUnits { get; init; } = [];

    protected override Network Create() => new SimpleJointNet(this);

    internal ClassificationHeadConfig ClassifierHead(int decoderLevels) => new()
    {
        NumClasses = NumClasses,
        Levels = DecoderLevels ?? Enumerable.Range(0, decoderLevels).ToArray(),
        Pooling = Pooling,
        Dropout = Dropout,
        HiddenUnits = HiddenUnits,
    };

    public override void Validate()
    {
        ArgumentNullException.ThrowIfNull(UNet, nameof(UNet));
        UNet.Validate();
        var decoderLevels = UNet.Encoder.LevelChannels().Length - 1;
        var head = ClassifierHead(decoderLevels);
        head.Validate();
        head.ResolveLevels(decoderLevels);
    }
}
