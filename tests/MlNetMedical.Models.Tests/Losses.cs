using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

/// <summary>One training loss for any network here: Dice+CE (with deep supervision) and/or cross-entropy on image labels.</summary>
internal static class TestLosses
{
    public static Tensor Loss(Network net, Tensor x, Tensor? mask, Tensor? labels)
    {
        switch (net)
        {
            case IJointNetwork joint:
                {
                    using var output = joint.ForwardJoint(x);
                    var seg = DeepSupervision.Loss(output.Segmentation, mask!, (l, t) => SegmentationLosses.DiceCrossEntropy(l, t));
                    return seg + nn.functional.cross_entropy(output.ClassLogits, labels!);
                }
            case ISegmentationNetwork segmenter:
                {
                    using var output = segmenter.ForwardSegmentation(x);
                    return DeepSupervision.Loss(output, mask!, (l, t) => SegmentationLosses.DiceCrossEntropy(l, t));
                }
            case IClassificationNetwork classifier:
                {
                    using var logits = classifier.Classify(x);
                    return nn.functional.cross_entropy(logits, labels!);
                }
            default:
                throw new ArgumentException($"no loss for {net.GetType().Name}");
        }
    }
}
