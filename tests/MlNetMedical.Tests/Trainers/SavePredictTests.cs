using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;
using Xunit;

namespace MlNetMedical.Tests.Trainers;

[Collection("Torch")]
public sealed class SavePredictTests : IDisposable
{
    private readonly MLContext _ml = new(seed: 5);
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-save-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ITransformer FeaturesPipeline(IDataView train)
    {
        var seg = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(2)).Fit(train);
        // Standardised features, as the removed SoftmaxRegression standardised inside: unscaled pooled features leave every score near 0.5.
        return _ml.Transforms.SegmentationEncoderFeatures(seg, levels: [-1])
            .Append(_ml.Transforms.NormalizeMeanVariance("Features"))
            .Append(_ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy()).Fit(train);
    }

    [Fact]
    public void SaveLoadPredictGivesIdenticalOutputs()
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(24, 1));
        var test = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(10, 2));
        var model = FeaturesPipeline(train);
        var path = Path.Combine(_dir, "model.zip");
        _ml.Model.SaveMedical(model, train.Schema, path);
        var loaded = _ml.Model.LoadMedical(path, out _);
        var before = model.Transform(test).GetColumn<float[]>("Score").ToList();
        var after = loaded.Transform(test).GetColumn<float[]>("Score").ToList();
        Assert.Equal(10, after.Count);
        Assert.True(before.Select(s => s[0]).Distinct().Count() > 1, "every row scores the same, so the comparison could not fail");
        for (var i = 0; i < before.Count; i++) Assert.Equal(before[i], after[i]);
    }

    [Fact]
    public void FineTunedAndJointModelsRoundTrip()
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(16, 1));
        var test = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(6, 2));
        ITransformer[] models =
        [
            _ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 3, baseChannels: 4), training: SyntheticImages.Quick(1)).Fit(train),
            _ml.MulticlassClassification.Trainers.JointSegmentationClassifier(JointTopology.YNet, unet: SyntheticImages.TinyUNet, training: SyntheticImages.Quick(1)).Fit(train),
        ];
        foreach (var model in models)
        {
            var path = Path.Combine(_dir, "m.zip");
            _ml.Model.SaveMedical(model, train.Schema, path);
            var loaded = _ml.Model.LoadMedical(path, out _);
            Assert.Equal(model.Transform(test).GetColumn<float[]>("Score").ToList(), loaded.Transform(test).GetColumn<float[]>("Score").ToList());
        }
    }

    [Fact]
    public void LoadRejectsWeightsThatDoNotMatchTheNetwork()
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(16, 1));
        using var small = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(1)).Fit(train);
        var path = Path.Combine(_dir, "seg.zip");
        _ml.Model.SaveMedical(small, train.Schema, path);
        // Swap in the config of a wider network and re-seal the manifest, so only the weights disagree.
        var entries = new Dictionary<string, byte[]>();
        using (var zip = ZipFile.OpenRead(path))
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                using var m = new MemoryStream();
                s.CopyTo(m);
                entries[e.FullName] = m.ToArray();
            }
        var configNode = JsonNode.Parse(entries["model/config.json"])!;
        var network = JsonNode.Parse(configNode["network"]!.GetValue<string>())!;
        network["encoder"]!["baseChannels"] = 8;
        configNode["network"] = network.ToJsonString();
        entries["model/config.json"] = System.Text.Encoding.UTF8.GetBytes(configNode.ToJsonString());
        var manifest = JsonNode.Parse(entries["manifest.json"])!;
        foreach (var entry in manifest["entries"]!.AsArray())
        {
            var bytes = entries[entry!["path"]!.GetValue<string>()];
            entry["length"] = bytes.Length;
            entry["sha256"] = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        }
        entries["manifest.json"] = System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var tampered = Path.Combine(_dir, "tampered.zip");
        using (var zip = ZipFile.Open(tampered, ZipArchiveMode.Create))
            foreach (var (name, bytes) in entries)
            {
                using var s = zip.CreateEntry(name).Open();
                s.Write(bytes);
            }
        var error = Assert.Throws<InvalidDataException>(() => _ml.Model.LoadMedical(tampered, out _));
        Assert.Contains("weights.safetensors does not match", error.Message);
    }

    [Fact]
    public void PredictionEnginesOnManyThreadsAgreeWithTransform()
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(16, 1));
        var model = FeaturesPipeline(train);
        var rows = SyntheticImages.Disks(8, 9);
        var expected = model.Transform(_ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToList();
        Assert.True(expected.Select(s => s[0]).Distinct().Count() > 1, "every row scores the same, so the comparison could not fail");
        // By default an engine owns its model and disposes it (the networks' tensors with it); these engines share one model.
        var shared = new PredictionEngineOptions { OwnsTransformer = false };
        using (var engine = _ml.Model.CreatePredictionEngine<DiskRow, ScoredRow>(model, shared))
            for (var i = 0; i < rows.Count; i++)
            {
                var prediction = engine.Predict(rows[i]);
                Assert.Equal(expected[i], prediction.Score);
                Assert.Equal((uint)(Array.IndexOf(expected[i], expected[i].Max()) + 1), prediction.PredictedLabel);
            }
        // ML.NET's PredictionEngine is not thread-safe: one per thread, all sharing the model's network stages.
        var results = new float[rows.Count * 4][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            using var engine = _ml.Model.CreatePredictionEngine<DiskRow, ScoredRow>(model, shared);
            for (var i = t; i < results.Length; i += 4) results[i] = engine.Predict(rows[i % rows.Count]).Score;
        });
        for (var i = 0; i < results.Length; i++) Assert.Equal(expected[i % rows.Count], results[i]);
    }
}
