using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Models;
using MlNetMedical.Trainers;
using Xunit;

namespace MlNetMedical.Tests.Trainers;

/// <summary>
/// Rows whose label is missing (key 0) are left out of a classifier's training with a count in the context's log (they used to
/// reach libtorch as target −1); the joint trainer keeps rows that have a mask for its segmentation loss.
/// </summary>
[Collection("Torch")]
public sealed class UnlabelledRowsTests
{
    private sealed class FeatureRow
    {
        [VectorType(3)] public float[] Features { get; set; } = [];
        // LoadFromEnumerable reads a key property 0-based and adds one; a value ≥ the count becomes the missing key 0.
        [KeyType(2)] public uint Label { get; set; }
        public string GroupId { get; set; } = "";
    }

    private static (MLContext Ml, List<string> Log) Context()
    {
        var ml = new MLContext(seed: 3);
        var log = new List<string>();
        ml.Medical().Log += (_, e) => { lock (log) log.Add($"{e.Kind} {e.Source}: {e.Message}"); };
        return (ml, log);
    }

    [Fact]
    public void MlpLeavesRowsWithoutALabelOutAndSaysHowMany()
    {
        var (ml, log) = Context();
        var random = new Random(1);
        var rows = Enumerable.Range(0, 24).Select(i => new FeatureRow
        {
            Features = [i % 2 + (float)random.NextDouble() * 0.1f, (float)random.NextDouble(), 1f],
            Label = i % 6 == 0 ? uint.MaxValue : (uint)(i % 2),
            GroupId = $"P{i}",
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        Assert.Equal(4, data.GetColumn<uint>("Label").Count(k => k == 0));
        var trainer = ml.MulticlassClassification.Trainers.Mlp(hiddenUnits: [4], training: new() { Epochs = 2, BatchSize = 8 });
        using var model = trainer.Fit(data);
        Assert.NotNull(trainer.LastHistory);
        Assert.Contains(log, m => m.Contains("4 of 24 rows have no label", StringComparison.Ordinal) && m.Contains("Mlp", StringComparison.Ordinal));
    }

    [Fact]
    public void ImageCnnLeavesRowsWithoutALabelOutAndSaysHowMany()
    {
        var (ml, log) = Context();
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(20, 1, partial: true)); // every fifth row unlabelled
        var trainer = ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4),
            training: SyntheticImages.Quick(1));
        using var model = trainer.Fit(data);
        Assert.NotNull(trainer.LastHistory);
        Assert.Contains(log, m => m.Contains("4 of 20 rows have no label", StringComparison.Ordinal));
    }

    [Fact]
    public void AClassifierWithNoLabelledRowSaysSo()
    {
        var (ml, _) = Context();
        var rows = Enumerable.Range(0, 6).Select(i => new FeatureRow { Features = [i, 0, 1], Label = uint.MaxValue, GroupId = $"P{i}" });
        var trainer = ml.MulticlassClassification.Trainers.Mlp(hiddenUnits: [4], training: new() { Epochs = 1 });
        var e = Assert.Throws<InvalidOperationException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("no label", e.Message, StringComparison.Ordinal);
        Assert.Contains("'Label'", e.Message, StringComparison.Ordinal);
    }
}
