using MlNetMedical.Torch.Nn;

namespace MlNetMedical.Torch.Tests.Nn;

/// <summary>conv → batch norm → ReLU, the unit the test nets are built from.</summary>
internal sealed class ConvBlock : Module
{
    public ConvBlock(int spatialDims, long inChannels, long outChannels)
    {
        Conv1 = RegisterModule("conv1", new Conv(spatialDims, inChannels, outChannels, 3, padding: 1));
        Norm = RegisterModule("norm", new BatchNorm(spatialDims, outChannels));
    }

    public Conv Conv1 { get; }
    public BatchNorm Norm { get; }

    public override Tensor Forward(Tensor input)
    {
        using var c = Conv1.Forward(input);
        using var n = Norm.Forward(c);
        return Functional.Relu(n);
    }
}

/// <summary>An encoder of stages (names encoder.stages.N.conv1.weight ...).</summary>
internal sealed class TinyEncoder : Module
{
    public TinyEncoder(int spatialDims = 2, long inChannels = 1, long width = 4, int depth = 2)
    {
        Stages = RegisterModule("stages", new ModuleList());
        for (int i = 0; i < depth; i++) Stages.Add(new ConvBlock(spatialDims, i == 0 ? inChannels : width << (i - 1), width << i));
        OutChannels = width << (depth - 1);
    }

    public ModuleList Stages { get; }
    public long OutChannels { get; }

    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var stage in Stages)
        {
            var y = stage.Forward(x);
            if (!ReferenceEquals(x, input)) x.Dispose();
            x = y;
        }
        return x;
    }
}

/// <summary>A segmentation-like model: encoder plus a 1×1 conv "decoder".</summary>
internal sealed class TinySegmenter : Module
{
    public TinySegmenter(long classes = 3)
    {
        Encoder = RegisterModule("encoder", new TinyEncoder());
        Decoder = RegisterModule("decoder", new Conv(2, Encoder.OutChannels, classes, 1));
    }

    public TinyEncoder Encoder { get; }
    public Conv Decoder { get; }

    public override Tensor Forward(Tensor input)
    {
        using var f = Encoder.Forward(input);
        return Decoder.Forward(f);
    }
}

/// <summary>A classifier reusing the same encoder: pool → flatten → linear head.</summary>
internal sealed class TinyClassifier : Module
{
    public TinyClassifier(long classes = 2, long headInputs = 8)
    {
        Encoder = RegisterModule("encoder", new TinyEncoder());
        Head = RegisterModule("head", new Sequential(new AdaptiveAvgPool(2, [1]), new Flatten(), new Linear(headInputs, classes)));
    }

    public TinyEncoder Encoder { get; }
    public Sequential Head { get; }

    public override Tensor Forward(Tensor input)
    {
        using var f = Encoder.Forward(input);
        return Head.Forward(f);
    }
}
