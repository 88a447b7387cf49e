using System.Runtime.InteropServices;
using MlNetMedical.Imaging.Formats;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

public class NiftiTests
{
    internal static Affine Oblique => new([0.9, -0.1, 0.05, -12.5, 0.1, 1.2, 0.0, 30.25, -0.05, 0.02, 2.5, -7.0, 0, 0, 0, 1]);

    internal static Volume Sample(VoxelType type, int[] shape, Affine? affine = null)
    {
        var data = new byte[shape.Aggregate(1L, (a, b) => a * b) * type.Size()];
        new Random(7).NextBytes(data);
        if (type == VoxelType.Float32) { var f = MemoryMarshal.Cast<byte, float>(data.AsSpan()); for (int i = 0; i < f.Length; i++) f[i] = (i % 97) * 0.25f - 3; }
        if (type == VoxelType.Float64) { var f = MemoryMarshal.Cast<byte, double>(data.AsSpan()); for (int i = 0; i < f.Length; i++) f[i] = (i % 89) * 0.125 - 5; }
        return new Volume(type, shape, data, affine ?? Oblique);
    }

    public static TheoryData<VoxelType, string, int> Cases()
    {
        var d = new TheoryData<VoxelType, string, int>();
        foreach (var t in Enum.GetValues<VoxelType>())
            foreach (var ext in new[] { ".nii", ".nii.gz", ".hdr", ".img.gz" })
                foreach (var version in new[] { 1, 2 })
                    d.Add(t, ext, version);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void WriteThenReadGivesIdenticalVoxelsAndAffine(VoxelType type, string extension, int version)
    {
        using var dir = new TempDir();
        var affine = version == 2 ? Oblique : Float32Exact(Oblique);
        var v = Sample(type, [5, 4, 3], affine);
        var path = dir.File("x" + extension);
        Nifti.Write(v, path, version);
        var back = Nifti.Read(path);
        Assert.Equal(type, back.DataType);
        Assert.Equal(v.Shape, back.Shape);
        Assert.Equal(v.Data, back.Data);
        Assert.Equal(affine, back.Affine);
        Assert.Equal($"nifti{version}", back.Metadata["format"]);
    }

    private static Affine Float32Exact(Affine a) => new(a.ToRowMajor().Select(x => (double)(float)x).ToArray());

    [Fact]
    public void FourAndFiveDimensionsAndScalingSurvive()
    {
        using var dir = new TempDir();
        var v = Sample(VoxelType.Int16, [4, 3, 2, 3, 2], Affine.Diagonal(2, 2, 3));
        v.ScaleSlope = 0.5; v.ScaleIntercept = -1024;
        Nifti.Write(v, dir.File("a.nii.gz"));
        var back = Nifti.Read(dir.File("a.nii.gz"));
        Assert.Equal(new[] { 4, 3, 2, 3, 2 }, back.Shape);
        Assert.Equal(0.5, back.ScaleSlope);
        Assert.Equal(-1024, back.ScaleIntercept);
        Assert.Equal(v.ToDoubleArray(), back.ToDoubleArray());
        Assert.Equal(6, back.Channels);
        Assert.Equal(new long[] { 6, 2, 3, 4 }, back.TensorShape());
    }

    [Fact]
    public void CompressedOutputIsByteIdenticalAcrossWrites()
    {
        using var dir = new TempDir();
        var v = Sample(VoxelType.Float32, [16, 16, 8]);
        Nifti.Write(v, dir.File("a.nii.gz"));
        Thread.Sleep(1100); // a timestamp in the gzip header would now differ
        Nifti.Write(v, dir.File("b.nii.gz"));
        Assert.Equal(File.ReadAllBytes(dir.File("a.nii.gz")), File.ReadAllBytes(dir.File("b.nii.gz")));
        var bytes = File.ReadAllBytes(dir.File("a.nii.gz"));
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8 }, bytes[..3]);
        Assert.Equal(new byte[4], bytes[4..8]); // MTIME = 0
    }

    [Fact]
    public void QformAloneGivesTheSameAffineAsTheSform()
    {
        using var dir = new TempDir();
        // A rotation with a reflection (qfac = -1), spacing and offset: exact in float32 only approximately.
        var a = new Affine([0, 0, -2.5, 10, -1.5, 0, 0, 20, 0, 1.25, 0, -30, 0, 0, 0, 1]);
        Nifti.Write(Sample(VoxelType.UInt8, [3, 4, 5], a), dir.File("q.nii"));
        var bytes = File.ReadAllBytes(dir.File("q.nii"));
        bytes[254] = 0; // sform_code = 0: the reader falls back to the qform
        File.WriteAllBytes(dir.File("q.nii"), bytes);
        Assert.True(a.ApproximatelyEquals(Nifti.Read(dir.File("q.nii")).Affine, 1e-5));
    }

    [Fact]
    public void TruncatedDataNamesFileAndSizes()
    {
        using var dir = new TempDir();
        Nifti.Write(Sample(VoxelType.Int16, [8, 8, 8]), dir.File("t.nii"));
        var bytes = File.ReadAllBytes(dir.File("t.nii"));
        File.WriteAllBytes(dir.File("t.nii"), bytes[..600]);
        var e = Assert.Throws<ImageFormatException>(() => Nifti.Read(dir.File("t.nii")));
        Assert.Contains("t.nii", e.Message);
        Assert.Contains("1024 bytes", e.Message);
    }

    [Fact]
    public void WrongMagicIsRejected()
    {
        using var dir = new TempDir();
        Nifti.Write(Sample(VoxelType.UInt8, [2, 2, 2]), dir.File("m.nii"));
        var bytes = File.ReadAllBytes(dir.File("m.nii"));
        bytes[344] = (byte)'x';
        File.WriteAllBytes(dir.File("m.nii"), bytes);
        var e = Assert.Throws<ImageFormatException>(() => Nifti.Read(dir.File("m.nii")));
        Assert.Contains("magic", e.Message);
    }

    [PythonFact]
    public void NibabelReadsWhatWeWriteAndWeReadItsBigEndianFiles()
    {
        using var dir = new TempDir();
        var v = Sample(VoxelType.Int32, [6, 5, 4, 2], Float32Exact(Oblique));
        Nifti.Write(v, dir.File("ours.nii.gz"));
        var check = DebianPython.RunJson("""
import sys, json, numpy as np, nibabel as nib
img = nib.load(sys.argv[1])
d = np.asanyarray(img.dataobj)
hdr = nib.Nifti1Header(endianness='>')
hdr.set_data_dtype('>i4')
nib.Nifti1Image(d, img.affine, header=hdr).to_filename(sys.argv[2])
be = nib.load(sys.argv[2])
print(json.dumps({"shape": list(img.shape), "affine": img.affine.tolist(), "sum": float(d.astype(np.float64).sum()),
                  "be_order": be.header.endianness}))
""", dir.File("ours.nii.gz"), dir.File("theirs_be.nii"));
        Assert.Equal(new[] { 6, 5, 4, 2 }, check.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        var affine = check.GetProperty("affine").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(e => e.GetDouble())).ToArray();
        Assert.Equal(v.Affine, new Affine(affine));
        Assert.Equal(v.ToDoubleArray().Sum(), check.GetProperty("sum").GetDouble(), 6);
        var be = Nifti.Read(dir.File("theirs_be.nii"));
        Assert.Equal("big", be.Metadata["nifti.byte_order"]);
        Assert.Equal(v.Data, be.Data);
        Assert.True(v.Affine.ApproximatelyEquals(be.Affine, 1e-6));
    }
}
