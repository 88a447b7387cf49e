using MlNetMedical.Imaging.Augmentation;
using MlNetMedical.Imaging.Preprocessing;
using TorchSharp;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

public class TensorLifetimeTests
{
    /// <summary>Every temporary is freed inside the calls: only the results stay alive until the caller disposes them.</summary>
    [Fact]
    public void TensorOperationsLeaveOnlyTheirResultsAlive()
    {
        var stats = DisposeScopeManager.Statistics;
        var v = Volume.Create<short>(Enumerable.Range(0, 2 * 8 * 10 * 12).Select(i => (short)(i % 97)).ToArray(), [12, 10, 8, 2], spatialRank: 3);
        long before = stats.ThreadTotalLiveCount;

        using (var t = v.ToTensor(asFloat32: true))
        {
            Assert.Equal(before + 1, stats.ThreadTotalLiveCount);
            Volume.FromTensor(t, v.Affine, 3);
            using var batch = t.unsqueeze(0);
            using var labels = torch.tensor(Enumerable.Range(0, 8 * 10 * 12).Select(i => (long)(i % 3)).ToArray(), [1, 1, 8, 10, 12]);
            long alive = stats.ThreadTotalLiveCount;
            var cfg = new AugmentationConfig { FlipProbability = 1, Rotate90Probability = 1, AffineProbability = 1, ElasticProbability = 1, GammaProbability = 1, NoiseProbability = 1, BlurProbability = 1, BiasFieldProbability = 1, IntensityProbability = 1 };
            var r = new Augmenter(cfg, seed: 1).Apply(batch, labels, ["a"], epoch: 0);
            Assert.Equal(alive + 2, stats.ThreadTotalLiveCount);
            r.Images.Dispose();
            r.Labels!.Dispose();
            foreach (var result in new[]
            {
                TensorPreprocessing.ZScore(batch), TensorPreprocessing.CtWindow(batch), TensorPreprocessing.Resize(batch, [4, 5, 6]),
                TensorPreprocessing.Resize(labels, [4, 5, 6], isLabel: true), TensorPreprocessing.PadOrCrop(batch, [6, 12, 12], -1),
                TensorPreprocessing.OneHot(labels, 3),
            })
                result.Dispose();
            Assert.Equal(alive, stats.ThreadTotalLiveCount);
        }
        Assert.Equal(before, stats.ThreadTotalLiveCount);
    }
}
