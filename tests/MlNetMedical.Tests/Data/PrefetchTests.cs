using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Models;
using MlNetMedical.Tests.Trainers;
using Xunit;

namespace MlNetMedical.Tests.Data;

/// <summary>Manifest views load rows ahead (imaging layer's prefetcher); rows must come out identical and in order.</summary>
[Collection("Torch")]
public sealed class PrefetchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-prefetch-").FullName;
    private readonly MLContext _ml = new(seed: 9);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A manifest of the synthetic disks written as NIfTI files; every third row is a test row.</summary>
    private string WriteManifest(int count) => SyntheticImages.WriteManifest(_dir, count, i => i % 3 == 0 ? "test" : "train");

    private static List<string> Rows(IDataView view) =>
        [.. Enumerable.Zip(view.GetColumn<string>("Id"), view.GetColumn<Volume>("Image"), view.GetColumn<Volume>("Mask"))
            .Zip(view.GetColumn<uint>("Label"), (r, label) => $"{r.First}|{Convert.ToHexString(r.Second.Data)}|{Convert.ToHexString(r.Third.Data)}|{label}")];

    [Fact]
    public void PrefetchedRowsAreIdenticalAndInOrder()
    {
        var manifest = WriteManifest(14);
        var plain = _ml.Data.LoadFromManifest(manifest, prefetch: 0);
        foreach (var ahead in new[] { 1, 3, 32 })
        {
            var prefetched = _ml.Data.LoadFromManifest(manifest, cacheFolder: Path.Combine(_dir, $"cache{ahead}"), prefetch: ahead);
            var expected = Rows(plain);
            Assert.Equal(Enumerable.Range(0, 14).Select(i => $"case{i:D2}"), expected.Select(r => r.Split('|')[0]));
            Assert.Equal(expected, Rows(prefetched));
            Assert.Equal(expected, Rows(prefetched)); // second pass: from the cache
            // Split filters and splits subset the dataset itself (only kept rows are loaded): same rows as the plain view's.
            Assert.Equal(Rows(_ml.Data.FilterBySplit(plain, "test")), Rows(_ml.Data.FilterBySplit(prefetched, "test")));
            Assert.Equal(5, _ml.Data.FilterBySplit(prefetched, "test").GetRowCount());
            // The framework's splitter (trainers' validation splits) subsets the dataset too.
            var a = DataSplitter.TrainTest(plain, 0.3, "GroupId", "Label", seed: 2);
            var b = DataSplitter.TrainTest(prefetched, 0.3, "GroupId", "Label", seed: 2);
            Assert.Equal(Rows(a.TestSet), Rows(b.TestSet));
            Assert.Equal(Rows(a.TrainSet), Rows(b.TrainSet));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Data.LoadFromManifest(manifest, prefetch: -1));
    }

    [Fact]
    public void TrainingAndInferenceGiveIdenticalResultsWithPrefetch()
    {
        var manifest = WriteManifest(12);
        float[] Scores(int prefetch)
        {
            var data = _ml.Data.LoadFromManifest(manifest, prefetch: prefetch);
            using var model = _ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4),
                training: SyntheticImages.Quick(2)).Fit(_ml.Data.FilterBySplit(data, "train"));
            return [.. model.Transform(data).GetColumn<float[]>("Score").SelectMany(s => s)];
        }
        Assert.Equal(Scores(0), Scores(4));
    }
}
