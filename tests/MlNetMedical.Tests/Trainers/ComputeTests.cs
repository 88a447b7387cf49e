using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Models;
using MlNetMedical.Training;
using Xunit;
using TorchSharp;

namespace MlNetMedical.Tests.Trainers;

/// <summary>The context's device (<see cref="MLContext.GpuDeviceId"/>) and thread count (<c>ml.Medical().Threads</c>) reach the engine;
/// class weights survive an absent class.</summary>
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

    private sealed class FakeProbe(int count) : IComputeDeviceProbe
    {
        public int CudaDeviceCount => count;
        public string? CudaUnavailableReason => count == 0 ? "no driver" : null;
    }

    private static EncoderClassifierConfig Cnn => EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4);

    [Fact]
    public void ContextThreadsBecomeThePerThreadBudgetOfTraining()
    {
        var before = TorchRuntime.CurrentThreads;
        var budget = before == 1 ? 2 : 1; // differs from the process default, so the test can fail
        var ml = new MLContext(seed: 3);
        ml.Medical().Threads = budget;
        Assert.Equal(budget, ml.Medical().Compute.Threads);
        var recorder = new ThreadRecorder();
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(8, 1));
        using var model = ml.MulticlassClassification.Trainers.ImageCnn(Cnn, SyntheticImages.Quick(2) with { EpochCallback = recorder }).Fit(data);
        Assert.Equal([budget, budget], recorder.Seen);
        Assert.Equal(before, TorchRuntime.CurrentThreads); // restored after Fit
        Assert.Equal(budget, model.Compute.Threads);
        // The default context leaves the engine's process-wide count alone.
        Assert.Null(new MLContext(seed: 3).Medical().Compute.Threads);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Medical().Threads = 0);
    }

    [Fact]
    public void CudaIsRejectedByTheEngineProbeWhenLibtorchHasNone()
    {
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0 };
        if (torch.cuda.is_available())
        {
            Assert.Equal("cuda:0", ml.Medical().Compute.Device);
            return;
        }
        // The trainer takes the context's device when it is created, so the request fails there, not deep inside Fit.
        var error = Assert.Throws<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.ImageCnn(Cnn, SyntheticImages.Quick(1)));
        Assert.Contains("sees no CUDA device", error.Message);
        Assert.Contains("MlnmTorchBackend", error.Message);
        // FallbackToCpu turns the refusal into CPU, as for ML.NET's own TorchSharp trainers.
        Assert.Equal("cpu", new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true }.Medical().Compute.Device);
    }

    [Fact]
    public void TrainersMoveTheirNetworkToTheRequestedDevice()
    {
        var ml = new MLContext(seed: 3);
        Assert.Equal("cpu", ml.Medical().Compute.Device);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Disks(8, 1));
        var trainer = ml.MulticlassClassification.Trainers.ImageCnn(Cnn, SyntheticImages.Quick(1));
        using (var model = trainer.Fit(data))
            Assert.All(model.Network.parameters(), p => Assert.Equal(DeviceType.CPU, p.device_type));
        if (torch.cuda.is_available()) return;
        // A probe that claims a GPU lets the context's CUDA request through to libtorch, which refuses it: the network really is moved.
        var saved = MedicalSettings.DeviceProbe;
        MedicalSettings.DeviceProbe = new FakeProbe(1);
        MlNetMedical.Trainers.ImageClassificationTrainer onCuda;
        try { onCuda = new MLContext(seed: 3) { GpuDeviceId = 0 }.MulticlassClassification.Trainers.ImageCnn(Cnn, SyntheticImages.Quick(1)); }
        finally { MedicalSettings.DeviceProbe = saved; }
        Assert.Equal("cuda:0", onCuda.Compute.Device);
        var error = Assert.ThrowsAny<Exception>(() => onCuda.Fit(data));
        Assert.Contains("CUDA", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class ThreeClassRow
    {
        [VectorType(2)] public float[] Features { get; set; } = [];
        [KeyType(3)] public uint Label { get; set; }
    }

    [Fact]
    public void ClassWeightsCopeWithAClassMissingFromTraining()
    {
        var ml = new MLContext(seed: 4);
        // Only keys 1 and 2 occur; the top class 3 of the key is absent (and 1 is rare). LoadFromEnumerable reads key properties
        // 0-based (it adds one), so the rows hold 0 and 1.
        var rows = Enumerable.Range(0, 12).Select(i => new ThreeClassRow
        {
            Features = [i % 4 == 0 ? -1f - i * 0.01f : 1f + i * 0.01f, i * 0.1f],
            Label = i % 4 == 0 ? 0u : 1u,
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        Assert.Equal([1u, 2u], data.GetColumn<uint>("Label").Distinct().Order());
        foreach (var balancing in new[] { ClassBalancing.InverseFrequencyWeights, ClassBalancing.BalancedSampler })
        {
            // No hidden layer: a softmax regression trained by the framework's loop, which does the class balancing.
            var trainer = ml.MulticlassClassification.Trainers.Mlp(hiddenUnits: [], training: new TrainingOptions
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
