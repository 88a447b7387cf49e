using System.Text.Json;
using MlNetMedical.Imaging.Tests;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>`evaluate` on a manifest someone sent: its paths stay inside the dataset root. `predict` on a DICOM folder with
/// several series: `--series` picks one. A DICOM file that aborts GDCM is a user error, and the process goes on.</summary>
[Collection(TrainingCollection.Name)]
public sealed class UntrustedInputTests(TinyModels models) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-untrusted-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    /// <summary>A copy of the liver test rows in <c>_dir/dataset</c>, with the first row's image given by <paramref name="firstImage"/>.</summary>
    private string Manifest(Func<string, string> firstImage)
    {
        var source = Path.GetDirectoryName(models.LiverManifest)!;
        var dataset = Directory.CreateDirectory(Path.Combine(_dir, "dataset")).FullName;
        var lines = File.ReadAllLines(models.LiverManifest).Where(l => l.Length > 0).ToList();
        var header = lines[0].Split(',');
        int image = Array.IndexOf(header, "image"), mask = Array.IndexOf(header, "mask"), split = Array.IndexOf(header, "split");
        var rows = new List<string> { lines[0] };
        foreach (var row in lines.Skip(1).Select(l => l.Split(',')).Where(r => r[split] == "test"))
        {
            foreach (var c in new[] { image, mask }.Where(c => c >= 0 && row[c].Length > 0))
            {
                var target = Path.Combine(dataset, row[c]);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(Path.Combine(source, row[c]), target, overwrite: true);
            }
            if (rows.Count == 1)
            {
                var outside = Directory.CreateDirectory(Path.Combine(_dir, "outside")).FullName;
                var moved = Path.Combine(outside, Path.GetFileName(row[image]));
                File.Move(Path.Combine(dataset, row[image]), moved, overwrite: true);
                row[image] = firstImage(moved);
            }
            rows.Add(string.Join(',', row));
        }
        var path = Path.Combine(dataset, "manifest.csv");
        File.WriteAllLines(path, rows);
        return path;
    }

    [Theory]
    [InlineData("relative")]
    [InlineData("absolute")]
    [InlineData("symlink")]
    public void EvaluateRefusesManifestPathsOutsideTheDatasetRoot(string how)
    {
        var manifest = Manifest(outside => how switch
        {
            "relative" => Path.Combine("..", "outside", Path.GetFileName(outside)),
            "absolute" => outside,
            _ => Link(outside),
        });
        string Link(string target)
        {
            var link = Path.Combine(_dir, "dataset", "images", "innocent.nii.gz");
            File.CreateSymbolicLink(link, target);
            return Path.Combine("images", "innocent.nii.gz");
        }
        var (code, _, stderr) = CliRun.Run("evaluate", "--model", models.Classifier2D, "--data", manifest);
        Assert.True(code == ExitCodes.UserError, $"exit {code}: {stderr}");
        Assert.Contains("line 2, column 'image'", stderr);
        Assert.Contains(Path.Combine(_dir, "outside"), stderr);
        Assert.Contains("--data-root", stderr);

        // Naming a wider root trusts it.
        var trusted = CliRun.Run("evaluate", "--model", models.Classifier2D, "--data", manifest, "--data-root", _dir, "--json");
        Assert.True(trusted.Code == ExitCodes.Success, trusted.Err);
    }

    // Two 4-slice series of Debian's CT_small.dcm (real CT, 128×128 int16) in one folder; prints the two SeriesInstanceUIDs.
    private const string MakeTwoSeries = """
import sys, copy, pydicom
from pydicom.uid import generate_uid
src = pydicom.dcmread(sys.argv[1])
for s in range(2):
    series = generate_uid()
    print(series)
    for n in range(4):
        ds = copy.deepcopy(src)
        ds.SeriesInstanceUID = series
        ds.SOPInstanceUID = generate_uid()
        ipp = [float(x) for x in src.ImagePositionPatient]
        ds.ImagePositionPatient = [ipp[0], ipp[1], ipp[2] + (2.5 + s) * n]
        ds.save_as(f"{sys.argv[2]}/s{s}-slice{n:02d}", write_like_original=False)
""";

    [DebianDataFact]
    public void PredictPicksASeriesWithSeries()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "study")).FullName;
        var (rc, stdout, err) = DebianPython.Run(MakeTwoSeries, Path.Combine(DebianData.PydicomData, "CT_small.dcm"), folder);
        Assert.True(rc == 0, err);
        var uids = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        var (code, _, stderr) = CliRun.Run("predict", "--model", models.Joint3D, "--input", folder, "--out", _dir);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("holds 2 series", stderr);
        Assert.Contains("--series", stderr);

        var picked = CliRun.Run("predict", "--model", models.Joint3D, "--input", folder, "--series", uids[1], "--out", _dir, "--json");
        Assert.True(picked.Code == ExitCodes.Success, picked.Err);
        var p = JsonDocument.Parse(picked.Out.Trim()).RootElement;
        Assert.Equal([128, 128, 4], p.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(3.5, p.GetProperty("spacing")[2].GetDouble(), 4);
    }

    // One changed byte in Debian's JPEG2000.dcm makes GDCM fail an assertion and abort (gdcmFileMetaInformation.cxx:591).
    // GDCM runs in a decoder process, so inspect and predict report the file and this process (the CLI) goes on.
    [DebianDataFact]
    public void ADicomFileThatAbortsGdcmIsAUserErrorAndTheProcessGoesOn()
    {
        var bytes = File.ReadAllBytes(Path.Combine(DebianData.PydicomData, "JPEG2000.dcm"));
        bytes[797] = 111;
        var file = Path.Combine(_dir, "aborts.dcm");
        File.WriteAllBytes(file, bytes);
        foreach (var args in new[] { new[] { "inspect", file }, ["predict", "--model", models.Joint3D, "--input", file, "--out", _dir] })
        {
            var (code, _, stderr) = CliRun.Run(args);
            Assert.True(code == ExitCodes.UserError, $"{args[0]}: exit {code}: {stderr}");
            Assert.Single(stderr.Trim().Split('\n'));
            Assert.Contains($"'{file}': GDCM crashed decoding the file (the decoder process died on signal 6 SIGABRT): the file is corrupt or not supported", stderr);
        }
        var fine = CliRun.Run("inspect", Path.Combine(DebianData.PydicomData, "CT_small.dcm"), "--json");
        Assert.True(fine.Code == ExitCodes.Success, fine.Err);
    }
}
