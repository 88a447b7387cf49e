using System.Text.Json.Serialization;

namespace MlNetMedical.Models;

/// <summary>Settings shared by every encoder; the concrete record says which encoder to build.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(UNetEncoderConfig), "unet")]
[JsonDerivedType(typeof(ResNetEncoderConfig), "resnet")]
[JsonDerivedType(typeof(CustomEncoderConfig), "custom")]
[JsonDerivedType(typeof(ImageNetEncoderConfig), "imagenet")]
public abstract record EncoderConfig
{
    /// <summary>2 for images, 3 for volumes (1 also works).</summary>
    public int SpatialDims { get; init; } = 2;
    public int InChannels { get; init; } = 1;
    public NormKind Norm { get; init; } = NormKind.Batch;
    /// <summary>Group count for <see cref="NormKind.Group"/> (reduced to a divisor of each width).</summary>
    public int NormGroups { get; init; } = 8;
    public ActivationKind Activation { get; init; } = ActivationKind.Relu;

    public abstract FeatureEncoder Build();

    /// <summary>Channels of each level's feature map.</summary>
    public abstract long[] LevelChannels();

    /// <summary>The blocks a U-Net decoder (and Y-Net's branch) builds over this encoder: its dims, norm and activation,
    /// two plain conv-norm-act per block; the U-Net encoder's own block settings for it.</summary>
    public virtual BlockSettings DecoderBlockSettings() => new(SpatialDims, Norm, NormGroups, Activation);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public virtual void Validate()
    {
        Check.Range(SpatialDims, 1, 3, nameof(SpatialDims));
        Check.Range(InChannels, 1, int.MaxValue, nameof(InChannels));
        Check.Range(NormGroups, 1, int.MaxValue, nameof(NormGroups));
        Check.Defined(Norm, nameof(Norm));
        Check.Defined(Activation, nameof(Activation));
    }
}

/// <summary>
/// The U-Net encoder. Level i has round(BaseChannels · ChannelMultiplier^i) channels, capped at MaxChannels
/// (default 512 in 2D, 320 in 3D, nnU-Net's caps). Defaults: 5 levels of 32, 64, 128, 256, 512 (2D) / 320 (3D),
/// two conv-BN-ReLU per level, 2× max pooling.
/// </summary>
public sealed record UNetEncoderConfig : EncoderConfig
{
    /// <summary>Number of levels, bottleneck included (4 poolings at depth 5).</summary>
    public int Depth { get; init; } = 5;
    public int BaseChannels { get; init; } = 32;
    public double ChannelMultiplier { get; init; } = 2.0;
    /// <summary>Cap on any level's width; null means 512 in 2D and 320 in 3D.</summary>
    public int? MaxChannels { get; init; }
    public BlockKind Block { get; init; } = BlockKind.Plain;
    public int ConvsPerBlock { get; init; } = 2;
    public DownsamplingKind Downsampling { get; init; } = DownsamplingKind.MaxPool;

    [JsonIgnore]
    public int EffectiveMaxChannels => MaxChannels ?? (SpatialDims == 3 ? 320 : 512);

    public override FeatureEncoder Build() => new UNetEncoder(this);

    public override long[] LevelChannels() =>
        Enumerable.Range(0, Depth).Select(l => FeatureEncoder.LevelChannels(BaseChannels, ChannelMultiplier, EffectiveMaxChannels, l)).ToArray();

    public BlockSettings BlockSettings() => new(SpatialDims, Norm, NormGroups, Activation, Block, ConvsPerBlock);

    public override BlockSettings DecoderBlockSettings() => BlockSettings();

    public override void Validate()
    {
        base.Validate();
        Check.Range(Depth, 1, 10, nameof(Depth));
        Check.Range(BaseChannels, 1, 4096, nameof(BaseChannels));
        if (!(ChannelMultiplier >= 1 && ChannelMultiplier <= 4))
            throw new ArgumentOutOfRangeException(nameof(ChannelMultiplier), ChannelMultiplier, "ChannelMultiplier must be in [1, 4]");
        if (MaxChannels is { } m) Check.Range(m, 1, 8192, nameof(MaxChannels));
        Check.Range(ConvsPerBlock, 1, 8, nameof(ConvsPerBlock));
        Check.Defined(Block, nameof(Block));
        Check.Defined(Downsampling, nameof(Downsampling));
    }
}

/// <summary>
/// A ResNet of basic residual blocks. <see cref="ResNetStem.Plain"/> (default): a 3×3 stem of BaseChannels at full
/// resolution, then one stage per entry of BlocksPerStage, each halving the resolution and doubling the width (capped at
/// MaxChannels); default [1, 1, 1, 1]: 5 levels of 32..512 channels. <see cref="ResNetStem.ImageNet"/>: torchvision's layout,
/// the 7×7 stride-2 stem and max pool (1/4 resolution, BaseChannels wide), a first stage that keeps width and resolution, then
/// stages that halve the resolution and double the width; <see cref="ImageNetResNet18()"/> is the preset whose weights load from
/// ML.NET's ImageNet-trained ResNet18 (<see cref="ImageNetResNet18Weights"/>).
/// </summary>
public sealed record ResNetEncoderConfig : EncoderConfig
{
    public int BaseChannels { get; init; } = 32;
    public int[] BlocksPerStage { get; init; } = [1, 1, 1, 1];
    public int MaxChannels { get; init; } = 512;
    /// <summary>The first layer: <see cref="ResNetStem.Plain"/> (3×3, full resolution) or <see cref="ResNetStem.ImageNet"/> (7×7 stride 2 + max pool).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] // configs saved before the option existed stay byte-identical
    public ResNetStem Stem { get; init; } = ResNetStem.Plain;

    public override FeatureEncoder Build() => new ResNetEncoder(this);

    /// <summary>Level 0 is the stem; with the ImageNet stem stage 0 keeps the stem's width, so level i ≥ 1 has BaseChannels·2^(i-1).</summary>
    public override long[] LevelChannels() =>
        Enumerable.Range(0, BlocksPerStage.Length + 1)
            .Select(l => FeatureEncoder.LevelChannels(BaseChannels, 2.0, MaxChannels, Stem == ResNetStem.ImageNet ? Math.Max(0, l - 1) : l)).ToArray();

    /// <summary>
    /// The ResNet18 of ML.NET's <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> package (a CNTK export): RGB input (channels in
    /// the network's own B, G, R order), ImageNet stem of 64, four stages of [2, 2, 2, 3] blocks (64, 128, 256, 512 channels;
    /// that export's last stage has three blocks, torchvision's two), 2D. <see cref="ImageNetResNet18Weights.LoadWeights"/> loads its weights.
    /// </summary>
    public static ResNetEncoderConfig ImageNetResNet18() => new()
    {
        SpatialDims = 2, InChannels = 3, Stem = ResNetStem.ImageNet, BaseChannels = 64, BlocksPerStage = [2, 2, 2, 3], MaxChannels = 512,
    };

    public override void Validate()
    {
        base.Validate();
        Check.Range(BaseChannels, 1, 4096, nameof(BaseChannels));
        Check.Range(MaxChannels, 1, 8192, nameof(MaxChannels));
        Check.Defined(Stem, nameof(Stem));
        ArgumentNullException.ThrowIfNull(BlocksPerStage, nameof(BlocksPerStage));
        Check.Range(BlocksPerStage.Length, 1, 9, nameof(BlocksPerStage) + ".Length");
        foreach (var b in BlocksPerStage) Check.Range(b, 1, 64, nameof(BlocksPerStage) + "[]");
    }
}

/// <summary>
/// A grey medical image into an ImageNet-style ResNet (default <see cref="ResNetEncoderConfig.ImageNetResNet18"/>): the encoder maps its
/// input as <c>ml.Transforms.ImageNetPixels</c> does for ML.NET's featuriser, then subtracts the ImageNet mean image, so the
/// ImageNet weights (<see cref="ImageNetResNet18Weights.LoadInto"/>) see what they were trained on. A 3D volume gives its middle
/// slice along k (the slice axis); an image with several channels gives its first channel. See <see cref="ImageNetEncoder"/>.
/// <see cref="EncoderConfig.SpatialDims"/> and <see cref="EncoderConfig.InChannels"/> describe the input images (2 or 3 dims,
/// any channels); the ResNet itself is always 2D with three input channels.
/// </summary>
public sealed record ImageNetEncoderConfig : EncoderConfig
{
    /// <summary>Default <see cref="InputSize"/>: 112, half of ImageNet's 224, so a forward and backward pass costs about a quarter
    /// (≈ 1.5 GFLOP an image instead of ≈ 6) and the deepest map is still 4×4.</summary>
    public const int DefaultInputSize = 112;

    /// <summary>Height and width (pixels) each slice is resized to before the ResNet (224 is what ImageNet training used); at least
    /// twice the ResNet's reduction (64 for ResNet18), so the deepest map is at least 2×2.</summary>
    public int InputSize { get; init; } = DefaultInputSize;

    /// <summary>The ResNet (2D, three input channels).</summary>
    public ResNetEncoderConfig ResNet { get; init; } = ResNetEncoderConfig.ImageNetResNet18();

    public override FeatureEncoder Build() => new ImageNetEncoder(this);

    public override long[] LevelChannels() => ResNet.LevelChannels();

    public override void Validate()
    {
        base.Validate();
        Check.Range(SpatialDims, 2, 3, nameof(SpatialDims));
        ArgumentNullException.ThrowIfNull(ResNet, nameof(ResNet));
        ResNet.Validate();
        if (ResNet.SpatialDims != 2 || ResNet.InChannels != 3)
            throw new ArgumentException($"ResNet must be 2D with 3 input channels (the ImageNet layout), got {ResNet.SpatialDims}D with {ResNet.InChannels}", nameof(ResNet));
        // At least 2×2 at the deepest level: a 1×1 map makes a training batch of one image give batch norm a single value per channel.
        var reduction = ResNet.Stem == ResNetStem.ImageNet ? 2L << ResNet.BlocksPerStage.Length : 1L << ResNet.BlocksPerStage.Length;
        Check.Range(InputSize, 2 * reduction, 4096, nameof(InputSize));
    }
}

internal static class Check
{
    public static void Range(long value, long min, long max, string name)
    {
        if (value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{min}, {max}]");
    }

    public static void Defined<T>(T value, string name) where T : struct, Enum
    {
        if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be one of {string.Join(", ", Enum.GetNames<T>())}");
    }

    public static void Probability(double value, string name)
    {
        if (!(value >= 0 && value < 1)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1)");
    }
}
