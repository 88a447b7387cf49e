using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using MlNetMedical.Imaging.Formats;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

/// <summary>Issue 17: files that lie about their size, point outside their folder, or are not images at all.</summary>
public class UntrustedInputTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private static ImageFormatException Rejected(Bounded.Outcome o, string fileName)
    {
        Assert.False(o.TimedOut, "the read did not finish");
        var e = Assert.IsType<ImageFormatException>(o.Error);
        Assert.Contains(fileName, e.Message);
        return e;
    }

    // --- 1. header arithmetic -------------------------------------------------------------------------------

    [Fact]
    public void NiftiDimsWhoseByteCountWrapsToZeroAreRejected()
    {
        using var dir = new TempDir();
        var path = dir.File("wrap.nii");
        Nifti.Write(NiftiTests.Sample(VoxelType.UInt8, [2, 2, 2]), path);
        var b = File.ReadAllBytes(path);
        // 16384^5 = 2^70 voxels of one byte: the byte count wraps to 0 in a 64-bit product.
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40), 5);
        for (int i = 1; i <= 5; i++) BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40 + 2 * i), 16384);
        File.WriteAllBytes(path, b);
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(path));
        Assert.Contains("wrap.nii", e.Message);
        Assert.Contains("16384, 16384, 16384, 16384, 16384", e.Message);
        Assert.Throws<ImageFormatException>(() => ImageInspector.Inspect(path));
    }

    [Fact]
    public void Nifti2DimsWhoseByteCountWrapsToZeroAreRejected()
    {
        using var dir = new TempDir();
        var path = dir.File("wrap2.nii");
        Nifti.Write(NiftiTests.Sample(VoxelType.UInt8, [2, 2, 2]), path, version: 2);
        var b = File.ReadAllBytes(path);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), 4);
        for (int i = 1; i <= 4; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16 + 8 * i), 65536); // 2^64
        File.WriteAllBytes(path, b);
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(path));
        Assert.Contains("wrap2.nii", e.Message);
        Assert.Contains("65536", e.Message);
    }

    [Fact]
    public void MetaImageDimsWhoseByteCountWrapsToZeroAreRejected()
    {
        using var dir = new TempDir();
        var path = dir.File("wrap.mha");
        File.WriteAllBytes(path, [.. Encoding.ASCII.GetBytes("NDims = 4\nDimSize = 65536 65536 65536 65536\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n"), .. new byte[16]]);
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(path));
        Assert.Contains("wrap.mha", e.Message);
        Assert.Contains("[65536, 65536, 65536, 65536]", e.Message);
    }

    [Fact]
    public void VolumeRejectsAShapeWhoseByteCountOverflows()
    {
        var e = Assert.Throws<ArgumentException>(() => new Volume(VoxelType.UInt8, [65536, 65536, 65536, 65536], []));
        Assert.Contains("65536", e.Message);
        Assert.Throws<ArgumentException>(() => new Volume(VoxelType.Float64, [1 << 30, 1 << 30, 1 << 30], []));
    }

    [Fact]
    public void MaxVoxelsIsAppliedBeforeReadingAndCanBeLowered()
    {
        using var dir = new TempDir();
        var v = NiftiTests.Sample(VoxelType.Int16, [6, 5, 4]);
        Nifti.Write(v, dir.File("a.nii.gz"));
        MetaImage.Write(v, dir.File("a.mha"));
        var png = new Volume(VoxelType.UInt8, [12, 10], new byte[120], Affine.Identity, 2);
        Png.Write(png, dir.File("a.png"));
        foreach (var (name, voxels) in new[] { ("a.nii.gz", 120), ("a.mha", 120), ("a.png", 120) })
        {
            Assert.Equal(voxels, ImageIO.Read(dir.File(name), new ReadOptions { MaxVoxels = voxels }).VoxelCount);
            var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File(name), new ReadOptions { MaxVoxels = voxels - 1 }));
            Assert.Contains(name, e.Message);
            Assert.Contains($"limit of {voxels - 1} voxels", e.Message);
        }
        Assert.Equal(1L << 30, ReadOptions.Default.MaxVoxels);
        Assert.Equal(ImageLimits.DefaultMaxVoxels, ReadOptions.Default.MaxVoxels);
    }

    [Fact]
    public void SmallGzipNiftiClaimingLargeDimsIsRejectedBeforeAllocating()
    {
        using var dir = new TempDir();
        var path = dir.File("claims.nii.gz");
        Nifti.Write(NiftiTests.Sample(VoxelType.UInt8, [2, 2, 2]), dir.File("small.nii"));
        var b = File.ReadAllBytes(dir.File("small.nii"));
        // 4000 x 4000 x 4 bytes claimed (64 MB, under the limits), 8 bytes present, about 400 bytes compressed.
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(42), 4000);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(44), 4000);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(46), 4);
        using (var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Optimal)) gz.Write(b);
        var o = Bounded.Run(() => ImageIO.Read(path), Limit);
        var e = Rejected(o, "claims.nii.gz");
        Assert.Contains("cannot inflate", e.Message);
        Assert.True(o.Allocated < 4 << 20, $"allocated {o.Allocated:N0} bytes");
    }

    // --- 2. PNG ---------------------------------------------------------------------------------------------

    [Fact]
    public void SmallInterlacedPngClaimingAHugeImageIsRejectedWithoutAHugeAllocation()
    {
        using var dir = new TempDir();
        var path = dir.File("bomb.png");
        // 16384 x 16384 RGBA 16-bit, Adam7: 34 MB of zero scanline bytes deflate to about 33 KB.
        File.WriteAllBytes(path, PngBuilder.File(PngBuilder.Ihdr(16384, 16384, 16, 6, 1), PngBuilder.ZlibZeros(34_000_000)));
        Assert.True(new FileInfo(path).Length < 40_000, $"{new FileInfo(path).Length} bytes");
        var o = Bounded.Run(() => Png.Read(path), Limit);
        Rejected(o, "bomb.png");
        Assert.True(o.Allocated < 64L << 20, $"reading a {new FileInfo(path).Length}-byte PNG allocated {o.Allocated:N0} bytes");
    }

    [Fact]
    public void VeryWideSixteenBitRgbaPngIsAFormatErrorNotAnOverflow()
    {
        using var dir = new TempDir();
        var path = dir.File("wide.png");
        // 2^28 pixels of 8 bytes in one row: the row stride (2^31 bytes in Adam7's first pass) overflows an int.
        File.WriteAllBytes(path, PngBuilder.File(PngBuilder.Ihdr(1 << 28, 1, 16, 6, 1), PngBuilder.ZlibZeros((1L << 25) + 4096)));
        var o = Bounded.Run(() => Png.Read(path), Limit);
        Rejected(o, "wide.png");
        Assert.True(o.Allocated < 64L << 20, $"allocated {o.Allocated:N0} bytes");
    }

    [Fact]
    public void AdamSevenPngReadsTheSamePixelsAsTheNonInterlacedOne()
    {
        using var dir = new TempDir();
        var rng = new Random(3);
        foreach (var (w, h, channels, colorType) in new[] { (13, 7, 1, 0), (9, 11, 3, 2), (5, 3, 4, 6), (1, 1, 1, 0), (17, 2, 2, 4) })
        {
            var samples = new byte[w * h * channels];
            rng.NextBytes(samples);
            var plain = PngBuilder.File(PngBuilder.Ihdr(w, h, 8, colorType, 0), PngBuilder.Zlib(PngBuilder.Scanlines(samples, w, h, channels, false)));
            var adam7 = PngBuilder.File(PngBuilder.Ihdr(w, h, 8, colorType, 1), PngBuilder.Zlib(PngBuilder.Scanlines(samples, w, h, channels, true)));
            var a = Png.Decode(plain, "plain.png");
            var b = Png.Decode(adam7, "adam7.png");
            Assert.Equal(a.Shape, b.Shape);
            Assert.Equal(a.Data, b.Data);
            if (channels == 1) Assert.Equal(samples, a.Data);
        }
    }

    // Found by the fuzz tests: zlib reports a header asking for a preset dictionary (FDICT) with its own IOException.
    [Fact]
    public void ZlibAskingForAPresetDictionaryIsAFormatError()
    {
        using var dir = new TempDir();
        var good = PngBuilder.Zlib([0, 1, 2, 3]);
        byte[] fdict = [0x78, 0x20, 0, 0, 0, 1, .. good[2..]]; // 0x7820 is a multiple of 31 with FDICT set
        var e = Assert.Throws<ImageFormatException>(() => Png.Decode(PngBuilder.File(PngBuilder.Ihdr(3, 1, 8, 0, 0), fdict), "dict.png"));
        Assert.Contains("dict.png", e.Message);
        File.WriteAllBytes(dir.File("dict.mha"), [.. Encoding.ASCII.GetBytes("NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\nCompressedData = True\nElementDataFile = LOCAL\n"), .. fdict]);
        Assert.Contains("dict.mha", Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File("dict.mha"))).Message);
    }

    [Fact]
    public void MetaImageDataFileNameWithANulCharacterIsAFormatError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("nul.mhd"), Mhd("a\0b.raw"));
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File("nul.mhd")));
        Assert.Contains("nul.mhd", e.Message);
    }

    // --- 3. MetaImage ElementDataFile -----------------------------------------------------------------------

    private static string Mhd(string dataFile, int w = 4, int h = 3) =>
        $"ObjectType = Image\nNDims = 2\nDimSize = {w} {h}\nElementType = MET_UCHAR\nElementDataFile = {dataFile}\n";

    [Fact]
    public void MetaImageDataFileGivenAsAnAbsolutePathIsRefused()
    {
        using var dir = new TempDir();
        using var elsewhere = new TempDir();
        var secret = elsewhere.File("secret.raw");
        File.WriteAllBytes(secret, Enumerable.Range(0, 12).Select(i => (byte)i).ToArray());
        File.WriteAllText(dir.File("abs.mhd"), Mhd(secret));
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File("abs.mhd")));
        Assert.Contains("abs.mhd", e.Message);
        Assert.Contains("outside", e.Message);
    }

    [Fact]
    public void AnExplicitOptionAllowsDataFilesElsewhereButStillOnlyRegularFilesOfTheRightSize()
    {
        using var dir = new TempDir();
        using var elsewhere = new TempDir();
        var data = elsewhere.File("shared.raw");
        File.WriteAllBytes(data, Enumerable.Range(0, 12).Select(i => (byte)i).ToArray());
        File.WriteAllText(dir.File("abs.mhd"), Mhd(data));
        var allow = new ReadOptions { AllowMetaImageDataOutsideFolder = true };
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (byte)i).ToArray(), ImageIO.Read(dir.File("abs.mhd"), allow).Data);
        File.WriteAllText(dir.File("zero.mhd"), Mhd("/dev/zero"));
        var o = Bounded.Run(() => ImageIO.Read(dir.File("zero.mhd"), allow), Limit);
        Assert.Contains("not a regular file", Rejected(o, "zero.mhd").Message);
        File.WriteAllBytes(data, new byte[11]);
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File("abs.mhd"), allow));
        Assert.Contains("needs 12 bytes", e.Message);
        Assert.Contains("holds 11", e.Message);
    }

    [Fact]
    public void MetaImageDataFileThatClimbsOutOfTheFolderIsRefused()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("sub"));
        File.WriteAllBytes(dir.File("secret.raw"), new byte[12]);
        File.WriteAllText(dir.File("sub/up.mhd"), Mhd("../secret.raw"));
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File("sub/up.mhd")));
        Assert.Contains("up.mhd", e.Message);
        Assert.Contains("outside", e.Message);
        // A data file in a subfolder is inside and reads.
        File.WriteAllBytes(dir.File("sub/deeper.raw"), new byte[12]);
        Directory.CreateDirectory(dir.File("sub/d"));
        File.Move(dir.File("sub/deeper.raw"), dir.File("sub/d/deeper.raw"));
        File.WriteAllText(dir.File("sub/down.mhd"), Mhd("d/deeper.raw"));
        Assert.Equal(new[] { 4, 3 }, ImageIO.Read(dir.File("sub/down.mhd")).Shape);
    }

    [Fact]
    public void MetaImageDataFileThatIsAFifoFailsInsteadOfHanging()
    {
        using var dir = new TempDir();
        var fifo = dir.File("pipe.raw");
        var mk = Process.Start("mkfifo", [fifo]);
        mk.WaitForExit();
        Assert.Equal(0, mk.ExitCode);
        File.WriteAllText(dir.File("fifo.mhd"), Mhd("pipe.raw"));
        var o = Bounded.Run(() => ImageIO.Read(dir.File("fifo.mhd")), Limit);
        if (o.TimedOut)
        {
            // Release the blocked reader: opening the write end lets its open() return, closing gives it EOF.
            // On a background thread, as that open waits if the reader is stuck somewhere else.
            new Thread(() => { try { using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write); } catch (IOException) { } }) { IsBackground = true }.Start();
        }
        Rejected(o, "fifo.mhd");
    }

    [Fact]
    public void MetaImageDataFileLinkedToDevZeroFailsWithoutReadingIt()
    {
        using var dir = new TempDir();
        File.CreateSymbolicLink(dir.File("zero.raw"), "/dev/zero");
        File.WriteAllText(dir.File("zero.mhd"), Mhd("zero.raw"));
        var o = Bounded.Run(() => ImageIO.Read(dir.File("zero.mhd")), Limit);
        var e = Rejected(o, "zero.mhd");
        Assert.Contains("zero.raw", e.Message);
        Assert.True(o.Allocated < 1 << 20, $"allocated {o.Allocated:N0} bytes");
    }

    // --- 7. unknown extensions ------------------------------------------------------------------------------

    [Theory]
    [InlineData("scan.nrrd")]
    [InlineData("photo.jpg")]
    [InlineData("volume.tif")]
    public void UnknownExtensionIsAnUnsupportedFormatNotAMissingDicomPreamble(string name)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(name), Encoding.ASCII.GetBytes("NRRD0004\ntype: uchar\n" + new string('x', 200)));
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File(name)));
        Assert.Contains(name, e.Message);
        Assert.Contains("unsupported format", e.Message);
        foreach (var listed in new[] { ".nii", ".nii.gz", ".mha", ".mhd", ".png", "DICOM" }) Assert.Contains(listed, e.Message);
        Assert.DoesNotContain("no 'DICM' preamble", e.Message);
    }

    [DebianDataFact]
    public void DicomFilesWithoutAnExtensionOrWithAUidNameStillRead()
    {
        using var dir = new TempDir();
        var ct = Path.Combine(DebianData.PydicomData, "CT_small.dcm");
        File.Copy(ct, dir.File("IM0001"));
        File.Copy(ct, dir.File("1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"));
        File.Copy(ct, dir.File("slice.dcm"));
        foreach (var name in new[] { "IM0001", "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322", "slice.dcm" })
        {
            var v = ImageIO.Read(dir.File(name));
            Assert.Equal(new[] { 128, 128 }, v.Shape[..2]);
        }
        // A file with an unknown extension that really is DICOM (it has the DICM preamble) reads too.
        File.Copy(ct, dir.File("ct.bin"));
        Assert.Equal(128, ImageIO.Read(dir.File("ct.bin")).Shape[0]);
    }
}
