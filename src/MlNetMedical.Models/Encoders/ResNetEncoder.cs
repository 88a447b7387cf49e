using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// A ResNet of basic residual blocks (as ResNet-18/34). Level 0 is the stem, <see cref="Stem"/>, whose parameters are named
/// <c>stem.conv1.weight</c> and <c>stem.norm1.*</c> whichever stem it is (<see cref="ResNetEncoderConfig.Stem"/>): a
/// <see cref="ConvBlock"/> (one 3×3 conv at full resolution) or an <see cref="ImageNetStem"/> (7×7 stride-2 conv, max pool).
/// Level i ≥ 1 is <c>stages.{i-1}</c>, a list of residual blocks (<c>stages.{i-1}.{block}.conv1.weight</c>,
/// <c>...shortcut.conv.weight</c>) whose first block strides 2, except stage 0 after the ImageNet stem (stride 1, as torchvision).
/// </summary>
public sealed class ResNetEncoder : FeatureEncoder
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    public ResNetEncoder(ResNetEncoderConfig config) : base(config)
    {
        var channels = Channels;
        var plain = new BlockSettings(config.SpatialDims, config.Norm, config.NormGroups, config.Activation, BlockKind.Plain, 1);
        var residual = plain with { Block = BlockKind.Residual, ConvsPerBlock = 2 };
        StemKind = config.Stem;
        Stem = config.Stem == ResNetStem.ImageNet ? new ImageNetStem(plain, config.InChannels, channels[0]) : new ConvBlock(plain, config.InChannels, channels[0]);
        register_module("stem", Stem);
        Stages = new ModuleList<Sequential>();
        for (int s = 0; s < config.BlocksPerStage.Length; s++)
        {
            var blocks = nn.Sequential();
            var stride = s == 0 && config.Stem == ResNetStem.ImageNet ? 1 : 2;
            for (int b = 0; b < config.BlocksPerStage[s]; b++)
                blocks.append(new ConvBlock(residual, b == 0 ? channels[s] : channels[s + 1], channels[s + 1], b == 0 ? stride : 1));
            Stages.Add(blocks);
        }
        register_module("stages", Stages);
    }

    /// <summary>Level 0: a <see cref="ConvBlock"/> for <see cref="ResNetStem.Plain"/>, an <see cref="ImageNetStem"/> for
    /// <see cref="ResNetStem.ImageNet"/> (see <see cref="StemKind"/>); its parameters are <c>stem.conv1.*</c> and <c>stem.norm1.*</c>.</summary>
    public nn.Module<Tensor, Tensor> Stem { get; }

    /// <summary>Which stem <see cref="Stem"/> is.</summary>
    public ResNetStem StemKind { get; }

    public ModuleList<Sequential> Stages { get; }
    protected override string LevelNameOf(int level) => level == 0 ? "stem" : $"stages.{level - 1}";

    public override IReadOnlyList<Tensor> Features(Tensor input)
    {
        CheckInput(input);
        var features = new List<Tensor> { Stem.call(input) };
        foreach (var stage in Stages) features.Add(stage.call(features[^1]));
        return features;
    }
}

/// <summary>
/// torchvision's ResNet stem: <c>conv1</c> (7×7[×7], stride 2, padding 3, no bias while a norm follows) → <c>norm1</c> → activation →
/// max pool (3×3[×3], stride 2, padding 1). The output has 1/4 of the input's resolution (each size n becomes ⌈⌈n/2⌉/2⌉).
/// State-dict names: <c>conv1.weight</c>, <c>conv1.bias</c> (without norm only), <c>norm1.*</c>, the names a <see cref="ConvBlock"/>
/// stem has, so the two stems differ only in the tensor shapes.
/// </summary>
public sealed class ImageNetStem : nn.Module<Tensor, Tensor>
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    /// <summary>Kernel, stride and padding of the convolution.</summary>
    public const int ConvKernel = 7, ConvStride = 2, ConvPadding = 3;

    /// <summary>Kernel, stride and padding of the max pool.</summary>
    public const int PoolKernel = 3, PoolStride = 2, PoolPadding = 1;

    /// <param name="settings">Dims, norm and activation (block kind and convs per block are not used).</param>
    /// <param name="inChannels">Input channels (3 for RGB).</param>
    /// <param name="outChannels">Output channels (64 for ResNet18).</param>
    public ImageNetStem(BlockSettings settings, long inChannels, long outChannels) : base(nameof(ImageNetStem))
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        Conv = Layers.Conv(settings.SpatialDims, inChannels, outChannels, ConvKernel, ConvStride, bias: settings.Norm == NormKind.None);
        Norm = Layers.Norm(settings.Norm, settings.SpatialDims, outChannels, settings.NormGroups);
        register_module("conv1", Conv);
        register_module("norm1", Norm);
    }

    /// <summary>Dims, norm and activation.</summary>
    public BlockSettings Settings { get; }

    /// <summary><c>conv1</c>: the 7×7 stride-2 convolution (padding 3, the kernel's half).</summary>
    public Convolution Conv { get; }

    /// <summary><c>norm1</c>: the normalisation after it.</summary>
    public nn.Module<Tensor, Tensor> Norm { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = Layers.Activate(Settings.Activation, Norm.call(Conv.call(input)));
        var dims = (int)x.dim() - 2;
        long[] Repeat(long v) => Enumerable.Repeat(v, dims).ToArray();
        x = dims switch
        {
            1 => nn.functional.max_pool1d(x, PoolKernel, PoolStride, PoolPadding),
            2 => nn.functional.max_pool2d(x, Repeat(PoolKernel), Repeat(PoolStride), Repeat(PoolPadding)),
            _ => nn.functional.max_pool3d(x, Repeat(PoolKernel), Repeat(PoolStride), Repeat(PoolPadding)),
        };
        return scope.MoveToOuter(x);
    }
}
