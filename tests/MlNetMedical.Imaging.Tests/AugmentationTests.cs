using MlNetMedical.Imaging.Augmentation;
using TorchSharp;
using Tensor = TorchSharp.torch.Tensor;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

public class AugmentationTests
{
    private static Tensor Images(int n, int c, params long[] spatial)
    {
        long count = n * c * spatial.Aggregate(1L, (a, b) => a * b);
        var rng = new Random(5);
        return torch.tensor(Enumerable.Range(0, (int)count).Select(_ => (float)rng.NextDouble()).ToArray(), [n, c, .. spatial]);
    }

    [Fact]
    public void FlipsMatchTheDrawnParametersToFloatRounding()
    {
        using var x = Images(4, 2, 6, 5, 4);
        var aug = new Augmenter(new AugmentationConfig { FlipProbability = 1 }, seed: 1);
        var r = aug.Apply(x, null, ["a", "b", "c", "d"], epoch: 0);
        for (int b = 0; b < 4; b++)
        {
            var theta = r.Parameters[b].Theta; // 3x4, x = last tensor axis
            var dims = new List<long>();
            for (int a = 0; a < 3; a++) if (theta[a * 4 + a] < 0) dims.Add(4 - a);
            using var expected = dims.Count == 0 ? x.narrow(0, b, 1).clone() : x.narrow(0, b, 1).flip(dims.ToArray());
            using var got = r.Images.narrow(0, b, 1);
            var e = expected.ToHostArray<float>();
            var g = got.ToHostArray<float>();
            for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - g[i]) < 1e-5, $"{e[i]} vs {g[i]}"); // grid_sample at voxel centres, float32 grid
        }
        r.Images.Dispose();
    }

    [Fact]
    public void SameSampleAndEpochGiveTheSameResultInAnyBatch()
    {
        using var x = Images(2, 1, 16, 16);
        using var swapped = torch.cat([x.narrow(0, 1, 1), x.narrow(0, 0, 1)], 0);
        var cfg = new AugmentationConfig { FlipProbability = 0.5, AffineProbability = 1, ElasticProbability = 1, GammaProbability = 1, NoiseProbability = 1, BlurProbability = 1, BiasFieldProbability = 1, IntensityProbability = 1, Rotate90Probability = 0.5 };
        var aug = new Augmenter(cfg, seed: 42);
        var a = aug.Apply(x, null, ["p1", "p2"], epoch: 3);
        var b = aug.Apply(swapped, null, ["p2", "p1"], epoch: 3);
        Assert.Equal(a.Images.narrow(0, 0, 1).ToHostArray<float>(), b.Images.narrow(0, 1, 1).ToHostArray<float>());
        Assert.Equal(a.Images.narrow(0, 1, 1).ToHostArray<float>(), b.Images.narrow(0, 0, 1).ToHostArray<float>());
        var c = aug.Apply(x, null, ["p1", "p2"], epoch: 4);
        Assert.NotEqual(a.Images.ToHostArray<float>(), c.Images.ToHostArray<float>());
        Assert.All(a.Images.ToHostArray<float>(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void LabelsStayNearestThroughAffineAndElastic()
    {
        using var x = Images(2, 1, 8, 12, 12);
        var labelData = Enumerable.Range(0, 2 * 8 * 12 * 12).Select(i => (long)(i % 7 == 0 ? 3 : i % 5 == 0 ? 1 : 0)).ToArray();
        using var y = torch.tensor(labelData, [2, 1, 8, 12, 12]);
        var aug = new Augmenter(new AugmentationConfig { AffineProbability = 1, ElasticProbability = 1, RotateDegrees = 30 }, seed: 9);
        var r = aug.Apply(x, y, ["a", "b"], epoch: 0);
        Assert.Equal(torch.ScalarType.Int64, r.Labels!.dtype);
        Assert.Equal(y.shape, r.Labels.shape);
        Assert.All(r.Labels.ToHostArray<long>(), v => Assert.Contains(v, new long[] { 0, 1, 3 }));
        Assert.NotEqual(labelData, r.Labels.ToHostArray<long>());
    }

    [Fact]
    public void IntensityScaleAndShiftFollowTheDrawnValues()
    {
        using var x = Images(3, 2, 5, 7);
        var r = new Augmenter(new AugmentationConfig { IntensityProbability = 1 }, seed: 3).Apply(x, null, ["a", "b", "c"], epoch: 1);
        for (int b = 0; b < 3; b++)
        {
            var p = r.Parameters[b];
            var expected = x.narrow(0, b, 1).ToHostArray<float>().Select(v => (float)(v * p.Scale + p.Shift)).ToArray();
            var got = r.Images.narrow(0, b, 1).ToHostArray<float>();
            for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(expected[i] - got[i]) < 1e-5, $"{expected[i]} vs {got[i]}");
        }
    }

    [Theory]
    [InlineData(2, 1, false)]
    [InlineData(3, 2, false)]
    [InlineData(2, 3, false)]
    [InlineData(3, 3, true)] // large enough for libtorch to pick oneDNN for the grouped convolution
    [InlineData(2, 5, true)]
    public void BlurMatchesASeparableGaussianReference(int dims, int channels, bool large)
    {
        long[] spatial = (dims, large) switch { (2, false) => [9, 11], (2, true) => [64, 72], (_, false) => [5, 7, 6], _ => [12, 20, 24] };
        using var x = Images(2, channels, spatial);
        var r = new Augmenter(new AugmentationConfig { BlurProbability = 1, BlurSigmaMax = 1.5 }, seed: 7).Apply(x, null, ["a", "b"], epoch: 0);
        var input = x.ToHostArray<float>();
        var got = r.Images.ToHostArray<float>();
        long per = input.Length / 2;
        for (int b = 0; b < 2; b++)
        {
            double sigma = r.Parameters[b].BlurSigma;
            Assert.True(sigma > 0);
            var expected = ReferenceBlur(input.AsSpan((int)(b * per), (int)per).ToArray(), channels, spatial, sigma);
            for (int i = 0; i < per; i++)
                Assert.True(Math.Abs(expected[i] - got[b * per + i]) < 1e-5, $"sample {b} element {i}: {got[b * per + i]} vs {expected[i]}");
        }
        r.Images.Dispose();
    }

    /// <summary>Zero-padded separable Gaussian along each tensor axis, divided by the blurred ones-image (as Augmenter does).</summary>
    private static double[] ReferenceBlur(float[] sample, int channels, long[] spatial, double sigma)
    {
        int radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var k = Enumerable.Range(-radius, 2 * radius + 1).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray();
        double sum = k.Sum();
        var w = k.Select(v => (double)(float)(v / sum)).ToArray();
        var cur = sample.Select(v => (double)v).ToArray();
        int n = spatial.Length;
        for (int axis = 0; axis < n; axis++)
        {
            long stride = 1;
            for (int a = axis + 1; a < n; a++) stride *= spatial[a];
            long len = spatial[axis];
            var next = new double[cur.Length];
            for (long i = 0; i < cur.Length; i++)
            {
                long pos = i / stride % len;
                double acc = 0, norm = 0;
                for (int t = -radius; t <= radius; t++)
                {
                    long q = pos + t;
                    if (q < 0 || q >= len) continue;
                    acc += w[t + radius] * cur[i + t * stride];
                    norm += w[t + radius];
                }
                next[i] = acc / norm;
            }
            cur = next;
        }
        return cur;
    }
}
