using MlNetMedical.Imaging.Formats;
using MlNetMedical.Imaging.Preprocessing;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

public class PreprocessingTests
{
    private static Volume Ramp(int nx, int ny, int nz, Affine? affine = null) =>
        Volume.Create<float>(Enumerable.Range(0, nx * ny * nz).Select(i => (float)(i % nx)).ToArray(), [nx, ny, nz], affine ?? Affine.Diagonal(2, 2, 2));

    [PythonFact]
    public void ToCanonicalMatchesNibabelAsClosestCanonical()
    {
        using var dir = new TempDir();
        // LPI-ish oblique orientation with a permutation: index axes point to -y, +z, -x.
        var a = new Affine([0, 0, -1.5, 20, -2, 0, 0, 30, 0, 2.5, 0, -10, 0, 0, 0, 1]);
        var v = Volume.Create<float>(Enumerable.Range(0, 4 * 5 * 6).Select(i => (float)i).ToArray(), [4, 5, 6], a);
        var canonical = new ToCanonical().Apply(new Sample("x", v)).Image;
        Assert.Equal("RAS", canonical.Affine.OrientationCode());
        Nifti.Write(v, dir.File("in.nii"), 2);
        Nifti.Write(canonical, dir.File("ours.nii"), 2);
        var r = DebianPython.RunJson("""
import sys, json, numpy as np, nibabel as nib
theirs = nib.as_closest_canonical(nib.load(sys.argv[1]))
ours = nib.load(sys.argv[2])
print(json.dumps({"data_equal": bool(np.array_equal(theirs.get_fdata(), ours.get_fdata())),
                  "affine_diff": float(np.abs(theirs.affine - ours.affine).max())}))
""", dir.File("in.nii"), dir.File("ours.nii"));
        Assert.True(r.GetProperty("data_equal").GetBoolean());
        Assert.True(r.GetProperty("affine_diff").GetDouble() < 1e-9);
    }

    [Fact]
    public void ResampleKeepsWorldPositionsAndInterpolatesLinearly()
    {
        var v = Ramp(8, 4, 2);
        var r = new Resample { Spacing = [1, 2, 2] }.Apply(new Sample("x", v)).Image;
        Assert.Equal(new[] { 16, 4, 2 }, r.Shape);
        Assert.Equal(new[] { 1.0, 2, 2 }, r.Spacing);
        // New voxel i sits at source position (i + 0.5)/2 - 0.5; its world x must be the same.
        for (int i = 0; i < 16; i++)
        {
            double src = Math.Clamp((i + 0.5) / 2 - 0.5, 0, 7);
            Assert.Equal((float)src, r.Voxels<float>()[i], 5);
            Assert.Equal(v.Affine.Apply((i + 0.5) / 2 - 0.5, 0, 0)[0], r.Affine.Apply(i, 0, 0)[0], 9);
        }
    }

    [Fact]
    public void LabelsResampleNearestAndStayInTheirSet()
    {
        var img = Ramp(9, 9, 9);
        var lab = Volume.Create<byte>(Enumerable.Range(0, 729).Select(i => (byte)(i % 9 < 3 ? 0 : i % 9 < 6 ? 2 : 5)).ToArray(), [9, 9, 9], img.Affine);
        var s = new Resample { Shape = [5, 7, 4] }.Apply(new Sample("x", img, lab));
        Assert.Equal(new[] { 5, 7, 4 }, s.Label!.Shape);
        Assert.Equal(VoxelType.UInt8, s.Label.DataType);
        Assert.All(s.Label.Voxels<byte>().ToArray(), b => Assert.Contains(b, new byte[] { 0, 2, 5 }));
        Assert.Equal(s.Image.Affine, s.Label.Affine);
    }

    [Fact]
    public void CropForegroundPadAndCenterCropMoveTheOrigin()
    {
        var data = new float[10 * 10 * 10];
        data[(5 * 10 + 4) * 10 + 3] = 7; // voxel (3, 4, 5)
        var v = Volume.Create<float>(data, [10, 10, 10], Affine.Diagonal(1, 1, 1));
        var cropped = new CropForeground { Margin = 1 }.Apply(new Sample("x", v)).Image;
        Assert.Equal(new[] { 3, 3, 3 }, cropped.Shape);
        Assert.Equal(new[] { 2.0, 3, 4 }, cropped.Origin);
        Assert.Equal(7f, cropped.Voxels<float>()[13]);
        var padded = new PadOrCrop { Size = [5, 3, 1], PadValue = -1 }.Apply(new Sample("x", cropped)).Image;
        Assert.Equal(new[] { 5, 3, 1 }, padded.Shape);
        Assert.Equal(-1f, padded.Voxels<float>()[0]);
        Assert.Equal(new[] { 1.0, 3, 5 }, padded.Origin);
        var center = new CenterCrop { Size = [4, 20, 4] }.Apply(new Sample("x", v)).Image;
        Assert.Equal(new[] { 4, 10, 4 }, center.Shape);
        Assert.Equal(new[] { 3.0, 0, 3 }, center.Origin);
    }

    [Fact]
    public void IntensityTransforms()
    {
        var v = Volume.Create<float>([0, 0, 1, 2, 3, 4, 100, 0], [8, 1, 1]);
        var z = new ZScore { Mask = "nonzero", ZeroOutside = true }.Apply(new Sample("x", v)).Image.Voxels<float>().ToArray();
        var inside = z.Where((_, i) => i is >= 2 and <= 6).ToArray();
        Assert.Equal(0, inside.Average(), 5);
        Assert.Equal(0f, z[0]);
        var clipped = new PercentileClip { Lower = 0, Upper = 50 }.Apply(new Sample("x", v)).Image.Voxels<float>().ToArray();
        Assert.Equal(1.5f, clipped.Max()); // numpy.percentile([0,0,0,1,2,3,4,100], 50) == 1.5
        var ct = Volume.Create<short>([-1000, 0, 40, 240, 3000], [5, 1, 1]);
        ct.ScaleIntercept = 0;
        var w = new CtWindow { Center = 40, Width = 400 }.Apply(new Sample("x", ct)).Image.Voxels<float>().ToArray();
        Assert.Equal(new float[] { 0, 0.4f, 0.5f, 1, 1 }, w);
    }

    [Fact]
    public void RemapOneHotAndMismatchedMask()
    {
        var img = Ramp(4, 1, 1, Affine.Identity);
        var lab = Volume.Create<byte>([0, 3, 7, 3], [4, 1, 1], Affine.Identity);
        var s = new RemapLabels { Map = new() { [3] = 1, [7] = 2 } }.Apply(new Sample("x", img, lab));
        Assert.Equal(new byte[] { 0, 1, 2, 1 }, s.Label!.Voxels<byte>().ToArray());
        var oh = new OneHot { NumClasses = 3 }.Apply(s).Label!;
        Assert.Equal(new[] { 4, 1, 1, 3 }, oh.Shape);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0 }, oh.Voxels<byte>().ToArray());
        var e = Assert.Throws<ArgumentException>(() => new OneHot { NumClasses = 2 }.Apply(s));
        Assert.Contains("label value 2", e.Message);
        var shifted = Volume.Create<byte>([0, 1, 0, 1], [4, 1, 1], Affine.Diagonal(2, 1, 1));
        shifted.SourcePath = "mask.nii.gz";
        var m = Assert.Throws<ImageFormatException>(() => new TransformChain(new ZScore()).Apply(new Sample("x", img, shifted)));
        Assert.Contains("mask.nii.gz", m.Message);
    }

    [Fact]
    public void ChainSerializesAndReappliesIdentically()
    {
        var chain = new TransformChain(
            new ToCanonical(), new Resample { Spacing = [1.5, 1.5, 3] }, new CropForeground { Margin = 2, Threshold = 0.5f },
            new PercentileClip(), new ZScore { Mask = "nonzero" }, new PadOrCrop { Size = [16, 16, 8] },
            new RemapLabels { Map = new() { [2] = 1 }, Default = 0 }, new OneHot { NumClasses = 2 }, new CtWindow(), new CenterCrop { Size = [8, 8, 8] });
        var json = chain.ToJson();
        Assert.Contains("\"type\":\"resample\"", json);
        var back = TransformChain.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal(chain.Hash(), back.Hash());
        var img = Ramp(12, 10, 6, NiftiTests.Oblique);
        var lab = Volume.Create<byte>(Enumerable.Range(0, 720).Select(i => (byte)(i % 3)).ToArray(), [12, 10, 6], img.Affine);
        var a = chain.Apply(new Sample("x", img, lab));
        var b = back.Apply(new Sample("x", img, lab));
        Assert.Equal(a.Image.Data, b.Image.Data);
        Assert.Equal(a.Label!.Data, b.Label!.Data);
        Assert.Throws<ArgumentException>(() => TransformChain.FromJson("{\"version\":1,\"transforms\":[{\"type\":\"nope\"}]}"));
    }
}
