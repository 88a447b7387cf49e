using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// A small ResNet (basic residual blocks, as ResNet-18/34) for natural-image pretraining. Level 0 is the stem
/// (<c>stem.conv1</c>, <c>stem.norm1</c>: one 3×3 conv at full resolution); level i ≥ 1 is <c>stages.{i-1}</c>, a list of
/// residual blocks whose first block strides 2 (<c>stages.{i-1}.{block}.conv1.weight</c>, <c>...shortcut.conv.weight</c>).
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
        Stem = new ConvBlock(plain, config.InChannels, channels[0]);
        register_module("stem", Stem);
        Stages = new ModuleList<Sequential>();
        for (int s = 0; s < config.BlocksPerStage.Length; s++)
        {
            var blocks = nn.Sequential();
            for (int b = 0; b < config.BlocksPerStage[s]; b++)
                blocks.append(new ConvBlock(residual, b == 0 ? channels[s] : channels[s + 1], channels[s + 1], b == 0 ? 2 : 1));
            Stages.Add(blocks);
        }
        register_module("stages", Stages);
    }

    public ConvBlock Stem { get; }
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
