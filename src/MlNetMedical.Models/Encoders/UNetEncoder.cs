using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// The U-Net contracting path as a stand-alone module. Level i is <c>stages.i</c>, one <see cref="ConvBlock"/>;
/// levels after the first are preceded by a 2× max pool, or their first conv strides 2. Parameter names:
/// <c>stages.{level}.conv{k}.weight</c>, <c>stages.{level}.norm{k}.weight|bias|running_mean|running_var|num_batches_tracked</c>,
/// <c>stages.{level}.shortcut.conv|norm.*</c> (residual blocks whose width or resolution changes).
/// A plain CNN is this encoder with one conv per block.
/// </summary>
public sealed class UNetEncoder : FeatureEncoder
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    private readonly UNetEncoderConfig config;

    public UNetEncoder(UNetEncoderConfig config) : base(config)
    {
        this.config = config;
        var channels = Channels;
        var settings = config.BlockSettings();
        Stages = new ModuleList<ConvBlock>();
        for (int level = 0; level < config.Depth; level++)
        {
            long stride = level > 0 && config.Downsampling == DownsamplingKind.StridedConv ? 2 : 1;
            Stages.Add(new ConvBlock(settings, level == 0 ? config.InChannels : channels[level - 1], channels[level], stride));
        }
        register_module("stages", Stages);
    }

    public ModuleList<ConvBlock> Stages { get; }

    /// <summary>How levels after the first halve the resolution (read by the ONNX exporter).</summary>
    internal DownsamplingKind Downsampling => config.Downsampling;
    protected override string LevelNameOf(int level) => $"stages.{level}";

    public override IReadOnlyList<Tensor> Features(Tensor input)
    {
        CheckInput(input);
        var features = new List<Tensor>(Levels);
        var x = input;
        for (int level = 0; level < Levels; level++)
        {
            if (level > 0 && config.Downsampling == DownsamplingKind.MaxPool)
            {
                using var pooled = Layers.MaxPool(x, 2);
                x = Stages[level].call(pooled);
            }
            else x = Stages[level].call(x);
            features.Add(x);
        }
        return features;
    }
}
