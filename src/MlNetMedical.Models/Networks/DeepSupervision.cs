using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Deep-supervision loss as nnU-Net computes it: the loss of each output against the target resized (nearest) to
/// that output's size, weighted 1, 1/2, 1/4, ... from full resolution down, weights normalised to sum to 1.
/// </summary>
public static class DeepSupervision
{
    /// <summary>Weights for the main output and <paramref name="deepOutputs"/> coarser ones.</summary>
    public static double[] Weights(int deepOutputs)
    {
        var w = Enumerable.Range(0, deepOutputs + 1).Select(i => Math.Pow(0.5, i)).ToArray();
        var sum = w.Sum();
        return w.Select(x => x / sum).ToArray();
    }

    /// <summary>Weighted sum of <paramref name="loss"/>(logits, target) over every output. <paramref name="target"/> holds
    /// class indices (N, spatial...) int64 or per-class maps (N, C, spatial...) float.</summary>
    public static Tensor Loss(SegmentationOutput output, Tensor target, Func<Tensor, Tensor, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(loss);
        using var scope = torch.NewDisposeScope();
        var weights = Weights(output.DeepSupervision.Count);
        var total = loss(output.Logits, target) * weights[0];
        for (int i = 0; i < output.DeepSupervision.Count; i++)
        {
            var logits = output.DeepSupervision[i];
            total = total + loss(logits, ResizeTarget(target, logits.shape[2..])) * weights[i + 1];
        }
        return scope.MoveToOuter(total);
    }

    /// <summary>Nearest-neighbour resize of a class-index (N, spatial...) or per-class (N, C, spatial...) target.</summary>
    public static Tensor ResizeTarget(Tensor target, long[] size)
    {
        using var scope = torch.NewDisposeScope();
        bool indices = target.dim() == size.Length + 1;
        var asFloat = indices ? target.unsqueeze(1).to(ScalarType.Float32) : target;
        var resized = Layers.Resize(asFloat, size, linear: false);
        return scope.MoveToOuter(indices ? resized.squeeze(1).to(target.dtype) : resized);
    }
}
