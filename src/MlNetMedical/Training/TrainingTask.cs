using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Optim;

namespace MlNetMedical.Training;

/// <summary>
/// What a strategy tells the <see cref="TrainingLoop"/>: the network, its parameter groups, the loss of a batch,
/// validation metrics, and an optional per-epoch hook (freezing schedules). Each trainer is a short implementation.
/// </summary>
public interface ITrainingTask
{
    /// <summary>The network being trained.</summary>
    Module Network { get; }

    /// <summary>The validation metric watched by default ("loss" is minimised; anything else maximised).</summary>
    string DefaultMetric { get; }

    /// <summary>Optimizer parameter groups; <paramref name="learningRate"/> is the options' base rate.</summary>
    IReadOnlyList<ParamGroup> ParameterGroups(double learningRate);

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
    public static Tensor Images(IReadOnlyList<TrainingSample> batch)
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
        return Tensor.FromArray(data, [batch.Count, .. shape]);
    }

    /// <summary>Class indices (N) int64.</summary>
    public static Tensor Labels(IReadOnlyList<TrainingSample> batch) => Tensor.FromArray(batch.Select(s => (long)s.Label).ToArray(), batch.Count);

    /// <summary>Masks (N, spatial…) int64; every sample must have one.</summary>
    public static Tensor Masks(IReadOnlyList<TrainingSample> batch)
    {
        var spatial = batch[0].Shape[1..];
        var size = batch[0].Mask!.Length;
        var data = new long[size * batch.Count];
        for (var i = 0; i < batch.Count; i++) batch[i].Mask!.CopyTo(data, (long)i * size);
        return Tensor.FromArray(data, [batch.Count, .. spatial]);
    }

    /// <summary>Row indices (int64) of the samples matching <paramref name="predicate"/>, or null when none do.</summary>
    public static Tensor? RowsWhere(IReadOnlyList<TrainingSample> batch, Func<TrainingSample, bool> predicate)
    {
        var rows = Enumerable.Range(0, batch.Count).Where(i => predicate(batch[i])).Select(i => (long)i).ToArray();
        return rows.Length == 0 ? null : Tensor.FromArray(rows, rows.Length);
    }

    /// <summary>Runs <paramref name="forward"/> over <paramref name="samples"/> in batches of <paramref name="batchSize"/> and returns
    /// each batch's result copied out as float arrays (row-major), for evaluation without keeping tensors.</summary>
    public static List<float[]> MapBatches(IReadOnlyList<TrainingSample> samples, int batchSize, Func<Tensor, Tensor> forward)
    {
        var results = new List<float[]>();
        for (var start = 0; start < samples.Count; start += batchSize)
        {
            using var scope = global::MlNetMedical.Torch.Torch.NewDisposeScope();
            var batch = samples.Skip(start).Take(batchSize).ToList();
            var output = forward(Images(batch));
            var flat = output.Contiguous().ToArray<float>();
            var per = flat.Length / batch.Count;
            for (var i = 0; i < batch.Count; i++) results.Add(flat.AsSpan(i * per, per).ToArray());
        }
        return results;
    }
}
