using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Training;
using Xunit;
using TorchSharp;

namespace MlNetMedical.Tests.Trainers;

/// <summary>The context's device and thread count reach the engine; class weights survive an absent class.</summary>
[Collection("Torch")]
public sealed class ComputeTests
{
    private sealed class ThreadRecorder : IEpochMetricsCallback
    {
        public List<int> Seen { get; } = [];
        public bool OnEpoch(int epoch, IReadOnlyDictionary<string, double> metrics)
        {
            Seen.Add(TorchRuntime.CurrentThreads);
            return true;
        }
    }

    [Fact]
    public void ContextThreadsBecomeThePerThreadBudgetOfTraining()
    {
        var before = TorchRuntime.CurrentThreads;
        var budget = before == 1 ? 2 : 1; // differs from the process default, so the test can fail
        var ml = new MedicalContext(seed: 3, threads: budget);
        Assert.Equal(budget, ml.Compute.Threads);
        var recorder = new ThreadRecorder();
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(8, 1));
        using var model = ml.Classification.Trainers.ImageClassifier(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4),
            training: SyntheticImages.Quick(2) with { EpochCallback = recorder }).Fit(data);
        Assert.Equal([budget, budget], recorder.Seen);
        Assert.Equal(before, TorchRuntime.CurrentThreads); // restored after Fit
        Assert.Equal(budget, model.Compute.Threads);
        // The default context leaves the engine's process-wide count alone.
        Assert.Null(new MedicalContext(seed: 3).Compute.Threads);
    }

    [Fact]
    public void CudaIsRejectedByTheEngineProbeWhenLibtorchHasNone()
    {
        if (torch.cuda.is_available())
        {
            Assert.Equal("cuda", new MedicalContext(seed: 1, device: "cuda").Compute.Device);
            return;
        }
        var error = Assert.Throws<ArgumentException>(() => new MedicalContext(seed: 1, device: "cuda"));
        Assert.Contains("sees no CUDA device", error.Message);
        Assert.Contains("MlnmTorchBackend", error.Message);
    }

    [Fact]
    public void TrainersMoveTheirNetworkToTheRequestedDevice()
    {
        var ml = new MedicalContext(seed: 3);
        Assert.Equal("cpu", ml.Compute.Device);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(8, 1));
        var trainer = ml.Classification.Trainers.ImageClassifier(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4), training: SyntheticImages.Quick(1));
        using (var model = trainer.Fit(data))
            Assert.All(model.Network.parameters(), p => Assert.Equal(DeviceType.CPU, p.device_type));
        if (torch.cuda.is_available()) return;
        // Bypassing the context's check, a CUDA request reaches libtorch, which refuses it: the network really is moved.
        var onCuda = new MlNetMedical.Trainers.ImageClassificationTrainer(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4), null,
            new MlNetMedical.Trainers.FineTuneSettings(), new MlNetMedical.Trainers.ImageColumns(), SyntheticImages.Quick(1), 3)
        { Compute = new ComputeResources { Device = "cuda" } };
        var error = Assert.ThrowsAny<Exception>(() => onCuda.Fit(data));
        Assert.Contains("CUDA", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class ThreeClassRow
    {
        [VectorType(2)] public float[] Features { get; set; } = [];
        [KeyType("a", "b", "c")] public uint Label { get; set; }
    }

    [Fact]
    public void ClassWeightsCopeWithAClassMissingFromTraining()
    {
        var ml = new MedicalContext(seed: 4);
        // Only "a" and "b" occur; the top class "c" of the key is absent (and "a" is rare).
        var rows = Enumerable.Range(0, 12).Select(i => new ThreeClassRow
        {
            Features = [i % 4 == 0 ? -1f - i * 0.01f : 1f + i * 0.01f, i * 0.1f],
            Label = i % 4 == 0 ? 1u : 2u,
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        foreach (var balancing in new[] { ClassBalancing.InverseFrequencyWeights, ClassBalancing.BalancedSampler })
        {
            var trainer = ml.Classification.Trainers.SoftmaxRegression(training: new TrainingOptions
            {
                Epochs = 20, BatchSize = 0, LearningRate = 0.05, ValidationFraction = 0, ClassBalancing = balancing,
            });
            using var model = trainer.Fit(data);
            Assert.All(trainer.LastHistory!.Epochs, e => Assert.True(double.IsFinite(e["train_loss"]), $"{balancing}: loss {e["train_loss"]}"));
            var scores = model.Transform(data).GetColumn<float[]>("Score").ToList();
            Assert.All(scores, s => { Assert.Equal(3, s.Length); Assert.All(s, v => Assert.True(float.IsFinite(v))); });
            Assert.DoesNotContain(3u, model.Transform(data).GetColumn<uint>("PredictedLabel"));
            Assert.True(trainer.LastHistory!.Epochs[^1]["train_loss"] < trainer.LastHistory.Epochs[0]["train_loss"], $"{balancing}: loss did not decrease");
        }
    }
}
