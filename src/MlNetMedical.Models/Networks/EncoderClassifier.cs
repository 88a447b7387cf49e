using MlNetMedical.Torch;

namespace MlNetMedical.Models;

/// <summary>
/// An encoder plus a <see cref="ClassificationHead"/> (<c>encoder.*</c>, <c>head.*</c>). With a U-Net encoder it takes
/// its weights from a segmentation U-Net through <see cref="EncoderNetwork.LoadEncoder"/>; with one conv per block
/// it is the plain-CNN baseline; with a <see cref="ResNetEncoder"/> it is the small ResNet.
/// </summary>
public sealed class EncoderClassifier : EncoderNetwork, IClassificationNetwork
{
    public EncoderClassifier(EncoderClassifierConfig config) : base(config, Validated(config).Encoder.Build())
    {
        Head = RegisterModule("head", new ClassificationHead(Encoder.Channels, config.Head));
    }

    private static EncoderClassifierConfig Validated(EncoderClassifierConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config;
    }

    public ClassificationHead Head { get; }
    public int Classes => ((EncoderClassifierConfig)Config).Head.NumClasses;

    public override Tensor Forward(Tensor input)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        return scope.MoveToOuter(Head.Forward(Encoder.Features(input)));
    }

    public Tensor Classify(Tensor input) => Forward(input);

    /// <summary>The head's pooled input features (N, <see cref="ClassificationHead.PooledWidth"/>): what a frozen-encoder
    /// feature extractor hands to a separate classifier.</summary>
    public Tensor PooledFeatures(Tensor input)
    {
        using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
        return scope.MoveToOuter(Head.PooledFeatures(Encoder.Features(input)));
    }
}
