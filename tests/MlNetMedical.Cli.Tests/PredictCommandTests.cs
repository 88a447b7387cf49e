using System.Text.Json;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Formats;
using MlNetMedical.Imaging.Tests;
using MlNetMedical.Catalogs;
using Xunit;

namespace MlNetMedical.Cli.Tests;

[Collection(TrainingCollection.Name)]
public sealed class PredictCommandTests(TinyModels models) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-predict-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string LiverImage(int index) =>
        Path.Combine(Path.GetDirectoryName(models.LiverManifest)!, File.ReadAllLines(models.LiverManifest)[1 + index].Split(',')[1]);

    /// <summary>A liver test image re-written with an oblique, anisotropic, shifted affine.</summary>
    private string ObliqueImage(string name)
    {
        var v = ImageIO.Read(LiverImage(0));
        double c = Math.Cos(0.3), s = Math.Sin(0.3);
        v.Affine = new Affine([0.8 * c, -1.3 * s, 0, -12.5, 0.8 * s, 1.3 * c, 0, 40.25, 0, 0, 2.5, 7, 0, 0, 0, 1]);
        var path = Path.Combine(_dir, name);
        Nifti.Write(v, path);
        return path;
    }

    private static JsonElement[] JsonLines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();

    [Fact]
    public void JointModelWritesAMaskOnTheInputGridWithItsAffine()
    {
        var input = ObliqueImage("oblique.nii.gz");
        var outDir = Path.Combine(_dir, "masks");
        var (code, stdout, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", input, "--preprocessing", models.Chain, "--out", outDir, "--json");
        Assert.True(code == 0, stderr);
        var p = Assert.Single(JsonLines(stdout));
        Assert.Equal("NIfTI", p.GetProperty("format").GetString());
        Assert.Contains(p.GetProperty("predictedLabel").GetString(), TinyModels.LiverClasses);
        var probabilities = p.GetProperty("probabilities").EnumerateObject().ToList();
        Assert.Equal(TinyModels.LiverClasses, probabilities.Select(x => x.Name));
        Assert.Equal(1.0, probabilities.Sum(x => x.Value.GetDouble()), 4);
        var maskPath = p.GetProperty("mask").GetString()!;
        Assert.Equal(Path.Combine(outDir, "oblique_mask.nii.gz"), maskPath);
        // The model saw 32×32 (the chain resamples); the mask is mapped back to the 16×16 input grid.
        var image = ImageIO.Read(input);
        var mask = ImageIO.Read(maskPath);
        Assert.Equal(image.Shape, mask.Shape);
        Assert.True(image.Affine.ApproximatelyEquals(mask.Affine, 1e-5), $"{image.Affine} vs {mask.Affine}");
        Assert.Equal(VoxelType.UInt8, mask.DataType);
        Assert.All(mask.ToFloatArray(), v => Assert.InRange(v, 0, 2));
    }

    [PythonFact]
    public void NibabelReadsTheMaskWithTheInputsShapeAndAffine()
    {
        var input = ObliqueImage("case7.nii");
        var (code, _, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", input, "--preprocessing", models.Chain, "--out", _dir);
        Assert.True(code == 0, stderr);
        var check = DebianPython.RunJson("""
import sys, json, nibabel as nib, numpy as np
image, mask = nib.load(sys.argv[1]), nib.load(sys.argv[2])
data = np.asarray(mask.dataobj)
print(json.dumps({"shapes": [list(image.shape), list(mask.shape)], "affine": bool(np.allclose(image.affine, mask.affine, atol=1e-5)),
                  "dtype": str(data.dtype), "labels": sorted(int(v) for v in np.unique(data))}))
""", input, Path.Combine(_dir, "case7_mask.nii.gz"));
        var shapes = check.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(d => d.GetInt32()).ToArray()).ToArray();
        Assert.Equal(new[] { 16, 16 }, shapes[0]);
        Assert.Equal(shapes[0], shapes[1]);
        Assert.True(check.GetProperty("affine").GetBoolean());
        Assert.Equal("uint8", check.GetProperty("dtype").GetString());
        Assert.All(check.GetProperty("labels").EnumerateArray(), l => Assert.InRange(l.GetInt32(), 0, 2));
    }

    [Fact]
    public void FolderGivesOnePredictionPerImageIncludingPng()
    {
        var folder = Path.Combine(_dir, "scans");
        Directory.CreateDirectory(folder);
        File.Copy(LiverImage(1), Path.Combine(folder, "b.nii.gz"));
        File.Copy(LiverImage(2), Path.Combine(folder, "a.nii.gz"));
        var grey = ImageIO.Read(LiverImage(3)).ToFloatArray().Select(v => (byte)Math.Clamp((v + 160) * 255 / 400, 0, 255)).ToArray();
        Png.Write(Volume.Create<byte>(grey, [16, 16]), Path.Combine(folder, "c.png"));
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image");
        var (code, stdout, stderr) = CliRun.Run("predict", "--model", models.Classifier2D, "--input", folder, "--preprocessing", models.Chain, "--json");
        Assert.True(code == 0, stderr);
        var lines = JsonLines(stdout);
        Assert.Equal(["a.nii.gz", "b.nii.gz", "c.png"], lines.Select(l => Path.GetFileName(l.GetProperty("input").GetString())));
        Assert.Equal(["NIfTI", "NIfTI", "PNG"], lines.Select(l => l.GetProperty("format").GetString()));
        Assert.All(lines, l => Assert.Equal(JsonValueKind.Null, l.GetProperty("mask").ValueKind));   // a classifier writes no mask
    }

    [Fact]
    public void TextOutputShowsClassProbabilitiesAndMask()
    {
        var (code, stdout, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", LiverImage(0), "--preprocessing", models.Chain, "--out", _dir);
        Assert.True(code == 0, stderr);
        Assert.Contains("class   ", stdout);
        foreach (var name in TinyModels.LiverClasses) Assert.Contains(name + " 0.", stdout);
        Assert.Contains("_mask.nii.gz", stdout);
    }

    // Slices of Debian's CT_small.dcm (real CT, 128×128 int16) written by pydicom as a 4-slice series, 2.5 mm apart.
    private const string MakeSeries = """
import sys, copy, pydicom
from pydicom.uid import generate_uid
src = pydicom.dcmread(sys.argv[1])
series = generate_uid()
for n in range(4):
    ds = copy.deepcopy(src)
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = generate_uid()
    ipp = [float(x) for x in src.ImagePositionPatient]
    ds.ImagePositionPatient = [ipp[0], ipp[1], ipp[2] + 2.5 * n]
    ds.save_as(f"{sys.argv[2]}/slice{3 - n:02d}", write_like_original=False)
""";

    [DebianDataFact]
    public void DicomSeriesFolderIsOneVolumeAndItsMaskKeepsTheSeriesGeometry()
    {
        var series = Path.Combine(_dir, "series-001");
        Directory.CreateDirectory(series);
        var (rc, _, err) = DebianPython.Run(MakeSeries, Path.Combine(DebianData.PydicomData, "CT_small.dcm"), series);
        Assert.True(rc == 0, err);
        var (code, stdout, stderr) = CliRun.Run("predict", "--model", models.Joint3D, "--input", series, "--out", _dir, "--json");
        Assert.True(code == 0, stderr);
        var p = Assert.Single(JsonLines(stdout));
        Assert.Equal("DICOM series", p.GetProperty("format").GetString());
        Assert.Equal([128, 128, 4], p.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var mask = ImageIO.Read(Path.Combine(_dir, "series-001_mask.nii.gz"));
        var volume = ImageIO.Read(series);
        Assert.Equal(volume.Shape, mask.Shape);
        Assert.True(volume.Affine.ApproximatelyEquals(mask.Affine, 1e-4), $"{volume.Affine} vs {mask.Affine}");
        Assert.Equal(2.5, mask.Spacing[2], 4);
    }

    [Fact]
    public void UnreadableFileNamesTheFileAndWhatWasExpected()
    {
        var bad = Path.Combine(_dir, "broken.nii.gz");
        File.WriteAllBytes(bad, [1, 2, 3, 4, 5]);
        var (code, _, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", bad, "--out", _dir);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("broken.nii.gz", stderr);
        Assert.Contains("expected a NIfTI", stderr);
    }

    [Fact]
    public void MissingInputsAndEmptyFoldersAreUserErrors()
    {
        var (code, _, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", Path.Combine(_dir, "nothing.nii"));
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("nothing.nii", stderr);
        File.WriteAllText(Path.Combine(_dir, "readme.txt"), "no images here");
        (code, _, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", _dir);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("no image files", stderr);
        (code, _, stderr) = CliRun.Run("predict", "--model", Path.Combine(_dir, "m.zip"), "--input", LiverImage(0));
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("m.zip", stderr);
    }

    [Fact]
    public void ImageTheNetworkCannotTakeIsAUserError()
    {
        // A 3D series given to a 2D model: its recorded 2D preprocessing rejects it first, naming the file.
        var brainImage = Path.Combine(Path.GetDirectoryName(models.BrainManifest)!, File.ReadAllLines(models.BrainManifest)[1].Split(',')[1]);
        var (code, _, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", brainImage);
        Assert.True(code == ExitCodes.UserError, stderr);
        Assert.Contains("preprocessing failed on", stderr);
        Assert.Contains(Path.GetFileName(brainImage), stderr);
        // Without preprocessing the network itself rejects it: the error names the file and the shape.
        var none = Path.Combine(_dir, "none.json");
        File.WriteAllText(none, """{"version":1,"transforms":[]}""");
        (code, _, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", brainImage, "--preprocessing", none);
        Assert.True(code == ExitCodes.UserError, stderr);
        Assert.Contains("cannot be applied", stderr);
    }

    [Fact]
    public void ThePreprocessingRecordedInTheModelIsUsedAndASideFileIsIgnored()
    {
        // TinyModels saved Joint2D with its training view's schema, so the zip records the chain (inputs are 16×16, the network sees 32×32).
        var folder = Path.Combine(_dir, "run", "models");
        Directory.CreateDirectory(folder);
        var model = Path.Combine(folder, "joint.zip");
        File.Copy(models.Joint2D, model);
        File.WriteAllText(Path.Combine(folder, "preprocessing.json"), """{"version":1,"transforms":[{"type":"sharpen"}]}""");
        var (code, stdout, stderr) = CliRun.Run("predict", "--model", model, "--input", LiverImage(0), "--out", _dir, "--json");
        Assert.True(code == 0, stderr);
        var recorded = Assert.Single(JsonLines(stdout));
        Assert.Equal("model", recorded.GetProperty("preprocessing").GetString());
        Assert.Equal([16, 16], recorded.GetProperty("maskShape").EnumerateArray().Select(d => d.GetInt32()));
        (code, stdout, stderr) = CliRun.Run("predict", "--model", model, "--input", LiverImage(0), "--out", _dir, "--preprocessing", models.Chain, "--json");
        Assert.True(code == 0, stderr);
        var explicitChain = Assert.Single(JsonLines(stdout));
        Assert.Equal(models.Chain, explicitChain.GetProperty("preprocessing").GetString());
        Assert.Equal(explicitChain.GetProperty("probabilities").GetRawText(), recorded.GetProperty("probabilities").GetRawText());
    }

    [Fact]
    public void AModelSavedByRunPredictsWithItsOwnPreprocessing()
    {
        var pipeline = Path.Combine(_dir, "toy.yaml");
        File.WriteAllText(pipeline, """
            name: toy-scratch
            data:
              synthetic: {task: liver-lesion-2d, train: 6, test: 3, pretrain: 0, size: 16}
            preprocessing:
              - zscore: {}
              - pad_or_crop: {size: [24, 24]}
            network: {depth: 2, base_channels: 4}
            stages:
              - scratch:
                  training: {epochs: 1, validation_fraction: 0}
            evaluation: {samples: 0}
            """);
        var outDir = Path.Combine(_dir, "out");
        var (code, _, stderr) = CliRun.Run("run", pipeline, "--out", outDir, "--quiet");
        Assert.True(code == ExitCodes.Success, stderr);
        var model = Directory.GetFiles(Path.Combine(outDir, "models"), "*.zip").Single();
        var manifest = Path.Combine(outDir, "data", "manifest.csv");
        var image = Path.Combine(outDir, "data", File.ReadAllLines(manifest)[1].Split(',')[1]);
        // The model file records the pipeline's preprocessing: steps, in order (on its input schema's image column).
        var chain = Path.Combine(_dir, "chain.json");
        var ml = new Microsoft.ML.MLContext();
        (ml.Model.LoadMedical(model, out var inputSchema) as IDisposable)?.Dispose();
        var recordedChain = MlNetMedical.Data.PreprocessingAnnotation.Read(inputSchema!);
        Assert.NotNull(recordedChain);
        recordedChain.Save(chain);
        using (var recorded = JsonDocument.Parse(File.ReadAllText(chain)))
            Assert.Equal(["zscore", "pad_or_crop"], recorded.RootElement.GetProperty("transforms").EnumerateArray().Select(t => t.GetProperty("type").GetString()));
        var raw = Path.Combine(_dir, "none.json");
        File.WriteAllText(raw, """{"version":1,"transforms":[]}""");

        string Probabilities(params string[] extra)
        {
            var (c, stdout, err) = CliRun.Run(["predict", "--model", model, "--input", image, "--json", .. extra]);
            Assert.True(c == 0, err);
            return Assert.Single(JsonLines(stdout)).GetProperty("probabilities").GetRawText();
        }
        // No side file, no option: the chain recorded by `mlnm run` gives the same prediction as passing that chain.
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(model)!, "*.json"));
        Assert.Equal(Probabilities("--preprocessing", chain), Probabilities());
        // An empty chain feeds the raw image (no z-score, 16×16): a different input reaches the network.
        var (rawCode, _, rawErr) = CliRun.Run("predict", "--model", model, "--input", image, "--json", "--preprocessing", raw);
        Assert.True(rawCode != 0 || Probabilities("--preprocessing", raw) != Probabilities(), rawErr);
    }

    [Fact]
    public void BadPreprocessingFileIsAUserError()
    {
        var chain = Path.Combine(_dir, "chain.json");
        File.WriteAllText(chain, """{"version":1,"transforms":[{"type":"sharpen"}]}""");
        var (code, _, stderr) = CliRun.Run("predict", "--model", models.Joint2D, "--input", LiverImage(0), "--preprocessing", chain);
        Assert.True(code == ExitCodes.UserError, stderr);
        Assert.Contains("chain.json", stderr);
    }
}
