using MlNetMedical.Imaging.Preprocessing;
using TorchSharp;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

public class TensorPreprocessingTests
{
    [Fact]
    public void TensorStepsAgreeWithTheVolumeTransforms()
    {
        var data = Enumerable.Range(0, 6 * 5 * 4).Select(i => (float)((i * 37) % 23)).ToArray();
        var v = Volume.Create<float>(data, [6, 5, 4]);
        using var t = v.ToTensor().unsqueeze(0); // (1, 1, 4, 5, 6)

        using var z = TensorPreprocessing.ZScore(t);
        var zv = new ZScore().Apply(new Preprocessing.Sample("x", v)).Image.Voxels<float>().ToArray();
        Assert.All(z.ToHostArray<float>().Zip(zv), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4));

        using var r = TensorPreprocessing.Resize(t, [3, 7, 9]);
        var rv = new Resample { Shape = [9, 7, 3] }.Apply(new Preprocessing.Sample("x", v)).Image.Voxels<float>().ToArray();
        Assert.All(r.ToHostArray<float>().Zip(rv), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4, $"{p.First} vs {p.Second}"));

        using var pc = TensorPreprocessing.PadOrCrop(t, [6, 3, 8], padValue: -1);
        var pv = new PadOrCrop { Size = [8, 3, 6], PadValue = -1 }.Apply(new Preprocessing.Sample("x", v)).Image.Voxels<float>().ToArray();
        Assert.Equal(pv, pc.ToHostArray<float>());
        Assert.Equal(new long[] { 1, 1, 6, 3, 8 }, pc.shape);
    }

    [Fact]
    public void OneHotAndWindow()
    {
        using var labels = torch.tensor(new long[] { 0, 2, 1, 2 }, [1, 1, 2, 2]);
        using var oh = TensorPreprocessing.OneHot(labels, 3);
        Assert.Equal(new float[] { 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1 }, oh.ToHostArray<float>());
        Assert.Throws<ArgumentException>(() => TensorPreprocessing.OneHot(labels, 2));
        using var hu = torch.tensor(new float[] { -1000, 40, 240, 500 }, [1, 1, 2, 2]);
        using var w = TensorPreprocessing.CtWindow(hu, 40, 400);
        Assert.Equal(new float[] { 0, 0.5f, 1, 1 }, w.ToHostArray<float>());
        using var nearest = TensorPreprocessing.Resize(labels, [4, 4], isLabel: true);
        Assert.Equal(torch.ScalarType.Int64, nearest.dtype);
        Assert.All(nearest.ToHostArray<long>(), x => Assert.Contains(x, new long[] { 0, 1, 2 }));
    }
}
