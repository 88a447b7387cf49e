using System.Diagnostics;
using MlNetMedical.Imaging.Dicom;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

/// <summary>
/// GDCM runs in decoder processes (DicomDecoderPool): an abort or a hang there becomes an ImageFormatException naming the
/// file and the next read works; decoded sizes are capped before GDCM decompresses.
/// </summary>
public class DicomContainmentTests
{
    private static string TestFile(string name) => Path.Combine(DebianData.PydicomData, name);

    /// <summary>Runs <paramref name="body"/> with a probe for this flow only (parallel tests do not see it).</summary>
    private static T WithProbe<T>(DicomDecoderPool.Probe probe, Func<T> body)
    {
        DicomDecoderPool.CurrentProbe.Value = probe;
        try { return body(); }
        finally { DicomDecoderPool.CurrentProbe.Value = null; }
    }

    [DebianDataFact]
    public void AnAbortInTheDecoderIsAFormatErrorNamingTheFileAndTheNextReadWorks()
    {
        using var dir = new TempDir();
        var marker = "abort-" + Guid.NewGuid().ToString("N");
        File.Copy(TestFile("CT_small.dcm"), dir.File(marker + ".dcm"));
        File.Copy(TestFile("CT_small.dcm"), dir.File("fine.dcm"));
        var probe = new DicomDecoderPool.Probe { CrashOn = marker };
        var e = WithProbe(probe, () => Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File(marker + ".dcm"))));
        Assert.Contains(dir.File(marker + ".dcm"), e.Message);
        Assert.Contains("GDCM crashed", e.Message);
        Assert.Contains("SIGABRT", e.Message);
        Assert.Equal(1, probe.Crashes);
        // The same flow goes on: the next file reads (in another decoder; the one that aborted is gone).
        var v = WithProbe(probe, () => ImageIO.Read(dir.File("fine.dcm")));
        Assert.Equal(new[] { 128, 128, 1 }, v.Shape);
        Assert.Equal(ImageIO.Read(TestFile("CT_small.dcm")).Data, v.Data);
    }

    // One changed byte in a real file makes Debian's GDCM fail an assertion and abort (found by fuzzing):
    // JPEG2000.dcm: gdcmFileMetaInformation.cxx:591 ReadCompat `is.good()`; SC_rgb_rle_16bit_2frame.dcm:
    // gdcmUNExplicitDataElement ReadValue `VRField == VR::UN`. In process, either ended the application.
    [DebianDataTheory]
    [InlineData("JPEG2000.dcm", 797, 0, 111)]
    [InlineData("SC_rgb_rle_16bit_2frame.dcm", 1317, 127, 138)]
    public void ARealFileThatAbortsGdcmIsAFormatErrorAndTheNextReadWorks(string source, int offset, byte was, byte value)
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(TestFile(source));
        Assert.Equal(was, bytes[offset]);
        bytes[offset] = value;
        var file = dir.File("aborts.dcm");
        File.WriteAllBytes(file, bytes);
        var probe = new DicomDecoderPool.Probe();
        var e = WithProbe(probe, () => Assert.Throws<ImageFormatException>(() => ImageIO.Read(file)));
        Assert.Equal($"'{file}': GDCM crashed decoding the file (the decoder process died on signal 6 SIGABRT): the file is corrupt or not supported", e.Message);
        Assert.Equal(1, probe.Crashes);
        Assert.NotEmpty(WithProbe(probe, () => ImageIO.Read(TestFile(source))).Data);
    }

    [DebianDataFact]
    public void ACrashInsideASeriesFolderSkipsThatFileOnly()
    {
        using var dir = new TempDir();
        var marker = "abort-" + Guid.NewGuid().ToString("N");
        File.Copy(TestFile("CT_small.dcm"), dir.File("a.dcm"));
        File.Copy(TestFile("CT_small.dcm"), dir.File(marker));
        var probe = new DicomDecoderPool.Probe { CrashOn = marker };
        var v = WithProbe(probe, () => ImageIO.Read(dir.Path));
        Assert.Equal("1", v.Metadata["dicom.skipped_files"]);
        Assert.Equal(1, probe.Crashes);
    }

    [DebianDataFact]
    public void AHangInTheDecoderTimesOutAsAFormatErrorAndTheNextReadWorks()
    {
        using var dir = new TempDir();
        var marker = "hang-" + Guid.NewGuid().ToString("N");
        File.Copy(TestFile("MR_small.dcm"), dir.File(marker + ".dcm"));
        var probe = new DicomDecoderPool.Probe { HangOn = marker, Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        var e = WithProbe(probe, () => Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.File(marker + ".dcm"))));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Contains(dir.File(marker + ".dcm"), e.Message);
        Assert.Contains("timed out", e.Message);
        Assert.Equal(1, probe.TimeOuts);
        Assert.Equal(new[] { 64, 64, 1 }, WithProbe(probe, () => ImageIO.Read(TestFile("MR_small.dcm"))).Shape);
    }

    // Header fields of a real file changed by pydicom: argv = source, destination, then KEYWORD=VALUE pairs.
    private const string SetFields = """
import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
for kv in sys.argv[3:]:
    k, v = kv.split('=')
    setattr(ds, k, int(v) if k != 'NumberOfFrames' else v)
ds.save_as(sys.argv[2])
""";

    [DebianDataTheory]
    [InlineData("CT_small.dcm", "uncompressed")]
    [InlineData("MR_small_RLE.dcm", "RLE")]
    [InlineData("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS")]
    [InlineData("JPEG2000.dcm", "JPEG 2000")]
    public void AHeaderClaimingAHugeImageIsRejectedBeforeAnythingIsDecompressed(string source, string what)
    {
        using var dir = new TempDir();
        var file = dir.File("huge.dcm");
        // 65535 x 65535 is 4.3e9 voxels; 46341 x 46341 x 16-bit is just over 2^31 bytes and 2^31 voxels.
        var (rc, _, err) = DebianPython.Run(SetFields, TestFile(source), file, "Rows=65535", "Columns=65535");
        Assert.True(rc == 0, err);
        var probe = new DicomDecoderPool.Probe { Measure = true };
        var outcome = WithProbe(probe, () => Bounded.Run(() => ImageIO.Read(file), TimeSpan.FromSeconds(60)));
        var e = Assert.IsType<ImageFormatException>(outcome.Error);
        Assert.Contains(file, e.Message);
        Assert.Contains("more than the limit", e.Message);
        Assert.True(outcome.Allocated < 4 << 20, $"{what}: the parent allocated {outcome.Allocated:N0} bytes");
        if (probe.LastPeakGrowth >= 0)
            Assert.True(probe.LastPeakGrowth < 64 << 20, $"{what}: the decoder grew by {probe.LastPeakGrowth:N0} bytes");
    }

    [DebianDataFact]
    public void TheVoxelLimitOfReadOptionsAppliesToDicomFilesAndSeries()
    {
        using var dir = new TempDir();
        var small = new ReadOptions { MaxVoxels = 64 * 64 - 1 };
        var e = Assert.Throws<ImageFormatException>(() => ImageIO.Read(TestFile("MR_small_RLE.dcm"), small));
        Assert.Contains("4096 voxels, more than the limit of 4095", e.Message);
        Assert.Equal(64 * 64, ImageIO.Read(TestFile("MR_small_RLE.dcm"), small with { MaxVoxels = 64 * 64 }).Data.Length / 2);
        // A series: every slice is within the limit, the volume is not.
        foreach (var (name, z) in new[] { ("a", "0"), ("b", "1"), ("c", "2") })
        {
            var (rc, _, err) = DebianPython.Run("import sys, pydicom\nds = pydicom.dcmread(sys.argv[1])\nds.ImagePositionPatient = [0, 0, float(sys.argv[3])]\nds.save_as(sys.argv[2])",
                TestFile("CT_small.dcm"), dir.File(name), z);
            Assert.True(rc == 0, err);
        }
        var series = Assert.Throws<ImageFormatException>(() => ImageIO.Read(dir.Path, new ReadOptions { MaxVoxels = 128 * 128 * 2 }));
        Assert.Contains("series size [128, 128, 3]", series.Message);
        Assert.Equal(new[] { 128, 128, 3 }, ImageIO.Read(dir.Path, new ReadOptions { MaxVoxels = 128 * 128 * 3 }).Shape);
    }

    [System.Runtime.InteropServices.DllImport("libc")] private static extern int kill(int pid, int signal);

    [DebianDataFact]
    public void TheDecoderIgnoresInterruptsAndExitsWhenItsInputEnds()
    {
        var dll = DicomDecoderPool.DecoderCandidates().First(File.Exists);
        var psi = new ProcessStartInfo(Environment.ProcessPath!.EndsWith("dotnet") ? Environment.ProcessPath : "dotnet")
        { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(dll);
        using var p = Process.Start(psi)!;
        var hello = new byte[8];
        p.StandardOutput.BaseStream.ReadExactly(hello);
        Assert.Equal(DicomDecoderProtocol.Hello, BitConverter.ToUInt32(hello));
        // Ctrl+C reaches the whole process group: the decoder leaves interrupts to the application.
        Assert.Equal(0, kill(p.Id, 2));
        Thread.Sleep(500);
        Assert.False(p.HasExited, "SIGINT ended the decoder");
        p.StandardInput.Close();
        Assert.True(p.WaitForExit(30_000), "the decoder still runs after its input ended");
        Assert.Equal(0, p.ExitCode);
    }
}
