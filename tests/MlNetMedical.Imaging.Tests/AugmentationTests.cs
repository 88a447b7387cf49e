using MlNetMedical.Imaging.Augmentation;
using MlNetMedical.Torch;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

public class AugmentationTests
{
    private static Tensor Images(int n, int c, params long[] spatial)
    {
        long count = n * c * spatial.Aggregate(1L, (a, b) => a * b);
        var rng = new Random(5);
        return Tensor.FromSpan<float>(Enumerable.Range(0, (int)count).Select(_ => (float)rng.NextDouble()).ToArray(), [n, c, .. spatial]);
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
            using var expected = dims.Count == 0 ? x.Narrow(0, b, 1).Clone() : x.Narrow(0, b, 1).Flip(dims.ToArray());
            using var got = r.Images.Narrow(0, b, 1);
            var e = expected.ToArray<float>();
            var g = got.ToArray<float>();
            for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - g[i]) < 1e-5, $"{e[i]} vs {g[i]}"); // grid_sample at voxel centres, float32 grid
        }
        r.Images.Dispose();
    }

    [Fact]
    public void SameSampleAndEpochGiveTheSameResultInAnyBatch()
    {
        using var x = Images(2, 1, 16, 16);
        using var swapped = Tensor.Cat([x.Narrow(0, 1, 1), x.Narrow(0, 0, 1)], 0);
        var cfg = new AugmentationConfig { FlipProbability = 0.5, AffineProbability = 1, ElasticProbability = 1, GammaProbability = 1, NoiseProbability = 1, BlurProbability = 1, BiasFieldProbability = 1, IntensityProbability = 1, Rotate90Probability = 0.5 };
        var aug = new Augmenter(cfg, seed: 42);
        var a = aug.Apply(x, null, ["p1", "p2"], epoch: 3);
        var b = aug.Apply(swapped, null, ["p2", "p1"], epoch: 3);
        Assert.Equal(a.Images.Narrow(0, 0, 1).ToArray<float>(), b.Images.Narrow(0, 1, 1).ToArray<float>());
        Assert.Equal(a.Images.Narrow(0, 1, 1).ToArray<float>(), b.Images.Narrow(0, 0, 1).ToArray<float>());
        var c = aug.Apply(x, null, ["p1", "p2"], epoch: 4);
        Assert.NotEqual(a.Images.ToArray<float>(), c.Images.ToArray<float>());
        Assert.All(a.Images.ToArray<float>(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void LabelsStayNearestThroughAffineAndElastic()
    {
        using var x = Images(2, 1, 8, 12, 12);
        var labelData = Enumerable.Range(0, 2 * 8 * 12 * 12).Select(i => (long)(i % 7 == 0 ? 3 : i % 5 == 0 ? 1 : 0)).ToArray();
        using var y = Tensor.FromSpan<long>(labelData, [2, 1, 8, 12, 12]);
        var aug = new Augmenter(new AugmentationConfig { AffineProbability = 1, ElasticProbability = 1, RotateDegrees = 30 }, seed: 9);
        var r = aug.Apply(x, y, ["a", "b"], epoch: 0);
        Assert.Equal(DType.Int64, r.Labels!.DType);
        Assert.Equal(y.Shape, r.Labels.Shape);
        Assert.All(r.Labels.ToArray<long>(), v => Assert.Contains(v, new long[] { 0, 1, 3 }));
        Assert.NotEqual(labelData, r.Labels.ToArray<long>());
    }

    [Fact]
    public void IntensityScaleAndShiftFollowTheDrawnValues()
    {
        using var x = Images(3, 2, 5, 7);
        var r = new Augmenter(new AugmentationConfig { IntensityProbability = 1 }, seed: 3).Apply(x, null, ["a", "b", "c"], epoch: 1);
        for (int b = 0; b < 3; b++)
        {
            var p = r.Parameters[b];
            var expected = x.Narrow(0, b, 1).ToArray<float>().Select(v => (float)(v * p.Scale + p.Shift)).ToArray();
            var got = r.Images.Narrow(0, b, 1).ToArray<float>();
            for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(expected[i] - got[i]) < 1e-5, $"{expected[i]} vs {got[i]}");
        }
    }
}
