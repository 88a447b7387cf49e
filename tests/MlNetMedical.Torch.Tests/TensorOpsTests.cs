using Xunit;

namespace MlNetMedical.Torch.Tests;

// Known-value tests for each op family. Every test runs inside a dispose scope so nothing outlives it.
public sealed class TensorOpsTests : IDisposable
{
    private readonly DisposeScope scope = Torch.NewDisposeScope();
    public void Dispose() => scope.Dispose();

    private static Tensor F(params float[] v) => Tensor.FromArray(v);
    private static Tensor F(float[] v, params long[] shape) => Tensor.FromArray(v, shape);
    private static Tensor L(params long[] v) => Tensor.FromArray(v);

    [Fact]
    public void ArithmeticWithTensorsAndScalars()
    {
        var a = F(1, 2, 3);
        var b = F(4, 5, 6);
        Assert.Equal(new float[] { 5, 7, 9 }, (a + b).ToArray<float>());
        Assert.Equal(new float[] { -3, -3, -3 }, (a - b).ToArray<float>());
        Assert.Equal(new float[] { 4, 10, 18 }, (a * b).ToArray<float>());
        Assert.Equal(new float[] { 0.25f, 0.4f, 0.5f }, (a / b).ToArray<float>());
        Assert.Equal(new float[] { 3, 4, 5 }, (a + 2).ToArray<float>());
        Assert.Equal(new float[] { 1, 0, -1 }, (2 - a).ToArray<float>());
        Assert.Equal(new float[] { 2, 1, 2f / 3 }, (2 / a).ToArray<float>());
        Assert.Equal(new float[] { 0.5f, 1, 1.5f }, (0.5 * a).ToArray<float>());
        Assert.Equal(new float[] { -1, -2, -3 }, (-a).ToArray<float>());
        Assert.Equal(new float[] { 9, 12, 15 }, a.Add(b, alpha: 2).ToArray<float>());
        Assert.Equal(new float[] { -7, -8, -9 }, a.Sub(b, alpha: 2).ToArray<float>());
        Assert.Equal(new float[] { 1, 4, 9 }, a.Pow(2).ToArray<float>());
        Assert.Equal(new float[] { 1, 0, 1 }, a.Remainder(2).ToArray<float>());
        Assert.Equal(new float[] { 4, 5, 6 }, a.Maximum(b).ToArray<float>());
    }

    [Fact]
    public void ScalarKindFollowsPyTorchPromotion()
    {
        var ints = L(1, 2, 3);
        Assert.Equal(DType.Int64, (ints + 1).DType);
        Assert.Equal(new long[] { 2, 3, 4 }, (ints + 1).ToArray<long>());
        Assert.Equal(DType.Float32, (ints + 0.5).DType);
        Assert.Equal(DType.Float32, (ints / 2).DType); // true division
        Assert.Equal(new long[] { 3, 4, 5 }, ints.Add(L(1, 1, 1), alpha: 2).ToArray<long>());
    }

    [Fact]
    public void InPlaceOpsReturnTheSameTensor()
    {
        var a = F(1, 2, 3);
        Assert.Same(a, a.Add_(F(1, 1, 1)).Mul_(2).Sub_(1).Div_(3));
        Assert.Equal(new float[] { 1, 5f / 3, 7f / 3 }, a.ToArray<float>());
        a.Add_(F(3, 3, 3), alpha: -1);
        Assert.Equal(new float[] { -2, 5f / 3 - 3, 7f / 3 - 3 }, a.ToArray<float>());
        a.Fill_(2.0).Addcmul_(F(1, 2, 3), F(2, 2, 2), 0.5);
        Assert.Equal(new float[] { 3, 4, 5 }, a.ToArray<float>());
        a.Addcdiv_(F(4, 4, 4), F(2, 4, 8), 2);
        Assert.Equal(new float[] { 7, 6, 6 }, a.ToArray<float>());
        a.Lerp_(F(17, 16, 16), 0.1);
        Assert.Equal(new float[] { 8, 7, 7 }, a.ToArray<float>(), new FloatClose(1e-5f));
        a.Copy_(F(1, 2, 3)).Clamp_(1.5, 2.5);
        Assert.Equal(new float[] { 1.5f, 2, 2.5f }, a.ToArray<float>());
        a.Zero_();
        Assert.Equal(new float[] { 0, 0, 0 }, a.ToArray<float>());
        var ints = L(1, 2).Fill_(7L);
        Assert.Equal(new long[] { 7, 7 }, ints.ToArray<long>());
    }

    [Fact]
    public void Reductions()
    {
        var x = F(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.Equal(21f, x.Sum().Item<float>());
        Assert.Equal(new float[] { 5, 7, 9 }, x.Sum(0).ToArray<float>());
        Assert.Equal(new long[] { 2, 1 }, x.Sum(1, keepDim: true).Shape);
        Assert.Equal(3.5f, x.Mean().Item<float>());
        Assert.Equal(new float[] { 2, 5 }, x.Mean(1).ToArray<float>());
        Assert.Equal(21f, x.Sum([0, 1]).Item<float>());
        Assert.Equal(6f, x.Max().Item<float>());
        Assert.Equal(1f, x.Min().Item<float>());
        var (values, indices) = x.Max(1);
        Assert.Equal(new float[] { 3, 6 }, values.ToArray<float>());
        Assert.Equal(new long[] { 2, 2 }, indices.ToArray<long>());
        Assert.Equal(new long[] { 0, 0 }, x.Min(1).Indices.ToArray<long>());
        Assert.Equal(5L, x.Argmax().Item<long>());
        Assert.Equal(new long[] { 1, 1, 1 }, x.Argmax(0).ToArray<long>());
        Assert.Equal(new long[] { 0, 0, 0 }, x.Argmin(0).ToArray<long>());
        Assert.Equal(1.0, F(1, 2, 3).Var().ToDouble(), 6);
        Assert.Equal(Math.Sqrt(2.0 / 3), F(1, 2, 3).Std(unbiased: false).ToDouble(), 6);
        Assert.Equal(new float[] { 1, 1 }, x.Std(1).ToArray<float>());
        Assert.Equal(5.0, F(3, 4).Norm().ToDouble(), 6);
        Assert.Equal(7.0, F(3, -4).Norm(1).ToDouble(), 6);
        Assert.Equal(new float[] { (float)Math.Sqrt(14), (float)Math.Sqrt(77) }, x.Norm(2, 1).ToArray<float>(), new FloatClose(1e-5f));
        Assert.Equal(720f, x.Prod().Item<float>());
        Assert.True(F(1, 2).Gt(0).All().Item<bool>());
        Assert.False(F(1, 2).Gt(1.5).All().Item<bool>());
        Assert.True(F(1, 2).Gt(1.5).Any().Item<bool>());
        Assert.Equal(Math.Log(Math.Exp(1) + Math.Exp(2)), F(1, 2).LogSumExp(0).ToDouble(), 5);
    }

    [Fact]
    public void ElementwiseFunctions()
    {
        var x = Tensor.FromArray(new double[] { -1, 0, 2 });
        Assert.Equal(new[] { Math.Exp(-1), 1, Math.Exp(2) }, x.Exp().ToArray<double>());
        Assert.Equal(new[] { 0, Math.Log(2) }, Tensor.FromArray(new double[] { 1, 2 }).Log().ToArray<double>());
        Assert.Equal(new double[] { 2, 3 }, Tensor.FromArray(new double[] { 4, 9 }).Sqrt().ToArray<double>());
        Assert.Equal(new double[] { 1, 0, 2 }, x.Abs().ToArray<double>());
        Assert.Equal(new double[] { 0, 0, 2 }, x.Relu().ToArray<double>());
        Assert.Equal(new[] { 1 / (1 + Math.E), 0.5, 1 / (1 + Math.Exp(-2)) }, x.Sigmoid().ToArray<double>(), new DoubleClose(1e-12));
        Assert.Equal(new[] { Math.Tanh(-1), 0, Math.Tanh(2) }, x.Tanh().ToArray<double>(), new DoubleClose(1e-12));
        Assert.Equal(new double[] { -0.5, 0, 1 }, x.Clamp(-0.5, 1).ToArray<double>());
        Assert.Equal(new double[] { 0, 0, 2 }, x.Clamp(min: 0).ToArray<double>());
        Assert.Equal(new double[] { 1, 0, 4 }, x.Square().ToArray<double>());
        var s = Tensor.FromArray(new double[] { 1, 2, 3 }).Softmax(0).ToArray<double>();
        var z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        Assert.Equal(new[] { Math.Exp(1) / z, Math.Exp(2) / z, Math.Exp(3) / z }, s, new DoubleClose(1e-12));
        var ls = Tensor.FromArray(new double[] { 1, 2, 3 }).LogSoftmax(0).ToArray<double>();
        Assert.Equal(new[] { 1 - Math.Log(z), 2 - Math.Log(z), 3 - Math.Log(z) }, ls, new DoubleClose(1e-12));
        Assert.Equal(new double[] { -1, 0, 1 }, x.Sign().ToArray<double>());
    }

    [Fact]
    public void ComparisonsWhereAndMasks()
    {
        var a = F(1, 2, 3);
        var b = F(3, 2, 1);
        Assert.Equal(new[] { false, true, false }, a.Eq(b).ToArray<bool>());
        Assert.Equal(new[] { true, false, true }, a.Ne(b).ToArray<bool>());
        Assert.Equal(new[] { true, false, false }, a.Lt(b).ToArray<bool>());
        Assert.Equal(new[] { true, true, false }, a.Le(b).ToArray<bool>());
        Assert.Equal(new[] { false, false, true }, a.Gt(b).ToArray<bool>());
        Assert.Equal(new[] { false, true, true }, a.Ge(2L).ToArray<bool>());
        Assert.Equal(new float[] { 3, 2, 3 }, Tensor.Where(a.Gt(b), a, b).ToArray<float>());
        Assert.Equal(new float[] { 1, -1, -1 }, a.MaskedFill(a.Ge(2), -1).ToArray<float>());
        var n = F(1, float.NaN, float.PositiveInfinity);
        Assert.Equal(new[] { false, true, false }, n.IsNaN().ToArray<bool>());
        Assert.Equal(new[] { true, false, false }, n.IsFinite().ToArray<bool>());
        Assert.True(a.AllClose(F(1, 2, 3.000001f)));
        Assert.False(a.AllClose(b));
    }

    [Fact]
    public void ShapeOps()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal(new long[] { 2, 3 }, x.Shape);
        Assert.Equal(new long[] { 3, 2 }, x.View(3, -1).Shape);
        Assert.Equal(new long[] { 0, 3, 1, 4, 2, 5 }, x.Transpose(0, 1).Contiguous().ToArray<long>());
        Assert.Equal(new long[] { 0, 3, 1, 4, 2, 5 }, x.Permute(1, 0).Flatten().ToArray<long>());
        Assert.Equal(new long[] { 0, 3, 1, 4, 2, 5 }, x.T.Reshape(-1).ToArray<long>());
        Assert.Equal(new long[] { 1, 2, 3 }, x.Unsqueeze(0).Shape);
        Assert.Equal(new long[] { 2, 3 }, x.Unsqueeze(0).Unsqueeze(-1).Squeeze().Shape);
        Assert.Equal(new long[] { 2, 3, 1 }, x.Unsqueeze(0).Unsqueeze(-1).Squeeze(0).Shape);
        Assert.Equal(new long[] { 6 }, x.Flatten().Shape);
        Assert.Equal(new long[] { 2, 2, 3 }, x.Unsqueeze(0).Expand(2, -1, -1).Shape);
        Assert.Equal(new long[] { 0, 1, 2, 0, 1, 2 }, Tensor.Arange(3).Repeat(2).ToArray<long>());
        Assert.Equal(new long[] { 2, 1, 0, 5, 4, 3 }, x.Flip(1).ToArray<long>());
        Assert.Equal(new long[] { 2, 0, 1, 5, 3, 4 }, x.Roll(1, 1).ToArray<long>());
        Assert.Equal(new long[] { 1, 2, 4, 5 }, x.Narrow(1, 1, 2).ToArray<long>());
        Assert.Equal(new long[] { 3, 4, 5 }, x.Select(0, 1).ToArray<long>());
        Assert.Equal(new long[] { 0, 2, 3, 5 }, x.Slice(1, 0, 3, 2).ToArray<long>());
    }

    [Fact]
    public void RangeIndexing()
    {
        var x = Tensor.Arange(12).Reshape(3, 4);
        Assert.Equal(new long[] { 4, 5, 6, 7 }, x[1].ToArray<long>());
        Assert.Equal(new long[] { 5, 6 }, x[1, 1..3].ToArray<long>());
        Assert.Equal(new long[] { 8, 9, 10, 11 }, x[^1].ToArray<long>());
        Assert.Equal(new long[] { 3, 7 }, x[..2, ^1].ToArray<long>());
        Assert.Equal(new long[] { 1, 3, 9, 11 }, x[TensorIndex.Slice(0, null, 2), TensorIndex.Slice(1, null, 2)].ToArray<long>());
        Assert.Equal(new long[] { 1, 3, 4 }, x[TensorIndex.NewAxis].Shape);
        Assert.Equal(new long[] { 3 }, x[TensorIndex.Ellipsis, 0].Shape);
        Assert.Equal(new long[] { 3, 2 }, x[TensorIndex.All, 2..].Shape);
    }

    [Fact]
    public void JoinSplitAndChunk()
    {
        var a = F(1, 2);
        var b = F(3, 4);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, Tensor.Cat([a, b]).ToArray<float>());
        var stacked = Tensor.Stack([a, b], 1);
        Assert.Equal(new long[] { 2, 2 }, stacked.Shape);
        Assert.Equal(new float[] { 1, 3, 2, 4 }, stacked.ToArray<float>());
        var parts = Tensor.Arange(5).Split(2);
        Assert.Equal(3, parts.Length);
        Assert.Equal(new long[] { 4 }, parts[2].ToArray<long>());
        var sized = Tensor.Arange(5).Split([1, 4]);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, sized[1].ToArray<long>());
        var chunks = Tensor.Arange(6).Reshape(2, 3).Chunk(3, 1);
        Assert.Equal(3, chunks.Length);
        Assert.Equal(new long[] { 2, 5 }, chunks[2].ToArray<long>());
    }

    [Fact]
    public void GatherScatterAndIndexSelect()
    {
        var x = F(new float[] { 1, 2, 3, 4 }, 2, 2);
        Assert.Equal(new float[] { 1, 1, 4, 3 }, x.Gather(1, Tensor.FromArray(new long[] { 0, 0, 1, 0 }, 2, 2)).ToArray<float>());
        Assert.Equal(new float[] { 3, 4 }, x.IndexSelect(0, L(1)).ToArray<float>());
        var z = Tensor.Zeros([2, 3]);
        var idx = Tensor.FromArray(new long[] { 2, 0 }, 2, 1);
        Assert.Equal(new float[] { 0, 0, 5, 7, 0, 0 }, z.Scatter(1, idx, F(new float[] { 5, 7 }, 2, 1)).ToArray<float>());
        Assert.Equal(new float[] { 0, 0, 1, 1, 0, 0 }, z.Scatter(1, idx, 1.0).ToArray<float>());
        var acc = Tensor.Zeros([3]).ScatterAdd_(0, L(0, 2, 0), F(1, 2, 3));
        Assert.Equal(new float[] { 4, 0, 2 }, acc.ToArray<float>());
    }

    [Fact]
    public void PadOneHotMatmul()
    {
        var x = F(1, 2).Reshape(1, 1, 2);
        Assert.Equal(new float[] { 0, 1, 2, 0, 0 }, x.Pad([1, 2]).ToArray<float>());
        Assert.Equal(new float[] { 9, 1, 2, 9 }, x.Pad([1, 1], value: 9).ToArray<float>());
        Assert.Equal(new float[] { 2, 1, 2, 1 }, x.Pad([1, 1], PadMode.Reflect).ToArray<float>());
        Assert.Equal(new float[] { 1, 1, 2, 2 }, x.Pad([1, 1], PadMode.Replicate).ToArray<float>());
        Assert.Equal(new long[] { 0, 1, 0, 0, 0, 1 }, L(1, 2).OneHot(3).ToArray<long>());
        var m = F(new float[] { 1, 2, 3, 4 }, 2, 2);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, m.Matmul(m).ToArray<float>());
        Assert.Equal(new float[] { 7, 10, 15, 22 }, m.Mm(m).ToArray<float>());
        Assert.Equal(new float[] { 5, 11 }, m.Matmul(F(1, 2)).ToArray<float>());
        var batch = Tensor.Stack([m, Tensor.Eye(2)]);
        Assert.Equal(new float[] { 7, 10, 15, 22, 1, 2, 3, 4 }, batch.Bmm(Tensor.Stack([m, m])).ToArray<float>());
    }

    [Fact]
    public void Factories()
    {
        Assert.Equal(new float[] { 1, 1 }, Tensor.Ones([2]).ToArray<float>());
        Assert.Equal(new double[] { 2.5, 2.5 }, Tensor.Full([2], 2.5, DType.Float64).ToArray<double>());
        Assert.Equal(new long[] { 7 }, Tensor.Full([1], 7L, DType.Int64).ToArray<long>());
        Assert.Equal(new float[] { 0, 0.5f, 1 }, Tensor.Linspace(0, 1, 3).ToArray<float>());
        Assert.Equal(new float[] { 1, 1.5f, 2, 2.5f }, Tensor.Arange(1, 3, 0.5).ToArray<float>());
        Assert.Equal(new long[] { 0, 1, 2 }, Tensor.Arange(3).ToArray<long>());
        Assert.Equal(new float[] { 1, 0, 0, 0, 1, 0 }, Tensor.Eye(2, 3).ToArray<float>());
        Assert.Equal(new long[] { 3, 4 }, Tensor.Empty([3, 4]).Shape);
        var r = Tensor.RandInt(2, 5, [1000]).ToArray<long>();
        Assert.All(r, v => Assert.InRange(v, 2, 4));
        Assert.Equal(3, r.Distinct().Count());
        var u = Tensor.Rand([1000]).ToArray<float>();
        Assert.All(u, v => Assert.InRange(v, 0f, 1f));
        Assert.InRange(Tensor.Randn([10000]).Std().ToDouble(), 0.95, 1.05);
        Assert.Equal(0f, Tensor.Scalar(0.0).Item<float>());
        Assert.Equal(Array.Empty<long>(), Tensor.Scalar(3.0).Shape);
        Assert.Equal(new float[] { 0, 0 }, F(4, 5).ZerosLike().ToArray<float>());
    }

    [Fact]
    public void ConversionsCloneItemAndToString()
    {
        var x = F(1.5f, 2.5f);
        var d = x.To(DType.Float64);
        Assert.Equal(DType.Float64, d.DType);
        Assert.Equal(new long[] { 1, 2 }, x.To(DType.Int64).ToArray<long>());
        Assert.Equal(Device.Cpu, x.To(Device.Cpu).Device);
        var c = x.Clone();
        c.Add_(1.0);
        Assert.Equal(new float[] { 1.5f, 2.5f }, x.ToArray<float>());
        Assert.Equal(2.5f, x[1].Item<float>());
        Assert.Equal(2.5, x[1].ToDouble());
        Assert.Equal("Tensor(shape=[2], dtype=Float32, device=cpu)", x.ToString());
        Assert.Equal("Tensor(shape=[2, 1], dtype=Float64, device=cpu, requires_grad)",
            Tensor.Zeros([2, 1], DType.Float64, requiresGrad: true).ToString());
        Assert.Equal(2, x.NumElements);
        Assert.Equal(2, x.Size(-1));
        Assert.Equal(1, x.Dim);
    }
}

/// <summary>Tests that change process-wide state (the global generator, determinism) run alone.</summary>
[CollectionDefinition(nameof(GlobalStateCollection), DisableParallelization = true)]
public sealed class GlobalStateCollection;

[Collection(nameof(GlobalStateCollection))]
public sealed class GlobalStateTests
{
    [Fact]
    public void ManualSeedReproducesDraws()
    {
        Torch.ManualSeed(42);
        using var scope = Torch.NewDisposeScope();
        var first = Tensor.Randn([5]).ToArray<float>();
        Torch.ManualSeed(42);
        Assert.Equal(first, Tensor.Randn([5]).ToArray<float>());
    }

    [Fact]
    public void DeterministicSwitch()
    {
        var before = Torch.IsDeterministic;
        try
        {
            Torch.SetDeterministic(true);
            Assert.True(Torch.IsDeterministic);
            Torch.SetDeterministic(false);
            Assert.False(Torch.IsDeterministic);
        }
        finally
        {
            Torch.SetDeterministic(before);
        }
    }
}

internal sealed class FloatClose(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
    public int GetHashCode(float obj) => 0;
}

internal sealed class DoubleClose(double tolerance) : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
    public int GetHashCode(double obj) => 0;
}
