using System.Text.Json;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Reporting;
using Xunit;

namespace MlNetMedical.Cli.Tests;

[Collection(TrainingCollection.Name)]
public sealed class RunCommandTests
{
    private const string JointPipeline = """
        name: toy-joint
        data:
          synthetic: {task: liver-lesion-2d, train: 9, test: 6, pretrain: 6, size: 32}
        preprocessing:
          - zscore: {}
        augmentation:
          flip_probability: 0.5
          noise_probability: 0.5
        network: {depth: 3, base_channels: 4}
        stages:
          - pretrain:
              training: {epochs: 1, validation_fraction: 0}
          - joint:
              name: joint-simple
              from: pretrain
              classification_weight: 0.5
              transfer: {freeze: first-levels, frozen_levels: 1}
              training: {epochs: 1, validation_fraction: 0}
        evaluation: {samples: 1}
        """;

    [Fact]
    public void RunWritesTheOutputFolderAndMetricsJsonFollowsRunReport()
    {
        var dir = CliRun.TempDir("mlnm-run-");
        try
        {
            var pipeline = Path.Combine(dir, "joint.yaml");
            File.WriteAllText(pipeline, JointPipeline);
            var outDir = Path.Combine(dir, "out");
            var (code, stdout, stderr) = CliRun.Run("run", pipeline, "--out", outDir, "--quiet");
            Assert.True(code == ExitCodes.Success, stderr);
            var lines = stdout.TrimEnd().Split('\n');
            Assert.Equal(Path.Combine(outDir, "report.html"), lines[^1]);
            Assert.Contains(lines, l => l.StartsWith("joint-simple") && l.Contains("joint"));
            foreach (var file in new[] { "metrics.json", "report.html", "run.log", "config.resolved.yaml", "models/pretrain.zip", "models/joint-simple.zip", "data/manifest.csv" })
                Assert.True(File.Exists(Path.Combine(outDir, file)), file);

            var report = JsonSerializer.Deserialize<RunReport>(File.ReadAllText(Path.Combine(outDir, "metrics.json")), PipelineExecution.MetricsJson)!;
            Assert.Equal("toy-joint", report.Title);
            Assert.Equal(["pretrain", "joint-simple"], report.Methods.Select(m => m.Name));
            var joint = report.Methods[1];
            Assert.NotNull(joint.Classification);
            Assert.Equal(3, joint.Classification!.ConfusionMatrix.Count);
            Assert.Equal(6, joint.Classification.ConfusionMatrix.Sum(r => r.Sum()));
            Assert.Equal(3, joint.Classification.RocCurves.Count);
            Assert.NotNull(joint.Segmentation);
            Assert.Single(joint.History);
            Assert.NotNull(report.Methods[0].Segmentation);
            Assert.Null(report.Methods[0].Classification);
            // The sample image is in the report only (patient data), with the joint model's predicted mask drawn over it.
            Assert.Empty(report.Samples);
            var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
            Assert.Equal(1, html.Split("<svg class=\"sample\"").Length - 1);
            Assert.Contains("class=\"mask-pred\"", html);
            Assert.Contains("libtorch", report.Environment.Keys);

            // The resolved config reads back to the same config (every default written out).
            var resolved = File.ReadAllText(Path.Combine(outDir, "config.resolved.yaml"));
            Assert.Contains("classification_weight: 0.5", resolved);
            Assert.Equal(resolved, Yaml.YamlConfigWriter.Write(PipelineExecution.Read(resolved, "resolved", [])));
            Assert.Contains("joint-simple: epoch 1/1", File.ReadAllText(Path.Combine(outDir, "run.log")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("name: x\nstages:\n  - pretrain: {}\n  - fine_tune: {from: nothing}\ndata: {synthetic: {task: cardiac-level-2d}}\n", "p.yaml:4:", "not an earlier pretrain or joint stage")]
    [InlineData("name: x\nstages:\n  - pretrain: {}\ndata: {synthetic: {task: cardiac}}\n", "p.yaml:4:", "allowed values: brain-tumor-3d, cardiac-level-2d")]
    [InlineData("name: x\nstages:\n  - pretrain: {}\n    featurize: {}\ndata: {synthetic: {task: cardiac-level-2d}}\n", "p.yaml:", "exactly one of: pretrain, featurize, imagenet_features, fine_tune, imagenet_fine_tune, scratch, joint")]
    [InlineData("name: x\nstages:\n  - joint: {topology: unet}\ndata: {synthetic: {task: cardiac-level-2d}}\n", "p.yaml:3:", "allowed values: simple, y-net")]
    [InlineData("name: x\nstagse: []\n", "p.yaml:2:1", "allowed keys: name, seed, threads, data, preprocessing")]
    [InlineData("name: x\nstages:\n  - pretrain: {}\ndata: {synthetic: {task: cardiac-level-2d}}\naugmentation: {flip_probability: 1.5}\n", "p.yaml:5:", "'flip_probability' must be a probability in [0, 1]")]
    [InlineData("name: x\nstages:\n  - pretrain: {}\ndata: {synthetic: {task: cardiac-level-2d}}\naugmentation: {flip: 0.5}\n", "p.yaml:5:", "allowed keys: flip_probability, rotate90_probability, affine_probability")]
    [InlineData("name: x\nstages:\n  - pretrain: {}\ndata: {synthetic: {task: cardiac-level-2d}}\naugmentation: {noise_std: -1}\n", "p.yaml:5:", "'noise_std' must be ≥ 0")]
    public void BadPipelinesExitWithOneNamingFileLineAndAllowedValues(string yaml, string where, string message)
    {
        var dir = CliRun.TempDir("mlnm-run-bad-");
        try
        {
            var pipeline = Path.Combine(dir, "p.yaml");
            File.WriteAllText(pipeline, yaml);
            var (code, _, stderr) = CliRun.Run("run", pipeline, "--out", Path.Combine(dir, "out"));
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Contains(Path.Combine(dir, where), stderr);
            Assert.Contains(message, stderr);
            Assert.False(Directory.Exists(Path.Combine(dir, "out")), "nothing is written for a bad pipeline");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AStageKindWithoutSettingsTakesItsDefaults()
    {
        var config = PipelineExecution.Read("name: x\ndata: {synthetic: {task: cardiac-level-2d}}\nstages:\n  - pretrain:\n  - scratch:\n", "p.yaml", []);
        Assert.Equal(20, config.Stages[0].Pretrain!.Training.Epochs);
        Assert.Equal("scratch", config.Stages[1].Name);
        var e = Assert.Throws<CliUserException>(() => PipelineExecution.Read("name: x\ndata: {synthetic: {task: cardiac-level-2d}}\nstages:\n  - {}\n", "p.yaml", []));
        Assert.Contains("exactly one of", e.Message);
    }

    [Fact]
    public void ShippedPipelinesAreValid()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(RepoRoot(), "pipelines"), "*.yaml").Where(f => !Path.GetFileName(f).StartsWith("sweep-", StringComparison.Ordinal)))
            PipelineExecution.Read(File.ReadAllText(file), file, []); // sweep-*.yaml are sweep files (SweepCommandTests)
    }

    [Theory]
    [InlineData("brain-3d.yaml")]
    [InlineData("cardiac-2d.yaml")]
    [InlineData("liver-joint.yaml")]
    public void ShippedPipelinesRunAtToyScale(string file)
    {
        var path = Path.Combine(RepoRoot(), "pipelines", file);
        var config = PipelineExecution.Read(File.ReadAllText(path), path,
            ["data.synthetic.train=6", "data.synthetic.test=6", "data.synthetic.pretrain=6", "data.synthetic.size=16", "network.base_channels=2", "network.depth=3", "evaluation.samples=1"]);
        foreach (var stage in config.Stages)
        {
            var training = stage.Body!.Training;
            (training.Epochs, training.BatchSize, training.ValidationFraction) = (1, 4, 0);
        }
        var dir = CliRun.TempDir("mlnm-shipped-");
        try
        {
            var output = new StringWriter();
            var last = PipelineExecution.Execute(new CliContext(output, TextWriter.Null), config, Path.GetDirectoryName(path)!, dir, quiet: true, json: false);
            Assert.Equal(Path.Combine(dir, "report.html"), last);
            foreach (var stage in config.Stages) Assert.Contains(output.ToString().Split('\n'), l => l.StartsWith(stage.Name + " "));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ImagenetFeaturesStageRunsWithoutPretrainAndReportsItsKind()
    {
        // ResNet18 at 224² costs about 0.1–0.3 s per image: 8 images in all.
        var config = PipelineExecution.Read("""
            name: toy-imagenet
            data:
              synthetic: {task: cardiac-level-2d, train: 4, test: 4, pretrain: 2, size: 16}
            stages:
              - imagenet_features: {name: imagenet, training: {epochs: 20}}
            evaluation: {samples: 1}
            """, "p.yaml", []);
        Assert.Equal(FeatureClassifier.SoftmaxRegression, config.Stages[0].ImagenetFeatures!.Classifier);
        var dir = CliRun.TempDir("mlnm-imagenet-");
        try
        {
            var output = new StringWriter();
            PipelineExecution.Execute(new CliContext(output, TextWriter.Null), config, dir, dir, quiet: true, json: false);
            Assert.Contains(output.ToString().Split('\n'), l => l.StartsWith("imagenet ") && l.Contains("imagenet-features"));
            var report = JsonSerializer.Deserialize<RunReport>(File.ReadAllText(Path.Combine(dir, "metrics.json")), PipelineExecution.MetricsJson)!;
            var method = Assert.Single(report.Methods);
            Assert.Equal("imagenet-features", method.Kind);
            Assert.Equal(4, method.Classification!.ConfusionMatrix.Sum(r => r.Sum()));
            Assert.True(File.Exists(Path.Combine(dir, "models", "imagenet.zip")));
            Assert.Contains("imagenet-features", File.ReadAllText(Path.Combine(dir, "report.html")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ImagenetFineTuneStageRunsWithoutPretrainSavesItsModelAndReportsItsKind()
    {
        // ResNet18 at 64² (input_size), two epochs on four images.
        var config = PipelineExecution.Read("""
            name: toy-imagenet-ft
            data:
              synthetic: {task: cardiac-level-2d, train: 4, test: 4, pretrain: 2, size: 16}
            stages:
              - imagenet_fine_tune: {name: imagenet-ft, input_size: 64, training: {epochs: 2, batch_size: 2}}
            evaluation: {samples: 1}
            """, "p.yaml", []);
        Assert.Equal(64, config.Stages[0].ImagenetFineTune!.InputSize);
        Assert.Equal(112, new ImagenetFineTuneStage().InputSize);
        var dir = CliRun.TempDir("mlnm-imagenet-ft-");
        try
        {
            var output = new StringWriter();
            PipelineExecution.Execute(new CliContext(output, TextWriter.Null), config, dir, dir, quiet: true, json: false);
            Assert.Contains(output.ToString().Split('\n'), l => l.StartsWith("imagenet-ft ") && l.Contains("imagenet-fine-tune"));
            var report = JsonSerializer.Deserialize<RunReport>(File.ReadAllText(Path.Combine(dir, "metrics.json")), PipelineExecution.MetricsJson)!;
            var method = Assert.Single(report.Methods);
            Assert.Equal("imagenet-fine-tune", method.Kind);
            Assert.Equal(4, method.Classification!.ConfusionMatrix.Sum(r => r.Sum()));
            Assert.True(File.Exists(Path.Combine(dir, "models", "imagenet-ft.zip")));
            Assert.Contains("imagenet-fine-tune", File.ReadAllText(Path.Combine(dir, "report.html")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ImagenetFineTuneStageRefusesABadInputSizeNamingTheKey()
    {
        var e = Assert.Throws<CliUserException>(() => PipelineExecution.Read(
            "name: x\ndata: {synthetic: {task: cardiac-level-2d}}\nstages:\n  - imagenet_fine_tune: {input_size: 8}\n", "p.yaml", []));
        Assert.Contains("p.yaml:4:", e.Message);
        Assert.Contains("'input_size' must be in 64..1024", e.Message);
    }

    [Fact]
    public void ImagenetFeaturesStageRefusesABadL2NamingTheKey()
    {
        var e = Assert.Throws<CliUserException>(() => PipelineExecution.Read(
            "name: x\ndata: {synthetic: {task: cardiac-level-2d}}\nstages:\n  - imagenet_features: {l2: -1}\n", "p.yaml", []));
        Assert.Contains("p.yaml:4:", e.Message);
        Assert.Contains("'l2' must be ≥ 0", e.Message);
    }

    internal static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "MlNetMedical.sln"))) dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found");
        return dir;
    }
}
