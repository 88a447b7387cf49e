using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// The unit every network here is built from: <c>ConvsPerBlock</c> × (3×3[×3] conv → norm → act), members named
/// <c>conv1, norm1, conv2, norm2, ...</c>. The first conv may stride 2 (downsampling). A residual block adds its input
/// before the last activation, through <c>shortcut.conv</c>/<c>shortcut.norm</c> (1×1 projection) when the channel
/// count or resolution changes, else directly (ResNet's basic block).
/// </summary>
public sealed class ConvBlock : nn.Module<Tensor, Tensor>
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    private readonly List<(Convolution Conv, nn.Module<Tensor, Tensor> Norm)> layers = [];
    private readonly Sequential? shortcut;
    private readonly BlockSettings settings;

    public ConvBlock(BlockSettings settings, long inChannels, long outChannels, long stride = 1) : base(nameof(ConvBlock))
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.ConvsPerBlock < 1) throw new ArgumentOutOfRangeException(nameof(settings), settings.ConvsPerBlock, "ConvsPerBlock must be at least 1");
        this.settings = settings;
        InChannels = inChannels;
        OutChannels = outChannels;
        var bias = settings.Norm == NormKind.None;
        for (int i = 1; i <= settings.ConvsPerBlock; i++)
        {
            var conv = Layers.Conv(settings.SpatialDims, i == 1 ? inChannels : outChannels, outChannels, 3, i == 1 ? stride : 1, bias);
            var norm = Layers.Norm(settings.Norm, settings.SpatialDims, outChannels, settings.NormGroups);
            register_module($"conv{i}", conv);
            register_module($"norm{i}", norm);
            layers.Add((conv, norm));
        }
        if (settings.Block == BlockKind.Residual && (inChannels != outChannels || stride != 1))
        {
            shortcut = nn.Sequential(
                ("conv", Layers.Conv(settings.SpatialDims, inChannels, outChannels, 1, stride, bias)),
                ("norm", Layers.Norm(settings.Norm, settings.SpatialDims, outChannels, settings.NormGroups)));
            register_module("shortcut", shortcut);
        }
    }

    public long InChannels { get; }

    /// <summary>The block's dims, norm, activation, kind and conv count (read by the ONNX exporter).</summary>
    internal BlockSettings Settings => settings;
    public long OutChannels { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = input;
        for (int i = 0; i < layers.Count; i++)
        {
            x = layers[i].Norm.call(layers[i].Conv.call(x));
            bool last = i == layers.Count - 1;
            if (!(last && settings.Block == BlockKind.Residual)) x = Layers.Activate(settings.Activation, x);
        }
        if (settings.Block == BlockKind.Residual)
            x = Layers.Activate(settings.Activation, x + (shortcut?.call(input) ?? input));
        return scope.MoveToOuter(x);
    }
}
