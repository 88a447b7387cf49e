using MlNetMedical.Torch.Nn;
using Xunit;

namespace MlNetMedical.Torch.Tests.Nn;

public class LayerTests
{
    private static long[] Input(int spatialDims, long n = 2, long c = 3, long size = 8) =>
        [n, c, .. Enumerable.Repeat(size, spatialDims)];

    private static long[] Spatial(int dims, long size) => Enumerable.Repeat(size, dims).ToArray();

    private static long[] Shape(Module m, long[] inputShape)
    {
        using var x = Tensor.Zeros(inputShape);
        using var y = m.Forward(x);
        return y.Shape;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void SpatialLayersServeOneTwoAndThreeDims(int d)
    {
        var input = Input(d);
        using (var conv = new Conv(d, 3, 5, 3, stride: 2, padding: 1))
        {
            Assert.Equal([2, 5, .. Spatial(d, 4)], Shape(conv, input));
            Assert.Equal([5, 3, .. Spatial(d, 3)], conv.Weight.Shape);
        }
        using (var up = new ConvTranspose(d, 3, 4, 2, stride: 2)) Assert.Equal([2, 4, .. Spatial(d, 16)], Shape(up, input));
        using (var pool = new MaxPool(d, 2)) Assert.Equal([2, 3, .. Spatial(d, 4)], Shape(pool, input));
        using (var pool = new AvgPool(d, 2)) Assert.Equal([2, 3, .. Spatial(d, 4)], Shape(pool, input));
        using (var pool = new AdaptiveAvgPool(d, [1])) Assert.Equal([2, 3, .. Spatial(d, 1)], Shape(pool, input));
        using (var pool = new AdaptiveMaxPool(d, [3])) Assert.Equal([2, 3, .. Spatial(d, 3)], Shape(pool, input));
        using (var bn = new BatchNorm(d, 3)) Assert.Equal(input, Shape(bn, input));
        using (var inorm = new InstanceNorm(d, 3, affine: true)) Assert.Equal(input, Shape(inorm, input));
        using (var gn = new GroupNorm(1, 3)) Assert.Equal(input, Shape(gn, input));
        using (var drop = new Dropout(0.5, channelwise: true)) Assert.Equal(input, Shape(drop, input));
        using (var nearest = new Upsample(scaleFactor: [2])) Assert.Equal([2, 3, .. Spatial(d, 16)], Shape(nearest, input));
        using (var linear = new Upsample(size: [5], mode: InterpolationMode.Linear, alignCorners: true)) Assert.Equal([2, 3, .. Spatial(d, 5)], Shape(linear, input));
    }

    [Fact]
    public void DenseLayersAndActivationsKeepOrMapShapes()
    {
        using var lin = new Linear(4, 6);
        Assert.Equal(new long[] { 3, 6 }, Shape(lin, [3, 4]));
        using var ln = new LayerNorm([4]);
        Assert.Equal(new long[] { 3, 4 }, Shape(ln, [3, 4]));
        using var flat = new Flatten();
        Assert.Equal(new long[] { 2, 60 }, Shape(flat, [2, 3, 4, 5]));
        Module[] elementwise = [new Identity(), new ReLU(), new LeakyReLU(0.2), new PReLU(), new GELU(), new Sigmoid(), new Tanh(), new Softmax(1)];
        foreach (var m in elementwise)
            using (m) Assert.Equal(new long[] { 2, 3 }, Shape(m, [2, 3]));
    }

    [Fact]
    public void ActivationsComputeTheirFormulas()
    {
        using var x = Tensor.FromArray(new float[] { -2, 0, 3 });
        using (var y = Functional.Relu(x)) Assert.Equal(new float[] { 0, 0, 3 }, y.ToArray<float>());
        using (var y = Functional.LeakyRelu(x, 0.5)) Assert.Equal(new float[] { -1, 0, 3 }, y.ToArray<float>());
        using (var prelu = new PReLU(1, 0.25))
        using (var y = prelu.Forward(x)) Assert.Equal(new float[] { -0.5f, 0, 3 }, y.ToArray<float>());
        using (var y = Functional.Sigmoid(x)) Assert.Equal(0.5f, y.ToArray<float>()[1]);
        using (var y = Functional.Softmax(x, 0)) Assert.Equal(1.0, y.ToArray<float>().Sum(), 5);
    }

    [Fact]
    public void BatchNormUsesBatchStatsInTrainingAndRunningStatsInEval()
    {
        using var bn = new BatchNorm(1, 1, momentum: 0.5);
        using var x = Tensor.FromArray(new float[] { 1, 3, 5, 7 }, 4, 1);
        using (var y = bn.Forward(x))
        {
            var v = y.ToArray<float>();
            Assert.Equal(0, v.Average(), 5);
        }
        // running_mean = 0.5·0 + 0.5·4; running_var (unbiased, 20/3) = 0.5·1 + 0.5·6.667
        Assert.Equal(2f, bn.RunningMean!.ToArray<float>()[0], 5);
        Assert.Equal(0.5f + 0.5f * 20f / 3, bn.RunningVar!.ToArray<float>()[0], 4);
        bn.Eval();
        using var y2 = bn.Forward(x);
        Assert.Equal((1 - 2) / MathF.Sqrt(0.5f + 10f / 3 + 1e-5f), y2.ToArray<float>()[0], 4);
    }

    [Fact]
    public void DropoutIsIdentityInEvalAndScalesInTraining()
    {
        using var drop = new Dropout(0.5);
        using var x = Tensor.FromArray(Enumerable.Repeat(1f, 1000).ToArray());
        using (var y = drop.Forward(x))
        {
            var v = y.ToArray<float>();
            Assert.All(v, e => Assert.True(e == 0 || e == 2));
            Assert.InRange(v.Count(e => e == 0), 380, 620);
        }
        drop.Eval();
        using var z = drop.Forward(x);
        Assert.All(z.ToArray<float>(), e => Assert.Equal(1, e));
    }

    [Fact]
    public void IdentityAffineGridSampleReproducesInput2DAnd3D()
    {
        using var img = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)i).ToArray(), 1, 1, 4, 4);
        using var theta = Tensor.FromArray(new float[] { 1, 0, 0, 0, 1, 0 }, 1, 2, 3);
        using var grid = Functional.AffineGrid(theta, [1, 1, 4, 4], alignCorners: false);
        Assert.Equal(new long[] { 1, 4, 4, 2 }, grid.Shape);
        using var same = Functional.GridSample(img, grid);
        Assert.Equal(img.ToArray<float>(), same.ToArray<float>());

        using var vol = Tensor.FromArray(Enumerable.Range(0, 27).Select(i => (float)i).ToArray(), 1, 1, 3, 3, 3);
        using var theta3 = Tensor.FromArray(new float[] { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0 }, 1, 3, 4);
        using var grid3 = Functional.AffineGrid(theta3, [1, 1, 3, 3, 3], alignCorners: true);
        Assert.Equal(new long[] { 1, 3, 3, 3, 3 }, grid3.Shape);
        using var same3 = Functional.GridSample(vol, grid3, alignCorners: true);
        var expected = vol.ToArray<float>();
        var got = same3.ToArray<float>();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], got[i], 4);

        // A horizontal flip (x → −x) mirrors each row.
        using var flip = Tensor.FromArray(new float[] { -1, 0, 0, 0, 1, 0 }, 1, 2, 3);
        using var fgrid = Functional.AffineGrid(flip, [1, 1, 4, 4]);
        using var flipped = Functional.GridSample(img, fgrid, InterpolationMode.Nearest);
        Assert.Equal(new float[] { 3, 2, 1, 0 }, flipped.ToArray<float>()[..4]);
    }

    [Fact]
    public void BadArgumentsNameTheProblem()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv(4, 1, 1, 3));
        Assert.Contains("divisible", Assert.Throws<ArgumentException>(() => new Conv(2, 3, 4, [3], groups: 2)).Message);
        using var conv = new Conv(2, 3, 4, 3);
        using var wrong = Tensor.Zeros([1, 2, 8, 8]);
        Assert.Throws<TorchException>(() => conv.Forward(wrong));
        using var bn = new BatchNorm(3, 2);
        using var flat = Tensor.Zeros([1, 2, 4, 4]);
        Assert.Contains("5-d input", Assert.Throws<ArgumentException>(() => bn.Forward(flat)).Message);
        Assert.Throws<ArgumentException>(() => new Upsample());
    }

    [Fact]
    public void InitialisersFollowTheirBounds()
    {
        using var w = Tensor.Zeros([64, 32, 3, 3]);
        Init.KaimingUniform(w, 0, nonlinearity: Nonlinearity.Relu);
        var bound = Math.Sqrt(2) * Math.Sqrt(3.0 / (32 * 9));
        Assert.All(w.ToArray<float>(), v => Assert.InRange(v, -bound - 1e-6, bound + 1e-6));
        Init.XavierUniform(w);
        var xb = Math.Sqrt(6.0 / (32 * 9 + 64 * 9));
        Assert.All(w.ToArray<float>(), v => Assert.InRange(v, -xb - 1e-6, xb + 1e-6));
        Init.Constant(w, 0.5);
        Assert.All(w.ToArray<float>(), v => Assert.Equal(0.5f, v));
        Init.Zeros(w);
        Assert.All(w.ToArray<float>(), v => Assert.Equal(0f, v));
        Init.KaimingNormal(w, fanOut: true);
        var std = Math.Sqrt(w.ToArray<float>().Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.9 * Math.Sqrt(2.0 / (64 * 9)) * Math.Sqrt(1.0), 1.1 * Math.Sqrt(2.0 / (64 * 9)));
    }
}
