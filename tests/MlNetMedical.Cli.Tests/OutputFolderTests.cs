using System.Runtime.InteropServices;
using System.Text.Json;
using MlNetMedical.AutoML;
using MlNetMedical.Cli.Reporting;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>What `run`, `quickstart` and `sweep` write: figures only in metrics.json, no machine name unless asked,
/// every file replaced whole (never rewritten in place), and existing results never mixed or clobbered.</summary>
[Collection(TrainingCollection.Name)]
public sealed class OutputFolderTests(TinyModels models) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-outputs-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private static (int Code, string Out, string Err) Quickstart(string outDir, params string[] extra) =>
        CliRun.Run(["quickstart", "--out", outDir, "--quiet", .. CliRun.ToyQuickstart, .. extra]);

    [Fact]
    public void MetricsJsonHoldsFiguresOnlyAndTheReportHoldsTheSampleImages()
    {
        var outDir = Path.Combine(_dir, "samples");
        var (code, stdout, stderr) = Quickstart(outDir, "--json");
        Assert.True(code == ExitCodes.Success, stderr);
        var metrics = File.ReadAllText(Path.Combine(outDir, "metrics.json"));
        foreach (var text in new[] { metrics, stdout })
        {
            using var json = JsonDocument.Parse(text);
            Assert.False(json.RootElement.TryGetProperty("samples", out _), "metrics.json must not hold sample images");
            Assert.DoesNotContain("pixels", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("trueMask", text, StringComparison.OrdinalIgnoreCase);
        }
        // The report still shows them (evaluation.samples: 2 in the toy settings).
        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Equal(2, html.Split("<svg class=\"sample\"").Length - 1);

        var none = Path.Combine(_dir, "no-samples");
        var second = Quickstart(none, "--set", "evaluation.samples=0");
        Assert.True(second.Code == ExitCodes.Success, second.Err);
        Assert.DoesNotContain("<svg class=\"sample\"", File.ReadAllText(Path.Combine(none, "report.html")));
    }

    [Fact]
    public void TheMachineNameIsLeftOutUnlessAskedFor()
    {
        var outDir = Path.Combine(_dir, "anonymous");
        var (code, _, stderr) = Quickstart(outDir, "--set", "stages=[{pretrain: {training: {epochs: 1}}}]", "--seed", "7", "--threads", "1");
        Assert.True(code == ExitCodes.Success, stderr);
        var report = JsonSerializer.Deserialize<RunReport>(File.ReadAllText(Path.Combine(outDir, "metrics.json")), Pipelines.PipelineExecution.MetricsJson)!;
        Assert.DoesNotContain("machine", report.Environment.Keys);
        Assert.Equal(("7", "1"), (report.Environment["seed"], report.Environment["torch threads"])); // --seed and --threads override the file
        Assert.Contains("seed: 7\nthreads: 1\n", File.ReadAllText(Path.Combine(outDir, "config.resolved.yaml")));
        Assert.Contains("libtorch", report.Environment.Keys);
        Assert.DoesNotContain("<th>machine</th>", File.ReadAllText(Path.Combine(outDir, "report.html")));

        var named = Path.Combine(_dir, "named");
        var second = Quickstart(named, "--set", "stages=[{pretrain: {training: {epochs: 1}}}]", "--record-machine");
        Assert.True(second.Code == ExitCodes.Success, second.Err);
        report = JsonSerializer.Deserialize<RunReport>(File.ReadAllText(Path.Combine(named, "metrics.json")), Pipelines.PipelineExecution.MetricsJson)!;
        Assert.Equal(Environment.MachineName, report.Environment["machine"]);
    }

    [Fact]
    public void TheSamplesTemporaryPngIsPrivateAndRemoved()
    {
        var thread = Environment.CurrentManagedThreadId;
        var seen = new List<(string Path, UnixFileMode File, UnixFileMode Folder)>();
        SampleRendering.TemporaryPngWritten = p =>
        {
            if (Environment.CurrentManagedThreadId == thread) seen.Add((p, File.GetUnixFileMode(p), File.GetUnixFileMode(Path.GetDirectoryName(p)!)));
        };
        try { Assert.Contains("<svg class=\"sample\"", SampleRendering.Svg(new SampleImage { Id = "case-1", Width = 3, Height = 2, Pixels = [1, 2, 3, 4, 5, 6] })); }
        finally { SampleRendering.TemporaryPngWritten = null; }
        var (path, file, folder) = Assert.Single(seen);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, file);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, folder);
        Assert.False(File.Exists(path));
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link(string existing, string created);

    /// <summary>A second name for <paramref name="path"/>'s current content: a file replaced by rename keeps the old content
    /// under this name, a file rewritten in place shows the new one.</summary>
    private static string HardLink(string path)
    {
        var other = path + ".before";
        Assert.True(link(path, other) == 0, $"link({path}) failed: errno {Marshal.GetLastPInvokeError()}");
        return other;
    }

    [Fact]
    public void OutputsAreReplacedWholeNotRewrittenInPlace()
    {
        var outDir = Path.Combine(_dir, "atomic");
        string[] pretrainOnly = ["--set", "stages=[{pretrain: {training: {epochs: 1}}}]"];
        var first = Quickstart(outDir, pretrainOnly);
        Assert.True(first.Code == ExitCodes.Success, first.Err);
        string[] files = ["metrics.json", "report.html", "config.resolved.yaml", "models/pretrain.zip"];
        var before = files.ToDictionary(f => f, f => (Link: HardLink(Path.Combine(outDir, f)), Bytes: File.ReadAllBytes(Path.Combine(outDir, f))));

        var second = Quickstart(outDir, [.. pretrainOnly, "--set", "seed=2", "--force"]);
        Assert.True(second.Code == ExitCodes.Success, second.Err);
        foreach (var f in files)
        {
            Assert.Equal(before[f].Bytes, File.ReadAllBytes(before[f].Link)); // the old file was not touched...
            Assert.NotEqual(before[f].Bytes, File.ReadAllBytes(Path.Combine(outDir, f))); // ...a new one took its name
        }
        // No temporary files are left behind.
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp*", SearchOption.AllDirectories));
    }

    [Fact]
    public void PredictedMasksAndEvaluateJsonAreReplacedWhole()
    {
        var image = Path.Combine(Path.GetDirectoryName(models.LiverManifest)!, File.ReadAllLines(models.LiverManifest)[1].Split(',')[1]);
        var masks = Path.Combine(_dir, "masks");
        Assert.Equal(ExitCodes.Success, CliRun.Run("predict", "--model", models.Joint2D, "--input", image, "--out", masks, "--json").Code);
        var json = Path.Combine(_dir, "evaluation.json");
        Assert.Equal(ExitCodes.Success, CliRun.Run("evaluate", "--model", models.Joint2D, "--data", models.LiverManifest, "--json-out", json).Code);
        var mask = Directory.GetFiles(masks).Single();
        var links = new[] { mask, json }.ToDictionary(f => f, HardLink);

        Assert.Equal(ExitCodes.Success, CliRun.Run("predict", "--model", models.Joint2D, "--input", image, "--out", masks, "--json").Code);
        Assert.Equal(ExitCodes.Success, CliRun.Run("evaluate", "--model", models.Joint2D, "--data", models.LiverManifest, "--json-out", json).Code);
        // Scribbling over the old files' other names must leave the new files alone: they are other files, not the same ones rewritten.
        foreach (var (file, link) in links)
        {
            File.WriteAllText(link, "scribble");
            Assert.NotEqual("scribble", File.ReadAllText(file));
        }
        Assert.NotNull(Imaging.ImageIO.Read(mask));
    }

    [Fact]
    public void RunRefusesAFolderThatHoldsAnEarlierRunUnlessForced()
    {
        var outDir = Path.Combine(_dir, "existing");
        string[] pretrainOnly = ["--set", "stages=[{pretrain: {training: {epochs: 1}}}]"];
        Assert.Equal(ExitCodes.Success, Quickstart(outDir, pretrainOnly).Code);
        var metrics = File.ReadAllText(Path.Combine(outDir, "metrics.json"));

        var again = Quickstart(outDir, [.. pretrainOnly, "--set", "seed=3"]);
        Assert.Equal(ExitCodes.UserError, again.Code);
        Assert.Contains("--force", again.Err);
        Assert.Contains(outDir, again.Err);
        Assert.Equal(metrics, File.ReadAllText(Path.Combine(outDir, "metrics.json")));

        var pipeline = Path.Combine(_dir, "p.yaml");
        File.WriteAllText(pipeline, QuickstartPipeline());
        var run = CliRun.Run(["run", pipeline, "--out", outDir, "--quiet", .. CliRun.ToyQuickstart, .. pretrainOnly]);
        Assert.Equal(ExitCodes.UserError, run.Code);
        Assert.Contains("--force", run.Err);

        var forced = CliRun.Run(["run", pipeline, "--out", outDir, "--quiet", "--force", .. CliRun.ToyQuickstart, .. pretrainOnly]);
        Assert.True(forced.Code == ExitCodes.Success, forced.Err);
    }

    private static string QuickstartPipeline() => File.ReadAllText(Path.Combine(RunCommandTests.RepoRoot(), "pipelines", "quickstart.yaml"));

    [Theory]
    [InlineData("stages.0.pretrain.name=a/b", "stages.0.pretrain")]
    [InlineData("stages.0.pretrain.name=..", "stages.0.pretrain")]
    [InlineData("stages.5.scratch.name=' x'", "stages.5.scratch")]
    [InlineData("name=../../elsewhere", "name")]
    public void NamesThatCannotNameAFileAreRejectedBeforeTraining(string assignment, string key)
    {
        var outDir = Path.Combine(_dir, "names-" + Guid.NewGuid().ToString("N"));
        var (code, _, stderr) = CliRun.Run(["quickstart", "--out", outDir, "--quiet", .. CliRun.ToyQuickstart, "--set", assignment]);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains($"--set {assignment}", stderr);
        Assert.Contains(key, stderr);
        Assert.Contains("'name'", stderr);
        Assert.Contains("letters, digits", stderr);
        Assert.DoesNotContain("epoch", stderr);
        Assert.False(Directory.Exists(outDir), "nothing is trained or written for a bad name");
    }

    [Fact]
    public void SweepRefusesAnExistingStudyBeforeWritingAnything()
    {
        var outDir = Path.Combine(_dir, "study");
        Directory.CreateDirectory(outDir);
        using (var storage = StudyStorage.Sqlite(Path.Combine(outDir, "study.db")))
        {
            var study = storage.CreateOrLoadStudy("tiny", Direction.Maximize);
            var trial = storage.CreateTrial(study.Id, TrialState.Running)!;
            storage.FinishTrial(trial.Id, TrialState.Complete, 0.5);
        }
        File.WriteAllText(Path.Combine(outDir, "config.resolved.yaml"), "the earlier sweep's config\n");
        File.WriteAllText(Path.Combine(outDir, "sweep.log"), "the earlier sweep's log\n");
        var sweep = Path.Combine(_dir, "tiny.yaml");
        File.WriteAllText(sweep, "name: tiny\ndata: {synthetic: {task: cardiac-level-2d, train: 12, test: 6, pretrain: 6, size: 16}}\nsweep: {strategies: [scratch], max_trials: 1, epochs: 1}\n");

        var (code, _, stderr) = CliRun.Run("sweep", sweep, "--out", outDir, "--quiet");
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("--resume", stderr);
        Assert.Equal("the earlier sweep's config\n", File.ReadAllText(Path.Combine(outDir, "config.resolved.yaml")));
        Assert.Equal("the earlier sweep's log\n", File.ReadAllText(Path.Combine(outDir, "sweep.log")));
        Assert.False(Directory.Exists(Path.Combine(outDir, "data")), "no data is generated before the refusal");
    }
}
