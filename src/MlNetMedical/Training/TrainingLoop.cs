using System.Diagnostics;
using System.Text.Json;
using MlNetMedical.Data;
using MlNetMedical.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetMedical.Training;

/// <summary>
/// The one training loop every network trainer configures: seeded epochs of shuffled (or class-balanced) mini-batches,
/// augmentation, Adam with per-group rates, LR schedule, gradient clipping, validation on held-out groups, early stopping
/// with the best epoch restored, an atomic checkpoint per epoch with resume, progress, cancellation and a per-epoch callback.
/// </summary>
/// <remarks>
/// Each epoch re-seeds the run's own torch generator (dropout) and the sampler from (seed, epoch), so a run resumed from a
/// checkpoint continues exactly as the uninterrupted run would, the same seed gives bit-identical metrics on CPU, and runs on
/// parallel threads do not draw from each other's random streams.
/// </remarks>
public sealed class TrainingLoop(TrainingOptions options, int seed, string stage)
{
    private const string CheckpointFile = "checkpoint.json";

    /// <summary>The device the network is moved to and the class weights built on (the task builds its batches there too).</summary>
    public Device Device { get; init; } = torch.CPU;

    /// <summary>Number of classes of the label (the key type's count), so class weights cover classes absent from the
    /// training rows; null = the highest label seen + 1.</summary>
    public int? ClassCount { get; init; }

    /// <summary>Trains <paramref name="task"/>'s network on <paramref name="samples"/>; on return it holds the best epoch's weights.
    /// <paramref name="validationSamples"/> (the rows of <see cref="TrainingOptions.ValidationData"/>), when given, are scored after
    /// each epoch instead of a held-out share of <paramref name="samples"/>.</summary>
    public TrainingHistory Run(ITrainingTask task, IReadOnlyList<TrainingSample> samples, IReadOnlyList<TrainingSample>? validationSamples = null)
    {
        options.Validate(stage);
        if (samples.Count == 0) throw new InvalidOperationException($"{stage}: there are no training rows");
        if (validationSamples is { Count: 0 }) throw new InvalidOperationException($"{stage}: TrainingOptions.ValidationData has no rows");
        var (train, validation) = validationSamples is null ? SplitByGroup(samples) : (samples.ToList(), validationSamples.ToList());
        var metric = options.EarlyStoppingMetric ?? task.DefaultMetric;
        var minimise = metric == "loss";
        var batchSize = options.BatchSize == 0 ? train.Count : Math.Min(options.BatchSize, train.Count);
        var stepsPerEpoch = (train.Count + batchSize - 1) / batchSize;
        var network = task.Network;
        network.to(Device);
        using var classWeights = ClassWeights(train);
        using var generator = new Generator((ulong)seed);
        (network as IUsesGenerator)?.UseGenerator(generator);
        using var optimizer = CreateOptimizer(task);
        var scheduler = CreateScheduler(optimizer);
        var state = new LoopState();
        if (options.CheckpointDirectory is { } dir && options.ResumeFromCheckpoint) TryResume(dir, network, optimizer, scheduler, state);
        var clock = Stopwatch.StartNew();
        var stepsDone = 0;
        var stoppedEarly = false;
        try
        {
            for (var epoch = state.NextEpoch; epoch < options.Epochs; epoch++)
            {
                generator.manual_seed(unchecked((long)((ulong)seed * 1_000_003UL + (ulong)epoch)));
                var random = new Random(StableSeed(seed, epoch + 1));
                task.OnEpochStart(epoch, options.Epochs);
                network.train();
                var order = EpochOrder(train, random);
                var lossSum = 0.0;
                for (var step = 0; step < stepsPerEpoch; step++)
                {
                    options.CancellationToken.ThrowIfCancellationRequested();
                    double loss;
                    using (GarbageCollectionPause.Enter())
                    using (var scope = torch.NewDisposeScope())
                    {
                        var batch = order.Skip(step * batchSize).Take(batchSize)
                            .Select(s => options.Augmentation is { } augment ? augment(s, random) : s).ToList();
                        optimizer.zero_grad();
                        var lossTensor = task.Loss(batch, classWeights);
                        lossTensor.backward();
                        if (options.GradientClipNorm is { } clip) nn.utils.clip_grad_norm_(network.parameters().Where(p => p.requires_grad), clip);
                        optimizer.step();
                        loss = lossTensor.ToDouble();
                    }
                    if (!double.IsFinite(loss)) throw new InvalidOperationException($"{stage}: the training loss became {loss} at epoch {epoch + 1}, step {step + 1}; lower the learning rate or clip gradients");
                    lossSum += loss;
                    stepsDone++;
                    Report(epoch, step + 1, stepsPerEpoch, loss, new Dictionary<string, double>(), optimizer, clock, stepsDone, false);
                }
                scheduler?.step();
                var metrics = new Dictionary<string, double> { ["train_loss"] = lossSum / stepsPerEpoch };
                if (validation.Count > 0)
                {
                    network.eval();
                    using var pause = GarbageCollectionPause.Enter();
                    using var noGrad = torch.no_grad();
                    using var scope = torch.NewDisposeScope();
                    foreach (var (k, v) in task.Evaluate(validation)) metrics[k] = v;
                }
                state.History.Add(metrics);
                var value = validation.Count > 0
                    ? metrics.TryGetValue(metric, out var m) ? m : throw new InvalidOperationException($"{stage}: early-stopping metric '{metric}' is not among the validation metrics ({string.Join(", ", metrics.Keys)})")
                    : -epoch; // no validation: the last epoch is the best
                if (state.BestEpoch < 0 || (minimise || validation.Count == 0 ? value < state.BestValue : value > state.BestValue))
                {
                    state.BestEpoch = epoch;
                    state.BestValue = validation.Count > 0 ? value : -epoch;
                    state.BestWeights = Serialize(network);
                }
                state.NextEpoch = epoch + 1;
                if (options.CheckpointDirectory is { } checkpointDir) WriteCheckpoint(checkpointDir, network, optimizer, state);
                Report(epoch, stepsPerEpoch, stepsPerEpoch, metrics["train_loss"], metrics, optimizer, clock, stepsDone, true);
                var keepGoing = options.EpochCallback?.OnEpoch(epoch, metrics) ?? true;
                if (!keepGoing || (options.EarlyStoppingPatience > 0 && validation.Count > 0 && epoch - state.BestEpoch >= options.EarlyStoppingPatience))
                {
                    stoppedEarly = true;
                    break;
                }
            }
        }
        finally
        {
            network.eval();
            (network as IUsesGenerator)?.UseGenerator(null);
        }
        if (state.BestWeights is { } best) Restore(network, best);
        return new TrainingHistory(state.History, state.BestEpoch, validation.Count > 0 ? metric : "last epoch", stoppedEarly);
    }

    private void Report(int epoch, int step, int stepsPerEpoch, double loss, IReadOnlyDictionary<string, double> metrics, OptimizerHelper optimizer,
        Stopwatch clock, int stepsDone, bool epochEnd)
    {
        if (options.Progress is null) return;
        var totalSteps = (long)options.Epochs * stepsPerEpoch;
        var doneSoFar = (long)epoch * stepsPerEpoch + step;
        TimeSpan? remaining = stepsDone > 0 ? clock.Elapsed / stepsDone * (totalSteps - doneSoFar) : null;
        options.Progress.Report(new TrainingProgress(stage, epoch + 1, options.Epochs, step, stepsPerEpoch, loss, metrics,
            optimizer.ParamGroups.Last().LearningRate, clock.Elapsed, remaining, epochEnd));
    }

    /// <summary>
    /// Holds out about <see cref="TrainingOptions.ValidationFraction"/> of the rows with the data layer's splitter: whole groups
    /// (patients) on one side, stratified by label (unlabelled rows form their own stratum), seeded.
    /// </summary>
    private (List<TrainingSample> Train, List<TrainingSample> Validation) SplitByGroup(IReadOnlyList<TrainingSample> samples)
    {
        if (options.ValidationFraction == 0) return (samples.ToList(), []);
        var groups = samples.Select(s => s.Group).Distinct(StringComparer.Ordinal).Count();
        if (groups < 2) throw new InvalidOperationException($"{stage}: a validation fraction needs at least 2 groups, the data has {groups}");
        var keys = new MLContext(seed).Data.LoadFromEnumerable(samples.Select((s, i) => new SplitKey { Group = s.Group, Label = s.Label, Index = i }));
        DataSplit split;
        try
        {
            split = DataSplitter.TrainTest(keys, options.ValidationFraction, nameof(SplitKey.Group),
                samples.Any(s => s.HasLabel) ? nameof(SplitKey.Label) : null, StableSeed(seed, 0));
        }
        catch (ArgumentException) when (samples.Any(s => s.HasLabel))
        {
            // Few groups per label (each stratum too small to give up a group): split the groups without stratifying.
            try { split = DataSplitter.TrainTest(keys, options.ValidationFraction, nameof(SplitKey.Group), null, StableSeed(seed, 0)); }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException($"{stage}: the validation split failed ({groups} groups, ValidationFraction {options.ValidationFraction}): {e.Message}", e);
            }
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{stage}: the validation split failed ({groups} groups, ValidationFraction {options.ValidationFraction}): {e.Message}", e);
        }
        var held = split.TestSet.ReadColumn<int>(nameof(SplitKey.Index)).ToHashSet();
        return (samples.Where((_, i) => !held.Contains(i)).ToList(), samples.Where((_, i) => held.Contains(i)).ToList());
    }

    /// <summary>A row of the validation split's key view.</summary>
    private sealed class SplitKey
    {
        public string Group { get; set; } = "";
        public int Label { get; set; }
        public int Index { get; set; }
    }

    /// <summary>A seed mixed from (seed, stream) that is the same in every process (HashCode.Combine is randomised per process).</summary>
    private static int StableSeed(int seed, int stream) => unchecked((int)((uint)seed * 2654435761u ^ (uint)stream * 40503u));

    private List<TrainingSample> EpochOrder(List<TrainingSample> train, Random random)
    {
        if (options.ClassBalancing != ClassBalancing.BalancedSampler || !train.Any(s => s.HasLabel))
            return train.OrderBy(_ => random.Next()).ToList();
        var byClass = train.Where(s => s.HasLabel).GroupBy(s => s.Label).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        return Enumerable.Range(0, train.Count).Select(_ =>
        {
            var cls = byClass[random.Next(byClass.Count)];
            return cls[random.Next(cls.Count)];
        }).ToList();
    }

    private Tensor? ClassWeights(List<TrainingSample> train)
    {
        if (options.ClassBalancing != ClassBalancing.InverseFrequencyWeights) return null;
        var labelled = train.Where(s => s.HasLabel).ToList();
        if (labelled.Count == 0) return null;
        var classes = Math.Max(ClassCount ?? 0, labelled.Max(s => s.Label) + 1);
        // A class with no training row gets weight 0 (it contributes no loss term anyway), never 1/0.
        var counts = new double[classes];
        foreach (var s in labelled) counts[s.Label]++;
        var present = counts.Count(c => c > 0);
        var weights = counts.Select(c => c > 0 ? (float)(labelled.Count / (present * c)) : 0f).ToArray();
        using var cpu = torch.tensor(weights);
        return cpu.to(Device, copy: true);
    }

    /// <summary>Adam over the task's parameter groups (empty ones dropped), each at its own rate or the base rate.</summary>
    private ScalarSafeAdam CreateOptimizer(ITrainingTask task)
    {
        var groups = task.ParameterGroups(options.LearningRate)
            .Where(g => g.Parameters.Count > 0)
            .Select(g => new TorchSharp.Modules.Adam.ParamGroup(g.Parameters, lr: g.LearningRate ?? options.LearningRate, weight_decay: options.WeightDecay))
            .ToList();
        if (groups.Count == 0) throw new InvalidOperationException($"{stage}: the network has no parameters to train");
        return new ScalarSafeAdam(groups, options.LearningRate, options.WeightDecay);
    }

    private optim.lr_scheduler.LRScheduler? CreateScheduler(OptimizerHelper optimizer) => options.Schedule switch
    {
        LearningRateSchedule.Cosine => optim.lr_scheduler.CosineAnnealingLR(optimizer, options.Epochs),
        LearningRateSchedule.Step => optim.lr_scheduler.StepLR(optimizer, Math.Max(1, options.Epochs / 3)),
        _ => null,
    };

    internal static byte[] Serialize(nn.Module network)
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, network.state_dict());
        return stream.ToArray();
    }

    internal static void Restore(nn.Module network, byte[] weights, string source = "weights")
    {
        var tensors = Safetensors.Load(new MemoryStream(weights), source, out _);
        try
        {
            network.LoadStateDict(tensors, strict: true);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private sealed class LoopState
    {
        public int NextEpoch { get; set; }
        public int BestEpoch { get; set; } = -1;
        public double BestValue { get; set; }
        public byte[]? BestWeights { get; set; }
        public List<IReadOnlyDictionary<string, double>> History { get; } = [];
    }

    private sealed record CheckpointRecord(int NextEpoch, int BestEpoch, double BestValue, string Weights, string BestWeights, string Optimizer,
        List<Dictionary<string, double>> History, int Seed);

    /// <summary>Writes this epoch's files under new names, then the JSON that names them (atomically), then removes older epochs' files.</summary>
    private void WriteCheckpoint(string dir, nn.Module network, OptimizerHelper optimizer, LoopState state)
    {
        Directory.CreateDirectory(dir);
        var tag = $"epoch-{state.NextEpoch:D4}";
        WriteAtomic(Path.Combine(dir, tag + ".weights.safetensors"), Serialize(network));
        WriteAtomic(Path.Combine(dir, tag + ".best.safetensors"), state.BestWeights!);
        WriteAtomic(Path.Combine(dir, tag + ".optimizer.bin"), OptimizerState(optimizer));
        var record = new CheckpointRecord(state.NextEpoch, state.BestEpoch, state.BestValue, tag + ".weights.safetensors", tag + ".best.safetensors",
            tag + ".optimizer.bin", state.History.Select(h => h.ToDictionary()).ToList(), seed);
        WriteAtomic(Path.Combine(dir, CheckpointFile), JsonSerializer.SerializeToUtf8Bytes(record));
        foreach (var old in Directory.EnumerateFiles(dir, "epoch-*"))
            if (!Path.GetFileName(old).StartsWith(tag, StringComparison.Ordinal)) File.Delete(old);
    }

    private static byte[] OptimizerState(OptimizerHelper optimizer)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(writer);
        return stream.ToArray();
    }

    private static void WriteAtomic(string path, byte[] bytes)
    {
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }

    private void TryResume(string dir, nn.Module network, ScalarSafeAdam optimizer, optim.lr_scheduler.LRScheduler? scheduler, LoopState state)
    {
        var path = Path.Combine(dir, CheckpointFile);
        if (!File.Exists(path)) return;
        CheckpointRecord record;
        try
        {
            record = JsonSerializer.Deserialize<CheckpointRecord>(File.ReadAllBytes(path)) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{stage}: checkpoint '{path}' is not valid: {e.Message}", e);
        }
        if (record.Seed != seed)
            throw new InvalidOperationException($"{stage}: checkpoint '{path}' was written with seed {record.Seed}, this run uses seed {seed}");
        Restore(network, File.ReadAllBytes(Path.Combine(dir, record.Weights)), record.Weights);
        // The schedule is replayed to the epoch (it changes the rates), then the optimizer's own state is put back over it.
        for (var e = 0; e < record.NextEpoch; e++) scheduler?.step();
        using (var stream = File.OpenRead(Path.Combine(dir, record.Optimizer))) optimizer.LoadState(stream);
        state.NextEpoch = record.NextEpoch;
        state.BestEpoch = record.BestEpoch;
        state.BestValue = record.BestValue;
        state.BestWeights = File.ReadAllBytes(Path.Combine(dir, record.BestWeights));
        state.History.AddRange(record.History);
    }
}
