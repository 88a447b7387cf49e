using MlNetMedical.Imaging.Dicom;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

/// <summary>Series assembly on series written by pydicom from Debian's CT_small.dcm (real CT, 128x128 int16).</summary>
public class DicomTests
{
    // Writes slices of CT_small.dcm to a folder: argv = source, folder, then "z:file[:iop][:rows]" per slice.
    private const string MakeSeries = """
import sys, copy, pydicom
from pydicom.uid import generate_uid
src = pydicom.dcmread(sys.argv[1])
folder = sys.argv[2]
series = generate_uid()
for spec in sys.argv[3:]:
    parts = spec.split(':')
    ds = copy.deepcopy(src)
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = generate_uid()
    ipp = [float(x) for x in src.ImagePositionPatient]
    ds.ImagePositionPatient = [ipp[0], ipp[1], float(parts[0])]
    if len(parts) > 2 and parts[2]:
        ds.ImageOrientationPatient = [float(x) for x in parts[2].split(',')]
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.PatientName = 'Secret^Name'
    ds.save_as(folder + '/' + parts[1], write_like_original=False)
""";

    private static string CtSmall => Path.Combine(DebianData.PydicomData, "CT_small.dcm");

    private static void Write(TempDir dir, params string[] specs)
    {
        var (rc, _, err) = DebianPython.Run(MakeSeries, [CtSmall, dir.Path, .. specs]);
        Assert.True(rc == 0, err);
    }

    [DebianDataFact]
    public void SortsByPositionTakesSpacingFromPositionsAndAppliesRescale()
    {
        using var dir = new TempDir();
        Write(dir, "10:c.dcm", "12.5:a.dcm", "5:d.dcm", "7.5:b.dcm");
        var v = DicomSeries.ReadFolder(dir.Path);
        Assert.Equal(new[] { 128, 128, 4 }, v.Shape);
        Assert.Equal(2.5, v.Affine[2, 2], 9);
        Assert.Equal(5.0, v.Origin[2], 9);
        Assert.Equal(-1024, v.ScaleIntercept);
        Assert.Equal("d.dcm", v.Metadata["dicom.first_file"]);
        Assert.Equal("CT", v.Metadata["Modality"]);
        Assert.False(v.Metadata.ContainsKey("PatientName"));
        Assert.DoesNotContain(v.Metadata.Values, x => x.Contains("Secret"));
        var single = DicomSeries.ReadFile(dir.File("a.dcm"));
        var slice = v.Voxels<short>().Slice(3 * 128 * 128, 128 * 128).ToArray();
        Assert.Equal(single.Voxels<short>().ToArray(), slice);
    }

    // Concurrent series reads must agree with a single-threaded one (GDCM runs in decoder processes, one request at a time
    // each; see DicomDecoderPool). The heap corruption that concurrent GDCM use caused showed in benchmarks/io's 512x512
    // series, about 1 read in 15; at this size it did not reproduce in three runs, so this guards behaviour, not that bug.
    [DebianDataFact]
    public void ConcurrentSeriesReadsAgree()
    {
        using var dir = new TempDir();
        Write(dir, Enumerable.Range(0, 40).Select(i => $"{i * 2.5}:s{i:D2}.dcm").ToArray());
        var expected = DicomSeries.ReadFolder(dir.Path).Voxels<short>().ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 8; i++)
            {
                try
                {
                    if (!expected.AsSpan().SequenceEqual(DicomSeries.ReadFolder(dir.Path).Voxels<short>()))
                        failures.Add("voxels differ from a single-threaded read");
                }
                catch (Exception e) { failures.Add(e.Message); }
            }
        })).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.Empty(failures);
    }

    [DebianDataFact]
    public void DuplicatePositionsNameBothFiles()
    {
        using var dir = new TempDir();
        Write(dir, "0:a.dcm", "2:b.dcm", "2:c.dcm", "4:d.dcm");
        var e = Assert.Throws<ImageFormatException>(() => DicomSeries.ReadFolder(dir.Path));
        Assert.Contains("duplicate slice position", e.Message);
        Assert.Contains("'b.dcm'", e.Message);
        Assert.Contains("'c.dcm'", e.Message);
        Assert.DoesNotContain("Secret", e.Message);
    }

    [DebianDataFact]
    public void MissingSliceIsRejected()
    {
        using var dir = new TempDir();
        Write(dir, "0:a.dcm", "2:b.dcm", "6:c.dcm", "8:d.dcm");
        var e = Assert.Throws<ImageFormatException>(() => DicomSeries.ReadFolder(dir.Path));
        Assert.Contains("missing slice(s) between 'b.dcm' and 'c.dcm'", e.Message);
    }

    [DebianDataFact]
    public void MixedOrientationIsRejected()
    {
        using var dir = new TempDir();
        Write(dir, "0:a.dcm", "2:b.dcm:0,1,0,0,0,-1", "4:c.dcm");
        var e = Assert.Throws<ImageFormatException>(() => DicomSeries.ReadFolder(dir.Path));
        Assert.Contains("mixed orientation", e.Message);
    }

    [DebianDataFact]
    public void SeveralSeriesNeedAChoice()
    {
        using var dir = new TempDir();
        Write(dir, "0:a.dcm", "2:b.dcm");
        Write(dir, "0:c.dcm", "2:d.dcm");
        var e = Assert.Throws<ImageFormatException>(() => DicomSeries.ReadFolder(dir.Path));
        Assert.Contains("holds 2 series", e.Message);
    }

    [DebianDataFact]
    public void Monochrome1IsKeptOrInverted()
    {
        using var dir = new TempDir();
        var (rc, _, err) = DebianPython.Run("import sys, pydicom\nds = pydicom.dcmread(sys.argv[1])\nds.PhotometricInterpretation = 'MONOCHROME1'\nds.save_as(sys.argv[2])", CtSmall, dir.File("m1.dcm"));
        Assert.True(rc == 0, err);
        var kept = ImageIO.Read(dir.File("m1.dcm"));
        Assert.Equal("MONOCHROME1", kept.Metadata["dicom.photometric"]);
        var inverted = ImageIO.Read(dir.File("m1.dcm"), new ReadOptions { InvertMonochrome1 = true });
        var a = kept.ToFloatArray();
        var b = inverted.Voxels<float>().ToArray();
        Assert.Equal(a.Min() + a.Max() - a[100], b[100]);
        Assert.Equal("MONOCHROME2", inverted.Metadata["dicom.photometric"]);
    }

    [DebianDataFact]
    public void GlueLoadsWithoutLdLibraryPath()
    {
        Assert.Null(Environment.GetEnvironmentVariable("LD_LIBRARY_PATH")?.Split(':').FirstOrDefault(p => p.Contains("gdcm")));
        var v = DicomSeries.ReadFile(CtSmall);
        Assert.Equal(new[] { 128, 128, 1 }, v.Shape);
    }
}
