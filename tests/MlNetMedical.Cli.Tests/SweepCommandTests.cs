using System.Text.Json;
using System.Text.RegularExpressions;
using MlNetMedical.Cli;
using MlNetMedical.Cli.Sweeps;
using MlNetMedical.Cli.Yaml;
using Xunit;

namespace MlNetMedical.Cli.Tests;

[Collection(TrainingCollection.Name)]
public sealed class SweepCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-sweep-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Run(args);

    private string WriteSweep(string sweepSection, string name = "tiny.yaml", bool pretrain = true)
    {
        var path = Path.Combine(_dir, name);
        var text = $"""
            name: tiny-sweep
            seed: 2
            data:
              synthetic:
                task: cardiac-level-2d
                train: 24
                test: 12
                pretrain: 12
                size: 32
            network:
              depth: 3
              base_channels: 4
            pretrain:
              training:
                epochs: 1
                batch_size: 6
                validation_fraction: 0
            sweep:
            {sweepSection}
            """;
        const string pretrainSection = "pretrain:\n  training:\n    epochs: 1\n    batch_size: 6\n    validation_fraction: 0\n";
        if (!pretrain)
        {
            Assert.Contains(pretrainSection, text);
            text = text.Replace(pretrainSection, "");
        }
        File.WriteAllText(path, text);
        return path;
    }

    private const string TinyStudy = """
              strategies: [frozen-softmax, finetune, scratch]
              epochs: 2
              batch_size: 6
              max_trials: 3
              tuner: random
              pruner: median
            """;

    [Fact]
    public void SweepsWritesTheStudyLeaderboardBestModelAndReportThenRefusesToReuseTheStudyUnlessResumed()
    {
        var file = WriteSweep(TinyStudy);
        var outDir = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = Run("sweep", file, "--out", outDir, "--quiet");
        Assert.True(code == ExitCodes.Success, stderr);
        var reportPath = Path.Combine(outDir, "report.html");
        Assert.Equal(reportPath, stdout.TrimEnd().Split('\n')[^1]);
        Assert.Contains("3 trials:", stdout);
        foreach (var f in new[] { "study.db", "tiny-sweep.leaderboard.csv", "tiny-sweep.leaderboard.json", "tiny-sweep.best-model.zip", "models/pretrain.zip",
                                  "config.resolved.yaml", "sweep.log", "metrics.json", "report.html" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), $"{f} is missing");
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json"))))
        {
            var sweep = metrics.RootElement.GetProperty("sweep");
            Assert.Equal("tiny-sweep", sweep.GetProperty("studyName").GetString());
            var trials = sweep.GetProperty("trials").EnumerateArray().ToList();
            Assert.Equal(3, trials.Count);
            Assert.All(trials, t => Assert.NotEqual("failed", t.GetProperty("state").GetString()));
            // One value per epoch, except from frozen-softmax: ML.NET's L-BFGS has no epochs to report.
            Assert.All(trials.Where(t => t.GetProperty("state").GetString() == "complete"), t => Assert.Equal(
                t.GetProperty("parameters").GetProperty("strategy").GetString() == "frozen-softmax" ? 0 : 2, t.GetProperty("intermediateValues").GetArrayLength()));
            var best = metrics.RootElement.GetProperty("methods").EnumerateArray().Last();
            Assert.StartsWith("best-trial-", best.GetProperty("name").GetString());
            Assert.InRange(best.GetProperty("classification").GetProperty("accuracy").GetDouble(), 0, 1);
        }
        Assert.Contains("trial 0 started", File.ReadAllText(Path.Combine(outDir, "sweep.log")));

        var again = Run("sweep", file, "--out", outDir, "--quiet");
        Assert.Equal(ExitCodes.UserError, again.Code);
        Assert.Contains("--resume", again.Err);

        var resumed = Run("sweep", file, "--out", outDir, "--quiet", "--resume", "--set", "sweep.max_trials=4");
        Assert.True(resumed.Code == ExitCodes.Success, resumed.Err);
        Assert.Contains("4 trials:", resumed.Out);
        Assert.Contains("pretrain: reusing", File.ReadAllText(Path.Combine(outDir, "sweep.log")));

        // A damaged pretrained model is a user error that says what to do, not a crash.
        var pretrain = Path.Combine(outDir, "models", "pretrain.zip");
        var bytes = File.ReadAllBytes(pretrain);
        File.WriteAllBytes(pretrain, bytes[..(bytes.Length / 2)]);
        var damaged = Run("sweep", file, "--out", outDir, "--quiet", "--resume", "--set", "sweep.max_trials=5");
        Assert.Equal(ExitCodes.UserError, damaged.Code);
        Assert.Contains("pretrain.zip", damaged.Err);
        Assert.Contains("delete", damaged.Err);
        Assert.DoesNotContain("   at ", damaged.Err);
    }

    [Fact]
    public void ProgressIsPlainLogLinesWhenTheOutputIsNotATerminal()
    {
        var file = WriteSweep(TinyStudy.Replace("max_trials: 3", "max_trials: 1").Replace("[frozen-softmax, finetune, scratch]", "[frozen-softmax]"));
        var (code, _, stderr) = Run("sweep", file, "--out", Path.Combine(_dir, "plain"));
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("trial 0 started: strategy=frozen-softmax", stderr);
        Assert.Contains("trial 0 completed: accuracy", stderr);
        Assert.Contains("best so far: trial 0", stderr);
    }

    /// <summary>The ImageNet-features branch needs no pretrain section; its trials report no epochs (L-BFGS) and the refitted best
    /// is reported as an imagenet-features method. A branch that transfers the segmentation encoder still needs pretrain.</summary>
    [Fact]
    public void ImageNetFeaturesSweepsWithoutPretrainingAndTheOtherBranchesStillNeedIt()
    {
        var study = TinyStudy.Replace("max_trials: 3", "max_trials: 1").Replace("[frozen-softmax, finetune, scratch]", "[imagenet-features]");
        var outDir = Path.Combine(_dir, "imagenet");
        var (code, _, stderr) = Run("sweep", WriteSweep(study, "imagenet.yaml", pretrain: false), "--out", outDir, "--quiet");
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.False(File.Exists(Path.Combine(outDir, "models", "pretrain.zip")));
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json"))))
        {
            var trial = Assert.Single(metrics.RootElement.GetProperty("sweep").GetProperty("trials").EnumerateArray());
            Assert.Equal("complete", trial.GetProperty("state").GetString());
            Assert.Equal("imagenet-features", trial.GetProperty("parameters").GetProperty("strategy").GetString());
            Assert.Equal(0, trial.GetProperty("intermediateValues").GetArrayLength());
            var best = Assert.Single(metrics.RootElement.GetProperty("methods").EnumerateArray());
            Assert.Equal("imagenet-features", best.GetProperty("kind").GetString());
            Assert.InRange(best.GetProperty("classification").GetProperty("accuracy").GetDouble(), 0, 1);
        }

        var needsPretrain = Run("sweep", WriteSweep(study.Replace("[imagenet-features]", "[imagenet-features, finetune]"), "finetune.yaml", pretrain: false),
            "--out", Path.Combine(_dir, "finetune"));
        Assert.Equal(ExitCodes.UserError, needsPretrain.Code);
        Assert.Contains("pretrain", needsPretrain.Err);
        Assert.Contains("only scratch, imagenet-features and imagenet-fine-tune", needsPretrain.Err);
    }

    [Fact]
    public void UnknownKeysBadValuesAndBadStorageAreUserErrorsNamingThem()
    {
        var unknown = Run("sweep", WriteSweep(TinyStudy + "\n  max_trails: 3", "typo.yaml"), "--out", Path.Combine(_dir, "typo"));
        Assert.Equal(ExitCodes.UserError, unknown.Code);
        Assert.Contains("typo.yaml:", unknown.Err);
        Assert.Contains("max_trails", unknown.Err);
        Assert.Contains("max_trials", unknown.Err);

        var strategy = Run("sweep", WriteSweep(TinyStudy.Replace("finetune", "fine-tuning"), "strategy.yaml"), "--out", Path.Combine(_dir, "strategy"));
        Assert.Equal(ExitCodes.UserError, strategy.Code);
        Assert.Contains("'fine-tuning'", strategy.Err);
        Assert.Contains("frozen-mlp", strategy.Err);
        Assert.Contains("imagenet-features", strategy.Err);

        var storage = Run("sweep", WriteSweep(TinyStudy, "storage.yaml"), "--out", Path.Combine(_dir, "storage"), "--storage", "mysql:db");
        Assert.Equal(ExitCodes.UserError, storage.Code);
        Assert.Contains("--storage", storage.Err);
    }

    [Fact]
    public void TheShippedExampleRunsAtToyScale()
    {
        var example = Path.Combine(RunCommandTests.RepoRoot(), "pipelines", "sweep-transfer.yaml");
        var (code, stdout, stderr) = Run("sweep", example, "--out", Path.Combine(_dir, "example"), "--quiet", "--parallel", "2",
            "--set", "data.synthetic.train=18", "--set", "data.synthetic.test=9", "--set", "data.synthetic.pretrain=9", "--set", "data.synthetic.size=32",
            "--set", "network.base_channels=4", "--set", "pretrain.training.epochs=1", "--set", "sweep.epochs=2", "--set", "sweep.max_trials=2", "--set", "sweep.folds=2",
            "--set", "threads=1", "--set", "augmentation.flip_probability=1", "--set", "augmentation.affine_probability=0.5");
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("2 trials:", stdout);
        var resolved = File.ReadAllText(Path.Combine(_dir, "example", "config.resolved.yaml"));
        Assert.StartsWith("name: sweep-transfer\nseed: 1\nthreads: 1\n", resolved); // the shared keys first, as before
        Assert.Contains("  affine_probability: 0.5\n", resolved);
        Assert.Contains("\"torch threads\": \"1\"", File.ReadAllText(Path.Combine(_dir, "example", "metrics.json")));
    }

    [Fact]
    public void TheReadmeSweepsSectionDocumentsExactlyTheSweepKeys()
    {
        var readme = File.ReadAllText(Path.Combine(RunCommandTests.RepoRoot(), "pipelines", "README.md"));
        var section = readme[readme.IndexOf("\n## Sweeps", StringComparison.Ordinal)..];
        var documented = Regex.Matches(section, @"^\| `sweep\.([^`]+)` \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Order().ToList();
        Assert.Equal(YamlNaming.Keys(typeof(SweepSettings)).Select(k => k.Key).Order().ToList(), documented);
        foreach (var (key, _) in YamlNaming.Keys(typeof(SweepConfig))) Assert.Contains($"`{key}`", section);
    }
}
