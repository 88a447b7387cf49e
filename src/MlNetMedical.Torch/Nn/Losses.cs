using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch.Nn;

/// <summary>Probability map used by the Dice loss: softmax over channels, per-channel sigmoid, or none (input already holds probabilities).</summary>
public enum DiceActivation { Softmax = 0, Sigmoid = 1, None = 2 }

/// <summary>
/// Loss functions. Inputs are (N, C, spatial...) logits for classification and segmentation; class-index targets
/// are (N, spatial...) int64. Built-in losses are libtorch's; Dice, Dice+CE and focal are composed from libtorch ops.
/// </summary>
public static class Losses
{
    private static IntPtr H(Tensor? t) => Functional.Handle(t);

    /// <summary>Cross-entropy over logits (N, C, *) with class-index targets (N, *) or class-probability targets (N, C, *).
    /// <paramref name="weight"/> (C) weighs classes; targets equal to <paramref name="ignoreIndex"/> are skipped;
    /// <paramref name="labelSmoothing"/> in [0, 1] mixes the target with the uniform distribution.</summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean, long ignoreIndex = -100, double labelSmoothing = 0)
    {
        if (labelSmoothing is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label smoothing must be in [0, 1]");
        var r = Tensor.FromStatus(mlnm_loss_cross_entropy(input, target, H(weight), (int)reduction, ignoreIndex, labelSmoothing, out var h), h);
        GC.KeepAlive(weight);
        return r;
    }

    /// <summary>Negative log-likelihood over log-probabilities (N, C, *) with class-index targets (N, *).</summary>
    public static Tensor Nll(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean, long ignoreIndex = -100)
    {
        var r = Tensor.FromStatus(mlnm_loss_nll(input, target, H(weight), (int)reduction, ignoreIndex, out var h), h);
        GC.KeepAlive(weight);
        return r;
    }

    /// <summary>Binary cross-entropy on logits; <paramref name="posWeight"/> (broadcast over the last dim) weighs positives.</summary>
    public static Tensor BceWithLogits(Tensor input, Tensor target, Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        var r = Tensor.FromStatus(mlnm_loss_bce_with_logits(input, target, H(weight), H(posWeight), (int)reduction, out var h), h);
        GC.KeepAlive(weight); GC.KeepAlive(posWeight);
        return r;
    }

    public static Tensor Mse(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) => Regression(input, target, 0, 0, reduction);
    public static Tensor L1(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) => Regression(input, target, 1, 0, reduction);

    /// <summary>Huber-like loss: 0.5 d²/β below β, |d| − 0.5β above.</summary>
    public static Tensor SmoothL1(Tensor input, Tensor target, double beta = 1, Reduction reduction = Reduction.Mean) => Regression(input, target, 2, beta, reduction);

    private static Tensor Regression(Tensor input, Tensor target, int kind, double beta, Reduction reduction) =>
        Tensor.FromStatus(mlnm_loss_regression(input, target, kind, beta, (int)reduction, out var h), h);

    /// <summary>
    /// Soft Dice loss 1 − (2|P·T| + smooth)/(|P| + |T| + smooth), computed per class, and per sample unless
    /// <paramref name="batch"/> pools the batch (nnU-Net's "batch dice"). Targets are class indices (N, *) or
    /// per-class maps shaped like the input. With <see cref="Reduction.None"/> the result is (C') or (N, C'), where
    /// C' excludes channel 0 when <paramref name="includeBackground"/> is false.
    /// </summary>
    public static Tensor Dice(Tensor input, Tensor target, DiceActivation activation = DiceActivation.Softmax, bool includeBackground = true,
                              double smooth = 1e-5, bool batch = false, Reduction reduction = Reduction.Mean) =>
        Tensor.FromStatus(mlnm_loss_dice(input, target, (int)activation, includeBackground ? 1 : 0, smooth, batch ? 1 : 0, (int)reduction, out var h), h);

    /// <summary>lambdaDice · mean softmax Dice + lambdaCe · mean cross-entropy (MONAI's DiceCELoss, nnU-Net's loss).</summary>
    public static Tensor DiceCrossEntropy(Tensor input, Tensor target, bool includeBackground = true, double smooth = 1e-5, bool batch = false,
                                          double lambdaDice = 1, double lambdaCe = 1, Tensor? ceWeight = null)
    {
        var r = Tensor.FromStatus(mlnm_loss_dice_ce(input, target, H(ceWeight), includeBackground ? 1 : 0, smooth, batch ? 1 : 0, lambdaDice, lambdaCe, out var h), h);
        GC.KeepAlive(ceWeight);
        return r;
    }

    /// <summary>
    /// Focal loss −(1 − p_t)^γ log p_t. Class-index targets: softmax over C, optional per-class <paramref name="weight"/>
    /// (the α of multi-class focal loss), <paramref name="ignoreIndex"/> skipped, mean over kept elements.
    /// Float targets shaped like the input: sigmoid (binary) focal loss with <paramref name="alpha"/> (negative: none).
    /// </summary>
    public static Tensor Focal(Tensor input, Tensor target, double gamma = 2, Tensor? weight = null, double alpha = -1, long ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        var r = Tensor.FromStatus(mlnm_loss_focal(input, target, H(weight), gamma, alpha, ignoreIndex, (int)reduction, out var h), h);
        GC.KeepAlive(weight);
        return r;
    }
}
