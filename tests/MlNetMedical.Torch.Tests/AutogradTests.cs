using Xunit;

namespace MlNetMedical.Torch.Tests;

public sealed class AutogradTests : IDisposable
{
    private readonly DisposeScope scope = Torch.NewDisposeScope();
    public void Dispose() => scope.Dispose();

    private static T OnNewThread<T>(Func<T> body)
    {
        T result = default!;
        var thread = new Thread(() => result = body());
        thread.Start();
        thread.Join();
        return result;
    }

    private static Tensor D(double[] v, params long[] shape) => Tensor.FromArray(v, shape).RequiresGrad_();

    [Fact]
    public void BackwardGivesKnownGradients()
    {
        var x = D([1, 2, 3]);
        Assert.True(x.IsLeaf);
        Assert.Null(x.Grad);
        var y = (x * x).Sum(); // dy/dx = 2x
        Assert.False(y.IsLeaf);
        y.Backward();
        Assert.Equal(new double[] { 2, 4, 6 }, x.Grad!.ToArray<double>());

        // Gradients accumulate until zeroed.
        (x * 3).Sum().Backward();
        Assert.Equal(new double[] { 5, 7, 9 }, x.Grad!.ToArray<double>());
        x.ZeroGrad();
        Assert.Equal(new double[] { 0, 0, 0 }, x.Grad!.ToArray<double>());
        x.ZeroGrad(setToNone: true);
        Assert.Null(x.Grad);
    }

    [Fact]
    public void BackwardWithGradientTensorAndRetainGraph()
    {
        var x = D([1, 2]);
        var y = x * x;
        y.Backward(Tensor.FromArray(new double[] { 1, 10 }), retainGraph: true);
        Assert.Equal(new double[] { 2, 40 }, x.Grad!.ToArray<double>());
        y.Backward(Tensor.FromArray(new double[] { 1, 1 }));
        Assert.Equal(new double[] { 4, 44 }, x.Grad!.ToArray<double>());
        var e = Assert.Throws<TorchException>(() => (x * x).Backward());
        Assert.Contains("scalar", e.Message);
    }

    [Fact]
    public void NoGradScopesNestAndRestore()
    {
        Assert.True(Torch.IsGradEnabled);
        var x = D([1]);
        using (Torch.NoGrad())
        {
            Assert.False(Torch.IsGradEnabled);
            Assert.False((x * 2).RequiresGrad);
            using (Torch.EnableGrad())
            {
                Assert.True(Torch.IsGradEnabled);
                Assert.True((x * 2).RequiresGrad);
            }
            Assert.False(Torch.IsGradEnabled);
            using (Torch.NoGrad()) Assert.False(Torch.IsGradEnabled);
            Assert.False(Torch.IsGradEnabled);
        }
        Assert.True(Torch.IsGradEnabled);
        Assert.True((x * 2).RequiresGrad);
    }

    [Fact]
    public void GradModeIsPerThread()
    {
        using (Torch.NoGrad())
        {
            var other = OnNewThread(() => Torch.IsGradEnabled);
            Assert.True(other);
            Assert.False(Torch.IsGradEnabled);
        }
    }

    [Fact]
    public void GradScopeMustCloseOnItsOwnThread()
    {
        var scope = Torch.NoGrad();
        var e = OnNewThread(() => Record.Exception(scope.Dispose));
        Assert.IsType<InvalidOperationException>(e);
        Assert.False(Torch.IsGradEnabled);
        scope.Dispose();
        Assert.True(Torch.IsGradEnabled);
    }

    [Fact]
    public void InPlaceUpdateOfLeafNeedsNoGrad()
    {
        var w = D([1, 2]);
        var e = Assert.Throws<TorchException>(() => w.Add_(1.0));
        Assert.Contains("leaf Variable that requires grad", e.Message);
        using (Torch.NoGrad()) w.Sub_(Tensor.FromArray(new double[] { 1, 1 }), alpha: 0.5);
        Assert.Equal(new double[] { 0.5, 1.5 }, w.ToArray<double>());
        Assert.True(w.RequiresGrad);
    }

    [Fact]
    public void DetachCutsTheGraph()
    {
        var x = D([1, 2]);
        var d = (x * 2).Detach();
        Assert.False(d.RequiresGrad);
        var y = (x * d).Sum();
        y.Backward();
        Assert.Equal(new double[] { 2, 4 }, x.Grad!.ToArray<double>()); // d treated as constant

        var z = x * 3;
        z.Detach_();
        Assert.False(z.RequiresGrad);
    }

    [Fact]
    public void GradSetterAndRetainGrad()
    {
        var x = D([1, 2]);
        x.Grad = Tensor.FromArray(new double[] { 5, 5 });
        Assert.Equal(new double[] { 5, 5 }, x.Grad!.ToArray<double>());
        x.Grad = null;
        Assert.Null(x.Grad);
        var h = x * 2;
        h.RetainGrad();
        (h * h).Sum().Backward();
        Assert.Equal(new double[] { 4, 8 }, h.Grad!.ToArray<double>());
    }

    public static TheoryData<string> Functions => new()
    {
        "add_mul", "div_pow", "exp_log_sqrt", "sigmoid_tanh_relu", "softmax", "log_softmax", "reductions",
        "norm_std_var", "matmul_bmm", "shape", "index_gather", "clamp_abs", "where_maskedfill", "cat_stack_pad",
    };

    [Theory]
    [MemberData(nameof(Functions))]
    public void GradientsMatchFiniteDifferences(string name)
    {
        Func<Tensor[], Tensor> f = name switch
        {
            "add_mul" => t => t[0] * t[1] + t[0] * 3 - t[1] / 2,
            "div_pow" => t => t[0] / (t[1] * t[1] + 1) + t[0].Pow(3) + t[1].Abs().Add(1.0).Pow(t[0]),
            "exp_log_sqrt" => t => t[0].Exp() + (t[1] * t[1] + 1).Log() + (t[0] * t[0] + 1).Sqrt(),
            "sigmoid_tanh_relu" => t => t[0].Sigmoid() * t[1].Tanh() + (t[0] + 0.05).Relu(),
            "softmax" => t => t[0].Softmax(1) * t[1],
            "log_softmax" => t => t[0].LogSoftmax(0) * t[1],
            "reductions" => t => t[0].Sum(1) * t[1].Mean(1) + t[0].Max(0).Values.Sum() + t[1].LogSumExp(1).Sum(),
            "norm_std_var" => t => t[0].Norm() + t[1].Std(1) .Sum() + t[0].Var(0, unbiased: false).Sum() + t[1].Norm(2, 0).Sum(),
            "matmul_bmm" => t => t[0].Matmul(t[1].T) + t[0].Unsqueeze(0).Bmm(t[1].T.Unsqueeze(0)).Squeeze(0),
            "shape" => t => t[0].Reshape(3, 2).T.Flatten() * t[1].Permute(1, 0).Contiguous().View(-1) + t[0].Flip(1).Roll(1, 0).Flatten(),
            "index_gather" => t => t[0].Gather(1, Tensor.FromArray(new long[] { 2, 0, 1, 1 }, 2, 2)).Sum(1)
                                   + t[1].IndexSelect(1, Tensor.FromArray(new long[] { 0, 2 })).Sum(1) + t[0][.., 1..].Sum(1),
            "clamp_abs" => t => t[0].Clamp(-0.35, 0.45) + t[1].Abs() + t[0].Maximum(t[1]),
            "where_maskedfill" => t => Tensor.Where(t[0].Gt(t[1]), t[0], t[1] * 2) + t[0].MaskedFill(t[1].Gt(0.1), 0),
            "cat_stack_pad" => t => Tensor.Cat([t[0], t[1]], 1).Sum(1) + Tensor.Stack([t[0], t[1]]).Pow(2).Sum([0, 2])
                                    + t[0].Unsqueeze(0).Pad([1, 1], PadMode.Reflect).Sum([0, 2]),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var a = D([0.3, -0.7, 0.9, 0.2, -0.4, 0.6], 2, 3);
        var b = D([-0.2, 0.5, 0.8, -0.9, 0.4, 0.3], 2, 3);
        var result = GradCheck.Run(f, [a, b]);
        Assert.True(result.Passed, $"{name}: {result.Message}");
        Assert.True(result.MaxAbsError < 1e-5, $"{name}: max error {result.MaxAbsError}");
    }

    [Fact]
    public void GradCheckCatchesAWrongGradient()
    {
        // detach hides part of the function from autograd, so the analytic gradient is wrong.
        var a = D([0.5, 1.5]);
        var result = GradCheck.Run(t => t[0] * t[0].Detach(), [a]);
        Assert.False(result.Passed);
        Assert.Contains("analytic", result.Message);
        Assert.Throws<InvalidOperationException>(result.ThrowIfFailed);
    }

    [Fact]
    public void GradCheckRequiresFloat64()
    {
        var a = Tensor.Zeros([2], requiresGrad: true);
        Assert.Throws<ArgumentException>(() => GradCheck.Run(t => t[0] * 2, [a]));
    }
}
