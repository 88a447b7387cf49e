using System.Text.RegularExpressions;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>Files the bad-input tests point commands at: a small valid manifest, and broken variants of it.</summary>
public sealed class BadInputFiles : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("mlnm-bad-").FullName;
    public string Data => Path.Combine(Root, "data");
    /// <summary>A valid manifest (liver-lesion-2d, 16×16): pretrain, train and test rows.</summary>
    public string Manifest => Path.Combine(Data, "manifest.csv");
    /// <summary>Every image replaced by a truncated NIfTI file.</summary>
    public string CorruptManifest => Path.Combine(Root, "corrupt.csv");
    /// <summary>The first row's image does not exist.</summary>
    public string MissingImageManifest => Path.Combine(Root, "missing-image.csv");
    /// <summary>No 'image' column.</summary>
    public string NoImageColumnManifest => Path.Combine(Root, "no-image-column.csv");
    public string CorruptImage => Path.Combine(Root, "corrupt.nii.gz");
    public string Missing => Path.Combine(Root, "does-not-exist.csv");
    public string NotAModel => Path.Combine(Root, "not-a-model.zip");

    public BadInputFiles()
    {
        var (code, _, err) = CliRun.Run("datasets", "make", "liver-lesion-2d", "--out", Data, "--size", "16", "--train", "6", "--test", "3", "--pretrain", "3", "--seed", "4", "--quiet");
        if (code != 0) throw new InvalidOperationException($"datasets make failed ({code}): {err}");
        // The broken variants live one folder up, so their paths are written absolute.
        var lines = File.ReadAllLines(Manifest).Where(l => l.Length > 0).ToList();
        var header = lines[0].Split(',');
        int image = Array.IndexOf(header, "image"), mask = Array.IndexOf(header, "mask");
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        foreach (var row in rows)
        {
            row[image] = Path.Combine(Data, row[image]);
            if (mask >= 0 && row[mask].Length > 0) row[mask] = Path.Combine(Data, row[mask]);
        }
        var bytes = File.ReadAllBytes(rows[0][image]);
        File.WriteAllBytes(CorruptImage, bytes[..(bytes.Length / 2)]);
        string Rows(Func<int, string, string> imageOf) =>
            lines[0] + "\n" + string.Join("\n", rows.Select((r, i) => string.Join(',', r.Select((f, c) => c == image ? imageOf(i, f) : f)))) + "\n";
        File.WriteAllText(CorruptManifest, Rows((_, _) => CorruptImage));
        File.WriteAllText(MissingImageManifest, Rows((i, f) => i == 0 ? Path.Combine(Root, "gone.nii.gz") : f));
        File.WriteAllText(NoImageColumnManifest, "id,label,split\na,cyst,train\n");
        File.WriteAllBytes(NotAModel, [0x50, 0x4b, 0x03, 0x04, 1, 2, 3]);
    }

    /// <summary>A pipeline on <paramref name="manifest"/> that trains in a second or two.</summary>
    public string Pipeline(string manifest, string name = "bad-input")
    {
        var path = Path.Combine(Root, $"{name}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"""
            name: {name}
            data: {"{"}manifest: '{manifest}'{"}"}
            network: {"{"}depth: 2, base_channels: 2{"}"}
            stages:
              - pretrain: {"{"}training: {"{"}epochs: 1, validation_fraction: 0{"}"}{"}"}
              - featurize: {"{"}training: {"{"}epochs: 1{"}"}{"}"}
            evaluation: {"{"}samples: 0{"}"}
            """);
        return path;
    }

    /// <summary>A sweep on <paramref name="manifest"/> with one short trial.</summary>
    public string Sweep(string manifest)
    {
        var path = Path.Combine(Root, $"sweep-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"""
            name: bad-sweep
            data: {"{"}manifest: '{manifest}'{"}"}
            network: {"{"}depth: 2, base_channels: 2{"}"}
            pretrain: {"{"}training: {"{"}epochs: 1, validation_fraction: 0{"}"}{"}"}
            sweep: {"{"}strategies: [frozen-softmax], epochs: 1, max_trials: 1, holdout_fraction: 0.5, validation_fraction: 0.5{"}"}
            """);
        return path;
    }

    public string Out() => Path.Combine(Root, "out-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { try { Directory.Delete(Root, true); } catch (IOException) { } }
}

/// <summary>
/// Every command, fed each kind of bad input a user can make (missing file, corrupt image, bad YAML, bad option value,
/// missing column, unknown split): exit code 1, one message naming what to fix, and no stack trace. Exit code 2 is for bugs.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class BadInputTests(TinyModels models, BadInputFiles files) : IClassFixture<BadInputFiles>
{
    private static readonly Regex StackFrame = new(@"^\s+at \S+.*\)", RegexOptions.Multiline);

    private static void UserError((int Code, string Out, string Err) result, params string[] expected)
    {
        var all = result.Out + result.Err;
        Assert.False(StackFrame.IsMatch(all), "a stack trace was printed:\n" + all);
        Assert.DoesNotContain("internal error", all);
        Assert.True(result.Code == ExitCodes.UserError, $"exit code {result.Code}, expected 1:\n{all}");
        foreach (var e in expected) Assert.True(all.Contains(e), $"'{e}' is not in:\n{all}");
    }

    private (int Code, string Out, string Err) Run(params string[] args) => CliRun.Run(args);

    [Fact]
    public void RunRejectsEveryKindOfBadInput()
    {
        var f = Files;
        UserError(Run("run", f.Missing, "--out", f.Out()), "does-not-exist.csv");
        UserError(Run("run", f.Pipeline(f.Missing), "--out", f.Out()), "does-not-exist.csv");
        UserError(Run("run", f.Pipeline(f.MissingImageManifest), "--out", f.Out()), "gone.nii.gz", "line 2");
        UserError(Run("run", f.Pipeline(f.CorruptManifest), "--out", f.Out()), "corrupt.nii.gz");
        UserError(Run("run", f.Pipeline(f.NoImageColumnManifest), "--out", f.Out()), "'image'");
        var badYaml = Path.Combine(f.Root, "bad.yaml");
        File.WriteAllText(badYaml, "name: [unclosed\n");
        UserError(Run("run", badYaml, "--out", f.Out()), "bad.yaml:");
        UserError(Run("run", f.Pipeline(f.Manifest), "--out", f.Out(), "--set", "no-equals-sign"), "--set");
        UserError(Run("run", f.Pipeline(f.Manifest), "--out", f.Out(), "--threads", "0"), "--threads");
        UserError(Run("run", f.Pipeline(f.Manifest), "--out", f.Out(), "--seed", "many"), "--seed");
        UserError(Run("run", f.Pipeline(f.Manifest), "--out", f.Out(), "--set", "data.train_split=val"), "'val'", "pretrain (3 cases)", "train (6 cases)", "test (3 cases)");
    }

    [Fact]
    public void ADecathlonFolderWithoutTheConfiguredSplitNamesTheSplitsItHas()
    {
        var f = Files;
        // A Decathlon folder from the liver cases: "training" entries have no split, "test" entries are split 'test'.
        var folder = Directory.CreateDirectory(Path.Combine(f.Root, "Task99_Liver")).FullName;
        var rows = File.ReadAllLines(f.Manifest).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList();
        var header = File.ReadAllLines(f.Manifest)[0].Split(',');
        int image = Array.IndexOf(header, "image"), mask = Array.IndexOf(header, "mask");
        var training = rows.Where(r => r[mask].Length > 0).Select(r => $$"""{"image": "{{Path.Combine(f.Data, r[image])}}", "label": "{{Path.Combine(f.Data, r[mask])}}"}""");
        File.WriteAllText(Path.Combine(folder, "dataset.json"), $$"""{"training": [{{string.Join(", ", training)}}], "test": ["{{Path.Combine(f.Data, rows[0][image])}}"]}""");
        var pipeline = Path.Combine(f.Root, "decathlon.yaml");
        File.WriteAllText(pipeline, File.ReadAllText(f.Pipeline(f.Manifest)).Replace($"manifest: '{f.Manifest}'", $"decathlon: '{folder}'"));
        var (code, stdout, stderr) = Run("run", pipeline, "--out", f.Out());
        UserError((code, stdout, stderr), "data.pretrain_split is 'pretrain', but the data has no cases in split 'pretrain'", "no split (12 cases), test (1 case)");
        Assert.DoesNotContain("epoch", stderr); // refused before anything trained
    }

    [Fact]
    public void QuickstartRejectsEveryKindOfBadInput()
    {
        var f = Files;
        string[] manifest(string m) => ["--set", $"data.manifest={m}", "--set", "data.synthetic=null"];
        UserError(Run(["quickstart", "--out", f.Out(), .. manifest(f.Missing)]), "does-not-exist.csv");
        UserError(Run(["quickstart", "--out", f.Out(), .. manifest(f.MissingImageManifest)]), "gone.nii.gz");
        UserError(Run(["quickstart", "--out", f.Out(), .. manifest(f.CorruptManifest)]), "corrupt.nii.gz");
        UserError(Run(["quickstart", "--out", f.Out(), .. manifest(f.NoImageColumnManifest)]), "'image'");
        UserError(Run("quickstart", "--out", f.Out(), "--set", "stages=[unclosed"), "--set stages=[unclosed");
        UserError(Run("quickstart", "--out", f.Out(), "--threads", "-2"), "--threads");
        UserError(Run(["quickstart", "--out", f.Out(), .. manifest(f.Manifest), "--set", "data.test_split=val"]), "'val'", "train (6 cases)");
    }

    [Fact]
    public void SweepRejectsEveryKindOfBadInput()
    {
        var f = Files;
        UserError(Run("sweep", f.Missing, "--out", f.Out()), "does-not-exist.csv");
        UserError(Run("sweep", f.Sweep(f.Missing), "--out", f.Out()), "does-not-exist.csv");
        UserError(Run("sweep", f.Sweep(f.MissingImageManifest), "--out", f.Out()), "gone.nii.gz");
        UserError(Run("sweep", f.Sweep(f.CorruptManifest), "--out", f.Out()), "corrupt.nii.gz");
        UserError(Run("sweep", f.Sweep(f.NoImageColumnManifest), "--out", f.Out()), "'image'");
        var badYaml = Path.Combine(f.Root, "bad-sweep.yaml");
        File.WriteAllText(badYaml, "name: x\nsweep: {epochs: -}\n");
        UserError(Run("sweep", badYaml, "--out", f.Out()), "bad-sweep.yaml:");
        UserError(Run("sweep", f.Sweep(f.Manifest), "--out", f.Out(), "--parallel", "0"), "--parallel");
        UserError(Run("sweep", f.Sweep(f.Manifest), "--out", f.Out(), "--threads", "0"), "--threads");
        UserError(Run("sweep", f.Sweep(f.Manifest), "--out", f.Out(), "--set", "data.train_split=val"), "'val'", "train (6 cases)");
        UserError(Run("sweep", f.Sweep(f.Manifest), "--out", f.Out(), "--set", "sweep.imagenet_input_size=32"), "imagenet_input_size", "64..1024");
    }

    [Fact]
    public void EvaluateRejectsEveryKindOfBadInput()
    {
        var f = Files;
        UserError(Run("evaluate", "--model", f.Missing, "--data", f.Manifest), "does-not-exist.csv");
        UserError(Run("evaluate", "--model", models.Classifier2D, "--data", f.Missing), "does-not-exist.csv");
        UserError(Run("evaluate", "--model", f.NotAModel, "--data", f.Manifest), "not-a-model.zip");
        UserError(Run("evaluate", "--model", models.Classifier2D, "--data", f.MissingImageManifest), "gone.nii.gz");
        UserError(Run("evaluate", "--model", models.Classifier2D, "--data", f.CorruptManifest, "--split", "test"), "corrupt.nii.gz");
        UserError(Run("evaluate", "--model", models.Classifier2D, "--data", f.NoImageColumnManifest), "'image'");
        UserError(Run("evaluate", "--model", models.Classifier2D, "--data", f.Manifest, "--split", "val"), "'val'", "train (6 cases)");
        UserError(Run("evaluate", "--model", models.Classifier2D, "--data", f.Manifest, "--threads", "zero"), "--threads");
        var chain = Path.Combine(f.Root, "bad-chain.json");
        File.WriteAllText(chain, "{ not json");
        UserError(Run("evaluate", "--model", models.Classifier2D, "--data", f.Manifest, "--preprocessing", chain), "bad-chain.json");
    }

    [Fact]
    public void PredictRejectsEveryKindOfBadInput()
    {
        var f = Files;
        UserError(Run("predict", "--model", f.Missing, "--input", f.CorruptImage), "does-not-exist.csv");
        UserError(Run("predict", "--model", models.Classifier2D, "--input", f.Missing), "does-not-exist.csv");
        UserError(Run("predict", "--model", f.NotAModel, "--input", f.CorruptImage), "not-a-model.zip");
        UserError(Run("predict", "--model", models.Classifier2D, "--input", f.CorruptImage), "corrupt.nii.gz");
        UserError(Run("predict", "--model", models.Classifier2D, "--input", f.CorruptImage, "--threads", "0"), "--threads");
        var chain = Path.Combine(f.Root, "bad-chain2.json");
        File.WriteAllText(chain, "[1, 2");
        UserError(Run("predict", "--model", models.Classifier2D, "--input", Path.Combine(f.Data, "images"), "--preprocessing", chain), "bad-chain2.json");
    }

    [Fact]
    public void CodegenInspectDatasetsAndInfoRejectBadInput()
    {
        var f = Files;
        UserError(Run("codegen", "--from", f.Missing, "--out", f.Out()), "config.resolved.yaml");
        var run = Directory.CreateDirectory(f.Out()).FullName;
        File.WriteAllText(Path.Combine(run, "config.resolved.yaml"), "name: x\nstages: {{\n");
        UserError(Run("codegen", "--from", run, "--out", f.Out()), "config.resolved.yaml:");
        UserError(Run("inspect", f.Missing), "does-not-exist.csv");
        UserError(Run("inspect", f.CorruptImage), "corrupt.nii.gz");
        UserError(Run("inspect", f.Manifest), "manifest.csv");
        UserError(Run("datasets", "make", "no-such-task", "--out", f.Out()), "no-such-task");
        UserError(Run("datasets", "make", "liver-lesion-2d", "--out", f.Out(), "--threads", "0"), "--threads");
        UserError(Run("datasets", "make", "liver-lesion-2d", "--out", f.Out(), "--size", "-3"), "size");
        UserError(Run("datasets", "make", "fashion-mnist", "--out", f.Out(), "--source", f.Missing), "does-not-exist.csv");
        UserError(Run("info", "--bogus"), "--bogus");
    }

    private BadInputFiles Files => files;
}
