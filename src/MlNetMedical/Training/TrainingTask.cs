using MlNetMedical.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Training;

/// <summary>
/// What a strategy tells the <see cref="TrainingLoop"/>: the network, its parameter groups, the loss of a batch,
/// validation metrics, and an optional per-epoch hook (freezing schedules). Each trainer is a short implementation.
/// </summary>
public interface ITrainingTask
{
    /// <summary>The network being trained.</summary>
    nn.Module Network { get; }

    /// <summary>The validation metric watched by default ("loss" is minimised; anything else maximised).</summary>
    string DefaultMetric { get; }

    /// <summary>Optimizer parameter groups; <paramref name="learningRate"/> is the options' base rate.</summary>
    IReadOnlyList<NamedParameterGroup> ParameterGroups(double learningRate);

    /// <summary>Scalar loss of one batch (called inside a dispose scope, in train mode).</summary>
    Tensor Loss(IReadOnlyList<TrainingSample> batch, Tensor? classWeights);

    /// <summary>Validation metrics over <paramref name="samples"/> (called in eval mode under no-grad); must include "loss".</summary>
    IReadOnlyDictionary<string, double> Evaluate(IReadOnlyList<TrainingSample> samples);

    /// <summary>Called before each epoch (0-based), e.g. to unfreeze encoder levels.</summary>
    void OnEpochStart(int epoch, int epochs) { }
}

/// <summary>Builds batch tensors from samples.</summary>
public static class TrainingBatches
{
    /// <summary>Images stacked to (N, C, spatial…) float32.</summary>
    public static Tensor Images(IReadOnlyList<TrainingSample> batch) => Images(batch, torch.CPU);

    /// <summary>Images stacked to (N, C, spatial…) float32 on <paramref name="device"/>.</summary>
    public static Tensor Images(IReadOnlyList<TrainingSample> batch, Device device)
    {
        var shape = batch[0].Shape;
        var size = batch[0].Image.Length;
        var data = new float[size * batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            if (!batch[i].Shape.SequenceEqual(shape))
                throw new InvalidOperationException($"images in one batch must have one shape: [{string.Join(", ", shape)}] and [{string.Join(", ", batch[i].Shape)}]; resample them first");
            batch[i].Image.CopyTo(data, (long)i * size);
        }
        return OnDevice(torch.tensor(data, [batch.Count, .. shape]), device);
    }

    // Built on the CPU, then moved (the CPU tensor is freed at once, outside any scope's lifetime).
    private static Tensor OnDevice(Tensor cpu, Device device)
    {
        if (device.type == DeviceType.CPU) return cpu;
        using (cpu) return cpu.to(device);
    }

    /// <summary>Class indices (N) int64.</summary>
    public static Tensor Labels(IReadOnlyList<TrainingSample> batch) => Labels(batch, torch.CPU);

    /// <summary>Class indices (N) int64 on <paramref name="device"/>.</summary>
    public static Tensor Labels(IReadOnlyList<TrainingSample> batch, Device device) =>
        OnDevice(torch.tensor(batch.Select(s => (long)s.Label).ToArray()), device);

    /// <summary>Masks (N, spatial…) int64; every sample must have one.</summary>
    public static Tensor Masks(IReadOnlyList<TrainingSample> batch) => Masks(batch, torch.CPU);

    /// <summary>Masks (N, spatial…) int64 on <paramref name="device"/>; every sample must have one.</summary>
    public static Tensor Masks(IReadOnlyList<TrainingSample> batch, Device device)
    {
        var spatial = batch[0].Shape[1..];
        var size = batch[0].Mask!.Length;
        var data = new long[size * batch.Count];
        for (var i = 0; i < batch.Count; i++) batch[i].Mask!.CopyTo(data, (long)i * size);
        return OnDevice(torch.tensor(data, [batch.Count, .. spatial]), device);
    }

    /// <summary>Row indices (int64) of the samples matching <paramref name="predicate"/>, or null when none do.</summary>
    public static Tensor? RowsWhere(IReadOnlyList<TrainingSample> batch, Func<TrainingSample, bool> predicate) => RowsWhere(batch, predicate, torch.CPU);

    /// <summary>Row indices (int64, on <paramref name="device"/>) of the samples matching <paramref name="predicate"/>, or null when none do.</summary>
    public static Tensor? RowsWhere(IReadOnlyList<TrainingSample> batch, Func<TrainingSample, bool> predicate, Device device)
    {
        var rows = Enumerable.Range(0, batch.Count).Where(i => predicate(batch[i])).Select(i => (long)i).ToArray();
        return rows.Length == 0 ? null : OnDevice(torch.tensor(rows), device);
    }

    /// <summary>Runs <paramref name="forward"/> over <paramref name="samples"/> in batches of <paramref name="batchSize"/> and returns
    /// each batch's result copied out as float arrays (row-major), for evaluation without keeping tensors.</summary>
    public static List<float[]> MapBatches(IReadOnlyList<TrainingSample> samples, int batchSize, Func<Tensor, Tensor> forward) =>
        MapBatches(samples, batchSize, forward, torch.CPU);

    /// <summary>As <see cref="MapBatches(IReadOnlyList{TrainingSample}, int, Func{Tensor, Tensor})"/>, with the batches on <paramref name="device"/>.</summary>
    public static List<float[]> MapBatches(IReadOnlyList<TrainingSample> samples, int batchSize, Func<Tensor, Tensor> forward, Device device)
    {
        var results = new List<float[]>();
        for (var start = 0; start < samples.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var batch = samples.Skip(start).Take(batchSize).ToList();
            var output = forward(Images(batch, device));
            var flat = output.detach().cpu().contiguous().data<float>().ToArray();
            var per = flat.Length / batch.Count;
            for (var i = 0; i < batch.Count; i++) results.Add(flat.AsSpan(i * per, per).ToArray());
        }
        return results;
    }
}
