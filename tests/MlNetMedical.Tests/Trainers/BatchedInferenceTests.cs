using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Models;
using MlNetMedical.Trainers;
using Xunit;

namespace MlNetMedical.Tests.Trainers;

/// <summary>
/// Network transformers can run rows in batches. libtorch's oneDNN convolutions and BLAS choose kernels by batch size, so batched
/// outputs match row-by-row ones to about 1e-7 (labels and masks exactly); each batch size is itself deterministic, and the
/// default (1) is exactly the row-by-row result.
/// </summary>
[Collection("Torch")]
public sealed class BatchedInferenceTests
{
    private readonly MLContext _ml = new(seed: 13);

    private static List<string> Outputs(ImageNetworkTransformer model, IDataView data, int batchSize)
    {
        model.InferenceBatchSize = batchSize;
        var view = model.Transform(data);
        var columns = view.Schema.Where(c => c.Name is "Features" or "Score" or "PredictedLabel" or "PredictedMask").ToList();
        Assert.NotEmpty(columns);
        IEnumerable<object?> Values(string name) => name switch
        {
            "PredictedLabel" => view.GetColumn<uint>(name).Cast<object?>(),
            "PredictedMask" => view.GetColumn<LabelMap>(name),
            _ => view.GetColumn<float[]>(name),
        };
        return [.. columns.SelectMany(c => Values(c.Name).Select(v => $"{c.Name}:{Describe(v)}"))];
    }

    // Float vectors equal to 1e-5 (relative to the largest magnitude); labels and masks exactly.
    private static void AssertClose(List<string> expected, List<string> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            if (!expected[i].Contains('#')) { Assert.Equal(expected[i], actual[i]); continue; }
            var e = expected[i].Split('#')[1].Split(';').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var a = actual[i].Split('#')[1].Split(';').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var scale = Math.Max(1e-3f, e.Max(Math.Abs));
            Assert.Equal(e.Length, a.Length);
            for (var j = 0; j < e.Length; j++) Assert.True(Math.Abs(e[j] - a[j]) <= 1e-5f * scale, $"{expected[i].Split('#')[0]} [{j}]: {e[j]:R} vs {a[j]:R}");
        }
    }

    private static string Describe(object? value) => value switch
    {
        float[] f => "#" + string.Join(";", f.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))),
        LabelMap m => string.Join(",", m.Labels),
        _ => value?.ToString() ?? "null",
    };

    [Fact]
    public void BatchedOutputsAreBitIdenticalToRowByRow()
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(10, 1));
        var test = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(11, 2)); // 11: the last batch is partial
        var unet = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(1)).Fit(train);
        ImageNetworkTransformer[] models =
        [
            unet,
            _ml.Transforms.SegmentationEncoderFeatures(unet, levels: [-2, -1], pooling: PoolingKind.AverageMax).Fit(train),
            _ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 3, baseChannels: 4), SyntheticImages.Quick(1)).Fit(train),
            _ml.MulticlassClassification.Trainers.JointSegmentationClassifier(JointTopology.YNet, unet: SyntheticImages.TinyUNet, training: SyntheticImages.Quick(1)).Fit(train),
            _ml.MulticlassClassification.Trainers.JointSegmentationClassifier(JointTopology.Simple, unet: SyntheticImages.TinyUNet, training: SyntheticImages.Quick(1)).Fit(train),
        ];
        foreach (var model in models)
        {
            Assert.Equal(1, model.InferenceBatchSize);
            var single = Outputs(model, test, 1);
            foreach (var size in new[] { 4, 32 })
            {
                var batched = Outputs(model, test, size);
                Assert.Equal(batched, Outputs(model, test, size)); // deterministic
                AssertClose(single, batched);
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => models[0].InferenceBatchSize = 0);
        var estimator = _ml.Transforms.SegmentationEncoderFeatures(unet);
        estimator.InferenceBatchSize = 5;
        Assert.Equal(5, estimator.Fit(train).InferenceBatchSize);
    }

    private sealed class SizedRow
    {
        [VolumeColumn(VolumeKind.Image)] public Volume Image { get; set; } = null!;
    }

    [Fact]
    public void RowsOfDifferentShapesInOneBatchAreSplitIntoRuns()
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(8, 1));
        var features = _ml.Transforms.SegmentationEncoderFeatures(_ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(1)).Fit(train)).Fit(train);
        var random = new Random(5);
        var rows = new[] { 16, 16, 8, 8, 8, 16, 8 }.Select(size => new SizedRow
        {
            Image = Volume.Create<float>(Enumerable.Range(0, size * size).Select(_ => (float)random.NextDouble()).ToArray(), [size, size]),
        }).ToList();
        var data = _ml.Data.LoadFromEnumerable(rows);
        AssertClose(Outputs(features, data, 1), Outputs(features, data, 8));
    }
}
