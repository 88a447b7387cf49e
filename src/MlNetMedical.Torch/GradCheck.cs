namespace MlNetMedical.Torch;

/// <summary>The outcome of <see cref="GradCheck.Run"/>.</summary>
/// <param name="Passed">True when every gradient element is within tolerance.</param>
/// <param name="MaxAbsError">Largest |analytic - numerical| over all checked elements.</param>
/// <param name="Message">Which element failed worst, with both values; "ok" when passed.</param>
public sealed record GradCheckResult(bool Passed, double MaxAbsError, string Message)
{
    /// <summary>Throws <see cref="InvalidOperationException"/> with <see cref="Message"/> when the check failed.</summary>
    public void ThrowIfFailed()
    {
        if (!Passed) throw new InvalidOperationException("gradient check failed: " + Message);
    }
}

/// <summary>
/// Compares autograd's gradients with central finite differences in float64, like torch.autograd.gradcheck.
/// A non-scalar output y is reduced to sum(y * v) with fixed pseudo-random weights v, so every output element counts.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Checks d f / d x for every input that requires grad. Inputs must be float64. Their <see cref="Tensor.Grad"/>
    /// is cleared before and after. Cost: two evaluations of f per input element, so keep inputs tiny.
    /// </summary>
    public static GradCheckResult Run(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(inputs);
        for (var i = 0; i < inputs.Length; i++)
            if (inputs[i].DType != DType.Float64)
                throw new ArgumentException($"inputs[{i}] has dtype {inputs[i].DType}; gradient checks need Float64 for accurate finite differences", nameof(inputs));

        using var scope = Torch.NewDisposeScope();
        foreach (var x in inputs) x.Grad = null;

        using var output = function(inputs);
        var weights = Weights(output.NumElements);
        using var v = Tensor.FromArray(weights, output.Shape);
        (output * v).Sum().Backward();

        double worst = 0;
        var message = "ok";
        var passed = true;
        for (var i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].RequiresGrad) continue;
            var grad = inputs[i].Grad;
            var analytic = grad is null ? new double[inputs[i].NumElements] : grad.ToArray<double>();
            var data = inputs[i].ToArray<double>();
            var shape = inputs[i].Shape;
            for (var j = 0; j < data.Length; j++)
            {
                var original = data[j];
                data[j] = original + eps;
                var plus = Evaluate(function, inputs, i, data, shape, v);
                data[j] = original - eps;
                var minus = Evaluate(function, inputs, i, data, shape, v);
                data[j] = original;
                var numerical = (plus - minus) / (2 * eps);
                var error = Math.Abs(analytic[j] - numerical);
                if (error > worst) worst = error;
                if (error > atol + rtol * Math.Abs(numerical) && passed)
                {
                    passed = false;
                    message = $"input {i}, element {j}: analytic {analytic[j]:R}, numerical {numerical:R}";
                }
            }
        }
        foreach (var x in inputs) x.Grad = null;
        return new GradCheckResult(passed, worst, message);
    }

    private static double Evaluate(Func<Tensor[], Tensor> function, Tensor[] inputs, int replaced, double[] data, long[] shape, Tensor v)
    {
        using var scope = Torch.NewDisposeScope();
        using var noGrad = Torch.NoGrad();
        var args = (Tensor[])inputs.Clone();
        args[replaced] = Tensor.FromArray(data, shape);
        return (function(args) * v).Sum().ToDouble();
    }

    // Fixed weights in [0.5, 1.5): deterministic and independent of libtorch's generator state.
    private static double[] Weights(long count)
    {
        var random = new Random(12345);
        var w = new double[count];
        for (var i = 0; i < w.Length; i++) w[i] = 0.5 + random.NextDouble();
        return w;
    }
}
