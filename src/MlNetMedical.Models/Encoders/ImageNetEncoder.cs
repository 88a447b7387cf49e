using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// An ImageNet-style ResNet (<c>resnet.*</c>, a <see cref="ResNetEncoder"/>) behind the mapping that turns a grey medical image into
/// the input ImageNet training used (<see cref="MapInput"/>): the middle k slice of a volume, the first channel, bilinear resize to
/// <see cref="InputSize"/>² (half-pixel centres), min–max to 0..255 per image, the plane copied to the three channels, minus the
/// ImageNet mean image (the persistent buffer <c>mean_image</c>, (1, 3, InputSize, InputSize), in the network's channel order).
/// That is <c>ml.Transforms.ImageNetPixels</c> plus ML.NET's <c>ResNetPreprocess.onnx</c>, inside the network, so a trained
/// classifier saves, loads and predicts on the plain image column. Levels are the ResNet's (<c>resnet.stem</c>, <c>resnet.stages.{i}</c>).
/// Built with zero mean and random weights; <see cref="ImageNetResNet18Weights.LoadInto"/> loads ImageNet's.
/// </summary>
public sealed class ImageNetEncoder : FeatureEncoder
{
    /// <summary>The buffer holding the mean image.</summary>
    public const string MeanImageName = "mean_image";

    /// <summary>The child module holding the ResNet.</summary>
    public const string ResNetName = "resnet";

    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    public ImageNetEncoder(ImageNetEncoderConfig config) : base(config)
    {
        InputSize = config.InputSize;
        ResNet = new ResNetEncoder(config.ResNet);
        register_module(ResNetName, ResNet);
        register_buffer(MeanImageName, torch.zeros(1, config.ResNet.InChannels, InputSize, InputSize));
    }

    /// <summary>The ResNet the mapped images go through.</summary>
    public ResNetEncoder ResNet { get; }

    /// <summary>Height and width of the mapped images.</summary>
    public int InputSize { get; }

    /// <summary>The mean image subtracted (1, 3, InputSize, InputSize), the buffer <c>mean_image</c> (where the module lives now).</summary>
    public Tensor MeanImage => get_buffer(MeanImageName) ?? throw new InvalidOperationException($"{nameof(ImageNetEncoder)} has lost its '{MeanImageName}' buffer");

    /// <summary>Any size is resized, so every input size works.</summary>
    public override long MinimumInputSize => 1;

    protected override string LevelNameOf(int level) => ResNetName + "." + ResNet.LevelName(level);

    /// <summary>The ResNet's input for a batch of medical images (N, C, [k,] j, i): (N, 3, InputSize, InputSize), see the class summary.
    /// Values are not checked for NaN (normalised training data has none).</summary>
    public Tensor MapInput(Tensor input)
    {
        CheckInput(input);
        using var scope = torch.NewDisposeScope();
        var x = input;
        if (x.dim() == 5) x = x.select(2, x.shape[2] / 2); // the middle slice along k, as ImageNetPixels
        x = x.narrow(1, 0, 1);
        if (x.shape[2] != InputSize || x.shape[3] != InputSize)
            x = nn.functional.interpolate(x, [InputSize, InputSize], mode: InterpolationMode.Bilinear, align_corners: false);
        var flat = x.flatten(1);
        var min = flat.amin([1], keepdim: true).unsqueeze(-1).unsqueeze(-1);
        var range = flat.amax([1], keepdim: true).unsqueeze(-1).unsqueeze(-1) - min;
        var scale = torch.where(range > 0, 255f / range.clamp_min(1e-30f), torch.zeros_like(range));
        x = (x - min) * scale;
        return scope.MoveToOuter(x.expand(-1, MeanImage.shape[1], -1, -1) - MeanImage);
    }

    public override IReadOnlyList<Tensor> Features(Tensor input)
    {
        using var mapped = MapInput(input);
        return ResNet.Features(mapped);
    }
}
