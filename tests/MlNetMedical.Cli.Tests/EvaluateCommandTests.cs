using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using Xunit;

namespace MlNetMedical.Cli.Tests;

[Collection(TrainingCollection.Name)]
public sealed class EvaluateCommandTests(TinyModels models)
{
    [Fact]
    public void JointModelGivesClassificationAndSegmentationJsonOnTheTestSplit()
    {
        var file = Path.Combine(models.Root, "metrics.json");
        var (code, stdout, stderr) = CliRun.Run("evaluate", "--model", models.Joint2D, "--data", models.LiverManifest, "--preprocessing", models.Chain, "--json", "--json-out", file);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal("test", root.GetProperty("split").GetString());
        Assert.Equal(6, root.GetProperty("cases").GetInt32());
        Assert.Equal("ImageNetwork(Joint)", root.GetProperty("classifierStage").GetString());
        var cls = root.GetProperty("classification");
        Assert.Equal(TinyModels.LiverClasses, cls.GetProperty("classNames").EnumerateArray().Select(e => e.GetString()));
        var matrix = cls.GetProperty("confusionMatrix").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt64()).ToArray()).ToArray();
        Assert.Equal(6, matrix.Sum(r => r.Sum()));
        // Rows are the true classes: their sums are the test split's label counts.
        var lines = File.ReadAllLines(models.LiverManifest);
        var header = lines[0].Split(',');
        var testLabels = lines.Skip(1).Select(l => l.Split(',')).Where(f => f[Array.IndexOf(header, "split")] == "test").Select(f => f[Array.IndexOf(header, "label")]).ToList();
        Assert.Equal(TinyModels.LiverClasses.Select(c => (long)testLabels.Count(l => l == c)), matrix.Select(r => r.Sum()));
        var accuracy = cls.GetProperty("accuracy").GetDouble();
        Assert.Equal(Enumerable.Range(0, 3).Sum(k => matrix[k][k]) / 6.0, accuracy, 9);
        Assert.True(cls.GetProperty("logLoss").GetDouble() > 0);
        Assert.Equal(3, cls.GetProperty("rocCurves").GetArrayLength());
        Assert.Equal(3, root.GetProperty("perClassF1").GetArrayLength());
        var seg = root.GetProperty("segmentation");
        Assert.Equal(["1", "2"], seg.GetProperty("classNames").EnumerateArray().Select(e => e.GetString()));
        foreach (var dice in seg.GetProperty("dice").EnumerateArray()) Assert.InRange(dice.GetDouble(), 0, 1);
        Assert.Equal(stdout.Trim(), File.ReadAllText(file).Trim());

        // --out names a folder in every command; evaluate's file output was renamed, and the old flag says so.
        var renamed = CliRun.Run("evaluate", "--model", models.Joint2D, "--data", models.LiverManifest, "--out", file);
        Assert.Equal(ExitCodes.UserError, renamed.Code);
        Assert.Contains("--out was renamed --json-out", renamed.Err);
    }

    [Fact]
    public void WithoutAnOptionTheModelsRecordedPreprocessingIsUsed()
    {
        string Run(params string[] extra)
        {
            var (code, stdout, stderr) = CliRun.Run(["evaluate", "--model", models.Joint2D, "--data", models.LiverManifest, "--json", .. extra]);
            Assert.True(code == 0, stderr);
            return stdout;
        }
        using var recorded = JsonDocument.Parse(Run());
        using var given = JsonDocument.Parse(Run("--preprocessing", models.Chain));
        Assert.Equal("model", recorded.RootElement.GetProperty("preprocessing").GetString());
        Assert.Equal(models.Chain, given.RootElement.GetProperty("preprocessing").GetString());
        foreach (var part in new[] { "classification", "segmentation" })
            Assert.Equal(given.RootElement.GetProperty(part).GetRawText(), recorded.RootElement.GetProperty(part).GetRawText());
        var (_, tables, _) = CliRun.Run("evaluate", "--model", models.Joint2D, "--data", models.LiverManifest);
        Assert.Contains("preprocessing recorded in the model", tables);
    }

    [Fact]
    public void TablesNameEveryMetricAndClass()
    {
        var (code, stdout, stderr) = CliRun.Run("evaluate", "--model", models.Classifier2D, "--data", models.LiverManifest, "--preprocessing", models.Chain, "--split", "train");
        Assert.True(code == 0, stderr);
        string[] expected = ["split 'train': 12 cases", "accuracy", "balanced accuracy", "macro-F1", "log-loss", "AUC", "precision", "recall", "confusion matrix", .. TinyModels.LiverClasses];
        foreach (var text in expected)
            Assert.Contains(text, stdout);
        Assert.DoesNotContain("Segmentation", stdout);
    }

    [Fact]
    public void MissingFilesAreUserErrors()
    {
        var (code, _, stderr) = CliRun.Run("evaluate", "--model", Path.Combine(models.Root, "nope.zip"), "--data", models.LiverManifest);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("nope.zip", stderr);
        (code, _, stderr) = CliRun.Run("evaluate", "--model", models.Joint2D, "--data", Path.Combine(models.Root, "missing.csv"));
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("missing.csv", stderr);
    }

    [Fact]
    public void UnknownSplitListsTheAvailableOnes()
    {
        var (code, _, stderr) = CliRun.Run("evaluate", "--model", models.Joint2D, "--data", models.LiverManifest, "--split", "validation");
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("'validation'", stderr);
        Assert.Contains("train (12 cases)", stderr);
        Assert.Contains("test (6 cases)", stderr);
    }

    // A copy of the liver manifest without some of its columns (paths made absolute).
    private string ManifestWithout(string name, params string[] dropped) => CopyWithout(models.LiverManifest, name, dropped);

    private string CopyWithout(string source, string name, params string[] dropped)
    {
        var lines = File.ReadAllLines(source);
        var header = lines[0].Split(',');
        var keep = Enumerable.Range(0, header.Length).Where(c => !dropped.Contains(header[c])).ToArray();
        var folder = Path.GetDirectoryName(source)!;
        string Field(string h, string v) => h is "image" or "mask" && v.Length > 0 ? Path.Combine(folder, v) : v;
        var path = Path.Combine(models.Root, name);
        File.WriteAllLines(path, lines.Select((l, i) => string.Join(",", keep.Select(c => i == 0 ? header[c] : Field(header[c], l.Split(',')[c])))));
        return path;
    }

    [Fact]
    public void ManifestWithoutLabelsCannotScoreAClassifier()
    {
        var manifest = ManifestWithout("nolabel.csv", "label");
        var (code, _, stderr) = CliRun.Run("evaluate", "--model", models.Classifier2D, "--data", manifest, "--preprocessing", models.Chain);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("'label'", stderr);
        Assert.Contains("ImageNetwork(Classification)", stderr);
        // A joint model still gets its segmentation scored, with a note saying why classification is missing.
        (code, var stdout, stderr) = CliRun.Run("evaluate", "--model", models.Joint2D, "--data", manifest, "--preprocessing", models.Chain, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("classification").ValueKind);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("segmentation").ValueKind);
        Assert.Contains(doc.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("'label'"));
    }

    [Fact]
    public void ManifestWithoutMasksCannotScoreASegmenterAlone()
    {
        var manifest = ManifestWithout("nomask.csv", "mask", "label");
        var (code, _, stderr) = CliRun.Run("evaluate", "--model", models.Joint2D, "--data", manifest, "--preprocessing", models.Chain);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("'mask'", stderr);
        Assert.Contains("ImageNetwork(Joint)", stderr);
    }

    public sealed class VectorRow
    {
        [VectorType(2)] public float[] Features { get; set; } = [];
        [KeyType(2)] public uint Label { get; set; }   // LoadFromEnumerable: 0-based class index
    }

    /// <summary>A stock ML.NET classifier on a 2-vector (no framework stage).</summary>
    private static (MLContext Ml, ITransformer Model, IDataView Rows) VectorModel()
    {
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(new[] { new VectorRow { Features = [0, 1], Label = 0 }, new VectorRow { Features = [1, 0], Label = 1 } });
        return (ml, ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy().Fit(rows), rows);
    }

    [Fact]
    public void ModelNeedingAColumnTheManifestLacksNamesColumnAndStage()
    {
        var (ml, model, rows) = VectorModel();
        var path = Path.Combine(models.Root, "maxent.zip");
        ml.Model.SaveMedical(model, rows.Schema, path);
        var (code, _, stderr) = CliRun.Run("evaluate", "--model", path, "--data", models.LiverManifest);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("'Features'", stderr);
        Assert.Contains("MulticlassPredictionTransformer<MaximumEntropyModelParameters>", stderr);
    }

    [Fact]
    public void ModelWrittenByMlNetsOwnSaveIsAUserErrorNamingSaveMedical()
    {
        var (ml, model, rows) = VectorModel();
        var path = Path.Combine(models.Root, "mlnet-format.zip");
        ml.Model.Save(model, rows.Schema, path);
        foreach (var args in new[] { new[] { "evaluate", "--model", path, "--data", models.LiverManifest }, ["predict", "--model", path, "--input", models.LiverManifest] })
        {
            var (code, stdout, stderr) = CliRun.Run(args);
            Assert.True(code == ExitCodes.UserError, stderr);
            Assert.Equal("", stdout);
            Assert.Contains("ML.NET's ml.Model.Save", stderr);
            Assert.Contains("ml.Model.SaveMedical", stderr);
            Assert.DoesNotContain("   at ", stderr);
        }
    }

    [Fact]
    public void LabelsTheModelDoesNotKnowAreNamed()
    {
        var manifest = Path.Combine(models.Root, "renamed.csv");
        var folder = Path.GetDirectoryName(models.LiverManifest)!;
        File.WriteAllLines(manifest, File.ReadAllLines(models.LiverManifest).Select((l, i) => i == 0 ? l : l.Replace(",cyst,", ",polyp,").Replace("images/", folder + "/images/").Replace("masks/", folder + "/masks/")));
        var (code, _, stderr) = CliRun.Run("evaluate", "--model", models.Classifier2D, "--data", manifest, "--preprocessing", models.Chain, "--split", "train");
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("'polyp'", stderr);
        Assert.Contains("cyst, hemangioma, metastasis", stderr);
    }

    [Fact]
    public void ImagesTheNetworkCannotTakeAreAUserError()
    {
        // 3D brain volumes (labels dropped: they are not the liver model's classes) given to a 2D network.
        var manifest = CopyWithout(models.BrainManifest, "brain-nolabel.csv", "label");
        var (code, _, stderr) = CliRun.Run("evaluate", "--model", models.Joint2D, "--data", manifest);
        Assert.True(code == ExitCodes.UserError, stderr);
        Assert.Contains("cannot be applied to the images of split 'test'", stderr);
    }

    [Fact]
    public void FrozenFeatureClassifierIsScoredAsAClassifier()
    {
        var (code, stdout, stderr) = CliRun.Run("evaluate", "--model", models.Frozen2D, "--data", models.LiverManifest, "--preprocessing", models.Chain, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(TinyModels.LiverClasses, doc.RootElement.GetProperty("classification").GetProperty("classNames").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("segmentation").ValueKind);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("segmenterStage").ValueKind);
    }
}
