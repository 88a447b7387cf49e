using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Tests.Trainers;
using MlNetMedical.Training;
using Xunit;

namespace MlNetMedical.Tests.Training;

[Collection("Torch")]
public sealed class TrainingLoopTests : IDisposable
{
    private readonly MLContext _ml = new(seed: 7);
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private IDataView Train => _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(24, 1));

    private (TrainingHistory History, float[] Scores) Run(TrainingOptions options)
    {
        var trainer = _ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 3, baseChannels: 4), options);
        using var model = trainer.Fit(Train);
        var scores = model.Transform(_ml.Data.LoadFromEnumerable(SyntheticImages.Disks(6, 2))).GetColumn<float[]>("Score").SelectMany(s => s).ToArray();
        return (trainer.LastHistory!, scores);
    }

    private static string Describe(TrainingHistory h) => string.Join(" | ", h.Epochs.Select(e => string.Join(",", e.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value:R}"))));

    [Fact]
    public void SameSeedGivesBitIdenticalMetrics()
    {
        var options = SyntheticImages.Quick(3) with { ClassBalancing = ClassBalancing.BalancedSampler, Schedule = LearningRateSchedule.Cosine, GradientClipNorm = 1.0 };
        var a = Run(options);
        var b = Run(options);
        Assert.Equal(Describe(a.History), Describe(b.History));
        Assert.Equal(a.Scores, b.Scores);
    }

    [Fact]
    public void ResumingFromACheckpointContinuesIdentically()
    {
        var full = Run(SyntheticImages.Quick(4) with { Schedule = LearningRateSchedule.Step });
        var checkpointed = SyntheticImages.Quick(4) with { Schedule = LearningRateSchedule.Step, CheckpointDirectory = _dir };
        var stopAfterTwo = new StopAfter(2);
        Run(checkpointed with { EpochCallback = stopAfterTwo });
        Assert.True(File.Exists(Path.Combine(_dir, "checkpoint.json")));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        var resumed = Run(checkpointed);
        Assert.Equal(Describe(full.History), Describe(resumed.History));
        Assert.Equal(full.Scores, resumed.Scores);
    }

    [Fact]
    public void EarlyStoppingRestoresTheBestEpochAndReportsProgress()
    {
        var reports = new List<TrainingProgress>();
        var (history, _) = Run(SyntheticImages.Quick(12) with
        {
            EarlyStoppingMetric = "loss", EarlyStoppingPatience = 2, LearningRate = 0.05, Progress = new SyncProgress(reports.Add),
        });
        var losses = history.Epochs.Select(e => e["loss"]).ToList();
        Assert.Equal(losses.IndexOf(losses.Min()), history.BestEpoch);
        Assert.Contains(reports, r => r.EpochEnd && r.Metrics.ContainsKey("accuracy"));
        Assert.All(reports.Where(r => !r.EpochEnd), r => Assert.True(r.LearningRate > 0 && double.IsFinite(r.Loss)));
        Assert.NotNull(reports[^1].Remaining);
    }

    [Fact]
    public void CancellationStopsTraining()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Run(SyntheticImages.Quick(2) with { CancellationToken = cancel.Token }));
    }

    [Fact]
    public void BadOptionsAreRejectedByName()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Run(SyntheticImages.Quick(0)));
        Assert.Equal("Epochs", e.ParamName);
    }

    private sealed class StopAfter(int epochs) : IEpochMetricsCallback
    {
        public bool OnEpoch(int epoch, IReadOnlyDictionary<string, double> metrics) => epoch + 1 < epochs;
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
