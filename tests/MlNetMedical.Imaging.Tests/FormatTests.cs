using MlNetMedical.Imaging.Formats;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

public class FormatTests
{
    [Theory]
    [InlineData(VoxelType.UInt8, new[] { 7, 5 })]
    [InlineData(VoxelType.UInt16, new[] { 7, 5 })]
    [InlineData(VoxelType.Rgb24, new[] { 7, 5 })]
    [InlineData(VoxelType.UInt8, new[] { 7, 5, 3 })]
    [InlineData(VoxelType.UInt16, new[] { 6, 4, 3 })]
    public void PngRoundTrips(VoxelType type, int[] shape)
    {
        using var dir = new TempDir();
        var v = NiftiTests.Sample(type, shape, Affine.Identity);
        v = new Volume(v.DataType, v.Shape, v.Data, Affine.Identity, 2);
        Png.Write(v, dir.File("a.png"));
        var back = Png.Read(dir.File("a.png"));
        if (type == VoxelType.UInt8 && shape.Length == 3)
        {
            // Planar 8-bit colour is stored as RGB and reads back as rgb24; the planar float view matches.
            Assert.Equal(VoxelType.Rgb24, back.DataType);
            Assert.Equal(v.ToFloat32().Data, back.ToFloat32().Data);
        }
        else
        {
            Assert.Equal(v.DataType, back.DataType);
            Assert.Equal(v.Shape, back.Shape);
            Assert.Equal(v.Data, back.Data);
        }
        Png.Write(v, dir.File("b.png"));
        Assert.Equal(File.ReadAllBytes(dir.File("a.png")), File.ReadAllBytes(dir.File("b.png")));
    }

    [Theory]
    [InlineData(".mha", false)]
    [InlineData(".mha", true)]
    [InlineData(".mhd", false)]
    [InlineData(".mhd", true)]
    public void MetaImageRoundTripsVoxelsAndGeometry(string extension, bool compress)
    {
        using var dir = new TempDir();
        var v = NiftiTests.Sample(VoxelType.Int16, [6, 5, 4], NiftiTests.Oblique);
        MetaImage.Write(v, dir.File("a" + extension), compress);
        var back = MetaImage.Read(dir.File("a" + extension));
        Assert.Equal(v.Shape, back.Shape);
        Assert.Equal(v.Data, back.Data);
        // Spacing times unit direction is recomputed, so equality is to rounding.
        Assert.True(v.Affine.ApproximatelyEquals(back.Affine, 1e-12), back.Affine.ToString());
    }

    [DebianDataFact]
    public void ItkExamplePngRawAndZlibCopiesOfOneSliceAgree()
    {
        var data = DebianData.ItkData;
        var png = Png.Read(Path.Combine(data, "BrainProtonDensitySliceBorder20.png"));
        var raw = MetaImage.Read(Path.Combine(data, "BrainProtonDensitySliceBorder20.mhd"));
        var rotated = MetaImage.Read(Path.Combine(data, "BrainProtonDensitySliceBorder20DirectionPlus30.mhd"));
        Assert.Equal(new[] { 221, 257 }, png.Shape);
        Assert.Equal(png.Shape, raw.Shape);
        Assert.Equal(png.Data, raw.Data);
        Assert.Equal(raw.Data, rotated.Data);
        // Direction +30 degrees in LPS; in RAS the x and y rows are negated.
        var d = rotated.Direction;
        Assert.Equal(-Math.Cos(Math.PI / 6), d[0, 0], 5);
        Assert.Equal(-Math.Sin(Math.PI / 6), d[1, 0], 5);
    }

    [DebianDataFact]
    public void EveryItkExampleImageReadsOrFailsWithANamedProblem()
    {
        int read = 0;
        var failures = new List<string>();
        foreach (var f in Directory.EnumerateFiles(DebianData.ItkData, "*", SearchOption.AllDirectories)
                     .Where(f => f.EndsWith(".png") || f.EndsWith(".mha") || f.EndsWith(".mhd")))
        {
            try { var v = ImageIO.Read(f); Assert.True(v.VoxelCount > 0); read++; }
            catch (ImageFormatException e) { Assert.Contains(Path.GetFileName(f), e.Message); failures.Add(Path.GetFileName(f) + ": " + e.Problem); }
        }
        Assert.True(read >= 40, $"only {read} ITK example images read; failures: {string.Join("; ", failures)}");
    }

    [Fact]
    public void NonFiniteVoxelsAreReportedFailedOrReplaced()
    {
        using var dir = new TempDir();
        var v = Volume.Create<float>([1, float.NaN, 3, float.PositiveInfinity], [2, 2, 1]);
        Nifti.Write(v, dir.File("n.nii"));
        Assert.Equal("2", ImageIO.Read(dir.File("n.nii")).Metadata["nonfinite_voxels"]);
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File("n.nii"), new ReadOptions { NonFinite = NonFiniteVoxels.Fail }));
        Assert.Contains("n.nii", e.Message);
        Assert.Contains("2 of 4 voxels", e.Message);
        var replaced = ImageIO.Read(dir.File("n.nii"), new ReadOptions { NonFinite = NonFiniteVoxels.Replace, Replacement = -1 });
        Assert.Equal(new float[] { 1, -1, 3, -1 }, replaced.Voxels<float>().ToArray());
    }

    [Fact]
    public void VolumeToTensorKeepsDtypeAndReversesAxes()
    {
        var v = Volume.Create<short>(Enumerable.Range(0, 24).Select(i => (short)i).ToArray(), [4, 3, 2]);
        using var t = v.ToTensor();
        Assert.Equal(new long[] { 1, 2, 3, 4 }, t.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Int16, t.dtype);
        var back = Volume.FromTensor(t, v.Affine, 3);
        Assert.Equal(v.Shape, back.Shape);
        Assert.Equal(v.Data, back.Data);
        v.ScaleSlope = 2;
        using var f = v.ToTensor();
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, f.dtype);
        Assert.Equal(46f, f.ToHostArray<float>()[23]);
    }
}
