using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>Probability map used by the Dice loss: softmax over channels, per-channel sigmoid, or none (input already holds probabilities).</summary>
public enum DiceActivation { Softmax, Sigmoid, None }

/// <summary>
/// Losses TorchSharp lacks, composed from its ops so autograd differentiates them. Inputs are (N, C, spatial...)
/// logits; class-index targets are (N, spatial...) int64, per-class targets have the input's shape.
/// </summary>
public static class SegmentationLosses
{
    /// <summary>
    /// Soft Dice loss 1 − (2|P·T| + smooth)/(|P| + |T| + smooth), per class, and per sample unless <paramref name="batch"/>
    /// pools the batch (nnU-Net's batch Dice); mean over classes (and samples). Channel 0 is left out when
    /// <paramref name="includeBackground"/> is false.
    /// </summary>
    public static Tensor Dice(Tensor input, Tensor target, DiceActivation activation = DiceActivation.Softmax, bool includeBackground = true,
                              double smooth = 1e-5, bool batch = false)
    {
        using var scope = torch.NewDisposeScope();
        var probs = activation switch
        {
            DiceActivation.Softmax => input.softmax(1),
            DiceActivation.Sigmoid => input.sigmoid(),
            DiceActivation.None => input,
            _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown Dice activation"),
        };
        var map = ClassMap(input, target);
        if (!includeBackground)
        {
            if (input.shape[1] < 2) throw new ArgumentException("excluding the background needs at least 2 channels", nameof(includeBackground));
            probs = probs.narrow(1, 1, input.shape[1] - 1);
            map = map.narrow(1, 1, input.shape[1] - 1);
        }
        var over = new List<long>();
        if (batch) over.Add(0);
        for (long d = 2; d < input.dim(); d++) over.Add(d);
        var dims = over.ToArray();
        var intersection = (probs * map).sum(dims);
        var denominator = probs.sum(dims) + map.sum(dims);
        var dice = (2 * intersection + smooth) / (denominator + smooth);
        return scope.MoveToOuter((1 - dice).mean());
    }

    /// <summary><paramref name="lambdaDice"/> · softmax Dice + <paramref name="lambdaCe"/> · cross-entropy (MONAI's DiceCELoss, nnU-Net's loss).</summary>
    public static Tensor DiceCrossEntropy(Tensor input, Tensor target, bool includeBackground = true, double smooth = 1e-5, bool batch = false,
                                          double lambdaDice = 1, double lambdaCe = 1, Tensor? ceWeight = null)
    {
        using var scope = torch.NewDisposeScope();
        var dice = Dice(input, target, DiceActivation.Softmax, includeBackground, smooth, batch);
        var ce = nn.functional.cross_entropy(input, target, ceWeight);
        return scope.MoveToOuter(lambdaDice * dice + lambdaCe * ce);
    }

    /// <summary>
    /// Focal loss −(1 − p_t)^γ log p_t. Class-index targets: softmax over C, optional per-class <paramref name="weight"/>,
    /// <paramref name="ignoreIndex"/> skipped, mean over kept elements. Float targets shaped like the input: sigmoid focal
    /// loss with <paramref name="alpha"/> (negative: none), mean over elements.
    /// </summary>
    public static Tensor Focal(Tensor input, Tensor target, double gamma = 2, Tensor? weight = null, double alpha = -1, long ignoreIndex = -100)
    {
        if (gamma < 0) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "focal gamma must be >= 0");
        using var scope = torch.NewDisposeScope();
        if (target.is_floating_point())
        {
            var y = target.to(input.dtype);
            var ce = nn.functional.binary_cross_entropy_with_logits(input, y, reduction: nn.Reduction.None);
            var p = input.sigmoid();
            var pt = p * y + (1 - p) * (1 - y);
            var loss = ce * (1 - pt).pow(gamma);
            if (alpha >= 0) loss = loss * (alpha * y + (1 - alpha) * (1 - y));
            return scope.MoveToOuter(loss.mean());
        }
        if (target.dim() != input.dim() - 1)
            throw new ArgumentException($"a class-index target must have one dim fewer than the input, got [{string.Join(", ", target.shape)}] vs [{string.Join(", ", input.shape)}]", nameof(target));
        var keep = target.ne(ignoreIndex);
        var safe = target.masked_fill(keep.logical_not(), 0);
        var logP = input.log_softmax(1).gather(1, safe.unsqueeze(1)).squeeze(1);
        var l = -(1 - logP.exp()).pow(gamma) * logP;
        if (weight is not null) l = l * weight.index_select(0, safe.flatten()).view(safe.shape);
        l = l * keep.to(l.dtype);
        return scope.MoveToOuter(l.sum() / keep.sum().clamp_min(1).to(l.dtype));
    }

    private static Tensor ClassMap(Tensor input, Tensor target)
    {
        if (input.dim() < 2) throw new ArgumentException("input must be (N, C, ...) with at least 2 dims", nameof(input));
        if (!target.is_floating_point() && target.dtype != ScalarType.Bool)
        {
            if (target.dim() != input.dim() - 1)
                throw new ArgumentException($"a class-index target must have one dim fewer than the input (N, ...), got [{string.Join(", ", target.shape)}] vs [{string.Join(", ", input.shape)}]", nameof(target));
            return nn.functional.one_hot(target, input.shape[1]).movedim([-1], [1]).to(input.dtype);
        }
        if (!target.shape.SequenceEqual(input.shape))
            throw new ArgumentException($"a per-class target must have the input's shape [{string.Join(", ", input.shape)}], got [{string.Join(", ", target.shape)}]", nameof(target));
        return target.to(input.dtype);
    }
}
