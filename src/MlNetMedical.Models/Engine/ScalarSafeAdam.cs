using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using AdamOptimizer = TorchSharp.Modules.Adam;

namespace MlNetMedical.Models;

/// <summary>
/// TorchSharp's Adam with the same arithmetic, state and checkpoint format, but every scalar argument held in a local that
/// stays alive until its native call has returned.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>Adam.step</c> passes doubles through implicit <see cref="Scalar"/> conversions
/// (<c>tensor / double</c>, <c>add_(…, alpha: double)</c>). Nothing references such a temporary once its handle has been read,
/// so a garbage collection started by another thread can finalize it, freeing the native scalar, while libtorch is still
/// reading it; the process then dies in <c>c10::Scalar::toDouble</c> ("Unknown scalar type"). That happened in CI's
/// parallel test runs (dotnet/TorchSharp pull requests 1434 and 1496 describe the same leak and race). Here every scalar is a
/// <c>using</c> local, disposed only after the call that reads it.
/// </remarks>
public sealed class ScalarSafeAdam : AdamOptimizer
{
    /// <summary>Adam over <paramref name="parameters"/>, one group.</summary>
    public ScalarSafeAdam(IEnumerable<Parameter> parameters, double learningRate, double weightDecay = 0)
        : base(parameters, learningRate, weight_decay: weightDecay)
    {
    }

    /// <summary>Adam over <paramref name="groups"/>; a group's own rate or weight decay overrides the defaults.</summary>
    public ScalarSafeAdam(IEnumerable<ParamGroup> groups, double learningRate, double weightDecay)
        : base(groups, learningRate, weight_decay: weightDecay)
    {
    }

    /// <summary>
    /// Loads state saved by <c>save_state_dict</c> of this class or of TorchSharp's Adam (checkpoints written before this
    /// class existed): the format is the same after the optimizer's type name, which TorchSharp checks.
    /// </summary>
    public void LoadState(Stream stream)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        var name = reader.ReadString();
        if (name != nameof(ScalarSafeAdam) && name != typeof(AdamOptimizer).Name)
            throw new InvalidDataException($"the optimizer state was saved by {name}, not by Adam");
        using var renamed = new MemoryStream();
        using (var writer = new BinaryWriter(renamed, System.Text.Encoding.UTF8, leaveOpen: true)) writer.Write(nameof(ScalarSafeAdam));
        stream.CopyTo(renamed);
        renamed.Position = 0;
        using var renamedReader = new BinaryReader(renamed);
        load_state_dict(renamedReader);
    }

    /// <inheritdoc/>
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        if (options.amsgrad == true || options.maximize == true)
            throw new NotSupportedException("ScalarSafeAdam implements plain Adam (no AMSGrad, no maximize)");
        var beta1 = options.beta1!.Value;
        var beta2 = options.beta2!.Value;
        var weightDecay = options.weight_decay!.Value;
        using var beta1Scalar = beta1.ToScalar();
        using var oneMinusBeta1 = (1 - beta1).ToScalar();
        using var beta2Scalar = beta2.ToScalar();
        using var oneMinusBeta2 = (1 - beta2).ToScalar();
        using var weightDecayScalar = weightDecay.ToScalar();
        using var eps = options.eps!.Value.ToScalar();
        using var one = 1.0.ToScalar(); // add_(Scalar) alone would make its alpha of 1 an implicit Scalar
        foreach (var parameter in group.Parameters)
        {
            var grad = parameter.grad;
            if (grad is null) continue;
            var state = (State)_state[parameter.Handle];
            state.step += 1;
            var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
            var biasCorrection2 = 1 - Math.Pow(beta2, state.step);
            if (weightDecay != 0) grad = grad.add(parameter, alpha: weightDecayScalar);
            state.exp_avg.mul_(beta1Scalar).add_(grad, alpha: oneMinusBeta1);
            state.exp_avg_sq.mul_(beta2Scalar).addcmul_(grad, grad.conj(), value: oneMinusBeta2);
            using var sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
            var denominator = state.exp_avg_sq.sqrt().div_(sqrtBiasCorrection2).add_(eps, one);
            using var stepSize = (-options.LearningRate!.Value / biasCorrection1).ToScalar();
            parameter.addcdiv_(state.exp_avg, denominator, value: stepSize);
        }
    }, closure);
}
