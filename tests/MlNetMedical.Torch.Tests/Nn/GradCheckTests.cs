using MlNetMedical.Torch.Nn;
using Xunit;
using F = MlNetMedical.Torch.Nn.Functional;

namespace MlNetMedical.Torch.Tests.Nn;

/// <summary>Autograd gradients of every layer and loss against finite differences, in float64, on tiny tensors.
/// Not run in parallel with other tests: the dropout checks reseed the global generator before each evaluation.</summary>
[Collection(nameof(GlobalStateCollection))]
public class GradCheckTests
{
    private static Tensor R(params long[] shape) => Tensor.Randn(shape, DType.Float64, requiresGrad: true);

    private static void Check(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        using var scope = Torch.NewDisposeScope();
        GradCheck.Run(f, inputs).ThrowIfFailed();
    }

    public static TheoryData<int> Dims => new() { 1, 2, 3 };

    [Theory]
    [MemberData(nameof(Dims))]
    public void ConvolutionsAndPools(int d)
    {
        Torch.ManualSeed(1);
        using var scope = Torch.NewDisposeScope();
        long[] sp(long s) => Enumerable.Repeat(s, d).ToArray();
        var x = R([1, 2, .. sp(4)]);
        Check(a => F.Conv(a[0], a[1], a[2], stride: [2], padding: [1]), x, R([3, 2, .. sp(2)]), R(3));
        var small = R([1, 2, .. sp(2)]);
        Check(a => F.ConvTranspose(a[0], a[1], a[2], stride: [2]), small, R([2, 3, .. sp(2)]), R(3));
        Check(a => F.MaxPool(a[0], [2]), x);
        Check(a => F.AvgPool(a[0], [2], padding: [1], countIncludePad: false), x);
        Check(a => F.AdaptiveAvgPool(a[0], [3]), x);
        Check(a => F.AdaptiveMaxPool(a[0], [1]), x);
        Check(a => F.Interpolate(a[0], scaleFactor: [2]), small);
        Check(a => F.Interpolate(a[0], size: [3], mode: InterpolationMode.Linear, alignCorners: true), small);
    }

    [Theory]
    [MemberData(nameof(Dims))]
    public void Normalisations(int d)
    {
        Torch.ManualSeed(2);
        using var scope = Torch.NewDisposeScope();
        var x = R([2, 4, .. Enumerable.Repeat(3L, d)]);
        Check(a => F.BatchNorm(a[0], null, null, a[1], a[2], training: true), x, R(4), R(4));
        using var rm = Tensor.Zeros([4], DType.Float64);
        using var rv = Tensor.Ones([4], DType.Float64);
        Check(a => F.BatchNorm(a[0], rm, rv, a[1], a[2], training: false), x, R(4), R(4));
        Check(a => F.InstanceNorm(a[0], weight: a[1], bias: a[2]), x, R(4), R(4));
        Check(a => F.GroupNorm(a[0], 2, a[1], a[2]), x, R(4), R(4));
    }

    [Fact]
    public void DenseLayersActivationsAndDropout()
    {
        Torch.ManualSeed(3);
        using var scope = Torch.NewDisposeScope();
        var x = R(3, 4);
        Check(a => F.Linear(a[0], a[1], a[2]), x, R(5, 4), R(5));
        Check(a => F.LayerNorm(a[0], [4], a[1], a[2]), x, R(4), R(4));
        Check(a => F.Prelu(a[0], a[1]), x, R(1));
        Check(a => F.LeakyRelu(a[0], 0.1), x);
        Check(a => F.Gelu(a[0]), x);
        Check(a => F.Gelu(a[0], tanhApproximation: true), x);
        Check(a => F.Elu(a[0]), x);
        Check(a => F.Silu(a[0]), x);
        // The same seed before each evaluation fixes the dropout mask.
        Check(a => { Torch.ManualSeed(9); return F.Dropout(a[0], 0.4); }, x);
        var img = R(1, 3, 2, 2);
        Check(a => { Torch.ManualSeed(9); return F.Dropout(a[0], 0.4, channelwise: true); }, img);
    }

    [Fact]
    public void AffineGridAndGridSample2DAnd3D()
    {
        Torch.ManualSeed(4);
        using var scope = Torch.NewDisposeScope();
        using var theta2 = Tensor.FromArray(new double[] { 0.9, 0.1, 0.05, -0.1, 0.8, 0.02 }, 1, 2, 3).RequiresGrad_();
        Check(a => F.AffineGrid(a[0], [1, 1, 3, 3]), theta2);
        Tensor grid2;
        using (Torch.NoGrad()) grid2 = F.AffineGrid(theta2, [1, 1, 3, 3]);
        grid2.RequiresGrad = true;
        Check(a => F.GridSample(a[0], a[1], padding: GridPadding.Border), R(1, 2, 4, 4), grid2);

        using var theta3 = Tensor.FromArray(new double[] { 0.9, 0.1, 0, 0.05, -0.1, 0.8, 0.1, 0.02, 0, 0.1, 0.85, -0.03 }, 1, 3, 4).RequiresGrad_();
        Check(a => F.AffineGrid(a[0], [1, 1, 2, 3, 3], alignCorners: true), theta3);
        Tensor grid3;
        using (Torch.NoGrad()) grid3 = F.AffineGrid(theta3, [1, 1, 2, 3, 3], alignCorners: true);
        grid3.RequiresGrad = true;
        Check(a => F.GridSample(a[0], a[1], alignCorners: true), R(1, 1, 3, 3, 3), grid3);
    }

    [Fact]
    public void Losses_()
    {
        Torch.ManualSeed(5);
        using var scope = Torch.NewDisposeScope();
        var logits = R(2, 3, 2, 2);
        var labels = Tensor.FromArray(new long[] { 0, 1, 2, 1, 2, 2, 0, -100 }, 2, 2, 2);
        var valid = Tensor.FromArray(new long[] { 0, 1, 2, 1, 2, 2, 0, 1 }, 2, 2, 2);
        var w = Tensor.FromArray(new double[] { 0.2, 1.0, 3.0 });
        Check(a => Losses.CrossEntropy(a[0], labels, w, labelSmoothing: 0.1), logits);
        Check(a => Losses.Nll(F.LogSoftmax(a[0], 1), labels, w), logits);
        var probs = Tensor.Rand([2, 3, 2, 2], DType.Float64);
        Check(a => Losses.CrossEntropy(a[0], probs), logits);
        var bin = Tensor.Rand([4, 3], DType.Float64);
        var pos = Tensor.FromArray(new double[] { 1, 2, 3 });
        Check(a => Losses.BceWithLogits(a[0], bin, posWeight: pos), R(4, 3));
        var y = Tensor.Randn([4, 3], DType.Float64);
        Check(a => Losses.Mse(a[0], y), R(4, 3));
        Check(a => Losses.L1(a[0], y), R(4, 3));
        Check(a => Losses.SmoothL1(a[0], y, beta: 0.5), R(4, 3));
        Check(a => Losses.Dice(a[0], valid), logits);
        Check(a => Losses.Dice(a[0], valid, includeBackground: false, batch: true, reduction: Reduction.Sum), logits);
        Check(a => Losses.Dice(a[0], bin.Unsqueeze(2), DiceActivation.Sigmoid), R(4, 3, 1));
        Check(a => Losses.DiceCrossEntropy(a[0], valid, lambdaDice: 0.7, lambdaCe: 0.3), logits);
        Check(a => Losses.Focal(a[0], labels, gamma: 2, weight: w), logits);
        Check(a => Losses.Focal(a[0], bin, gamma: 1.5, alpha: 0.25), R(4, 3));
    }
}
