using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using System.Globalization;
using System.Security.Cryptography;
using MlNetMedical.Models;
using MlNetMedical.Tests.Trainers;
using MlNetMedical.Training;
using Xunit;

namespace MlNetMedical.Tests.Training;

/// <summary>
/// The same seeded training in two separate processes gives bit-identical metrics, weights and scores: nothing depends on
/// per-process state (string hash randomisation, allocation addresses, thread timing).
/// </summary>
[Collection("Torch")]
public sealed class CrossProcessDeterminismTests
{
    internal const string WorkerCommand = "train-seeded";

    /// <summary>Trains a small classifier (augmented, class-balanced, validation split by group) and prints per-epoch metrics
    /// (round-trip format), the SHA-256 of its weights and its test scores as bits.</summary>
    internal static string TrainAndDescribe(int seed)
    {
        var ml = new MLContext(seed: seed);
        var train = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(16, 1));
        var test = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(6, 2));
        var trainer = ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 3, baseChannels: 4),
            training: SyntheticImages.Quick(3) with
            {
                ClassBalancing = ClassBalancing.BalancedSampler,
                Augmentation = MlNetMedical.Transforms.Augmentations.From(new() { FlipProbability = 0.5, NoiseProbability = 0.5 }, seed),
            });
        using var model = trainer.Fit(train);
        var lines = trainer.LastHistory!.Epochs.Select((e, i) =>
            $"epoch {i}: " + string.Join(", ", e.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.ToString("R", CultureInfo.InvariantCulture)}"))).ToList();
        using var weights = new MemoryStream();
        Safetensors.Write(weights, model.Network.state_dict());
        lines.Add("weights sha256 " + Convert.ToHexString(SHA256.HashData(weights.ToArray())));
        lines.Add("scores " + string.Join(" ", model.Transform(test).GetColumn<float[]>("Score").SelectMany(s => s).Select(v => BitConverter.SingleToInt32Bits(v).ToString("X8"))));
        return string.Join("\n", lines);
    }

    private static string RunWorker(int seed) => ChildProcess.Run(WorkerCommand, seed.ToString(CultureInfo.InvariantCulture));

    [Fact]
    public void SeededTrainingIsBitIdenticalAcrossProcesses()
    {
        var first = RunWorker(21);
        var second = RunWorker(21);
        Assert.Contains("weights sha256 ", first);
        Assert.Equal(3, first.Split('\n').Count(l => l.StartsWith("epoch ", StringComparison.Ordinal)));
        Assert.Equal(first, second);
        Assert.Equal(first, TrainAndDescribe(21)); // and in this process
        Assert.NotEqual(first, RunWorker(22)); // the seed matters, so the comparison can fail
    }
}
