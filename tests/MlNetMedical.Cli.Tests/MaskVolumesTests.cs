using MlNetMedical.Cli.Inputs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Preprocessing;
using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class MaskVolumesTests
{
    private static Volume Labels3D(Affine affine)
    {
        var labels = new byte[5 * 4 * 3];
        for (var n = 0; n < labels.Length; n++) labels[n] = (byte)(n * 7 % 4);
        return Volume.Create<byte>(labels, [5, 4, 3], affine);
    }

    [Fact]
    public void PredictedLabelMapWritesBackOntoTheImageGrid()
    {
        // The core reads the mask in tensor order (axes reversed, spacing with them); ToVolume undoes exactly that.
        var mask = Labels3D(Affine.Diagonal(0.5, 2, 3));
        var map = MaskConverters.FromVolume(mask);
        Assert.Equal([3, 4, 5], map.Shape);
        Assert.Equal([3.0, 2, 0.5], map.Spacing);
        var back = MaskVolumes.ToVolume(map, mask);
        Assert.Equal(mask.Shape, back.Shape);
        Assert.Equal(mask.Data, back.Data);
        Assert.Equal(mask.Affine, back.Affine);
        var wrongGrid = Volume.Create<byte>(new byte[5 * 4 * 2], [5, 4, 2]);
        Assert.Contains("image grid", Assert.Throws<InvalidOperationException>(() => MaskVolumes.ToVolume(map, wrongGrid)).Message);
    }

    [Fact]
    public void MaskOnAResampledAndReorientedGridMapsBackExactly()
    {
        double c = Math.Cos(0.4), s = Math.Sin(0.4);
        var original = Labels3D(new Affine([1.5 * c, -s, 0, 10, 1.5 * s, c, 0, -4, 0, 0, 2, 3, 0, 0, 0, 1]));
        var image = Volume.Create<float>(new float[original.VoxelCount], original.Shape, original.Affine);
        // The chain a model might be trained with: canonical orientation, then 2× finer in every axis.
        var chain = new TransformChain(new ToCanonical(), new Resample { Shape = [10, 8, 6] });
        var onModelGrid = chain.Apply(new Sample("x", image, original)).Label!;
        Assert.False(onModelGrid.Affine.ApproximatelyEquals(original.Affine));
        var back = MaskVolumes.OntoGrid(onModelGrid, original);
        Assert.Equal(original.Shape, back.Shape);
        Assert.Equal(original.Affine, back.Affine);
        Assert.Equal(original.ToFloatArray(), back.ToFloatArray());
    }

    [Fact]
    public void VoxelsOutsideTheMaskGetBackground()
    {
        var original = Volume.Create<byte>(Enumerable.Repeat((byte)3, 16).ToArray(), [4, 4]);
        var cropped = new TransformChain(new CenterCrop { Size = [2, 2] }).Apply(new Sample("x", original, original)).Label!;
        var back = MaskVolumes.OntoGrid(cropped, original);
        Assert.Equal(4, back.ToFloatArray().Count(v => v == 3));
        Assert.Equal(12, back.ToFloatArray().Count(v => v == 0));
    }
}
