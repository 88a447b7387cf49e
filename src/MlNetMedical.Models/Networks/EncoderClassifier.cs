using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// An encoder plus a <see cref="ClassificationHead"/> (<c>encoder.*</c>, <c>head.*</c>). With a U-Net encoder it takes
/// its weights from a segmentation U-Net through <see cref="EncoderNetwork.LoadEncoder"/>; with one conv per block
/// it is the plain-CNN baseline; with a <see cref="ResNetEncoder"/> it is the small ResNet; with a user's own encoder
/// (<see cref="CustomEncoderConfig"/>) it is that encoder's classifier.
/// </summary>
public sealed class EncoderClassifier : EncoderNetwork, IClassificationNetwork
{
    public EncoderClassifier(EncoderClassifierConfig config) : base(config, Validated(config).Encoder.Build())
    {
        Head = new ClassificationHead(Encoder.Channels, config.Head);
        register_module("head", Head);
    }

    private static EncoderClassifierConfig Validated(EncoderClassifierConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config;
    }

    public ClassificationHead Head { get; }
    public int Classes => ((EncoderClassifierConfig)Config).Head.NumClasses;

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(Head.Forward(Encoder.Features(input)));
    }

    public Tensor Classify(Tensor input) => forward(input);

    /// <summary>The head's pooled input features (N, <see cref="ClassificationHead.PooledWidth"/>): what a frozen-encoder
    /// feature extractor hands to a separate classifier.</summary>
    public Tensor PooledFeatures(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(Head.PooledFeatures(Encoder.Features(input)));
    }
}
