// The pruning half of benchmarks/run hpo: the transfer-strategy sweep on synthetic cardiac-level-2d, run three times with the same
// seeded random configurations (trial n gets the same configuration in every study): no pruning, ASHA, and no pruning with
// SetParallelism(2). Reports the best final validation value each study reaches and the epochs each spends (the epoch saving counts
// only when both bests are within one standard error), and the wall-clock speed-up (the unpruned study runs twice at each
// parallelism, alternating, and the speed-up is the ratio of the summed wall clocks). Each trial's per-epoch values (what ASHA sees)
// are scored on the experiment's validation rows, the same rows that give its final value.
using System.Diagnostics;
using Microsoft.ML.Transforms;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Imaging.Synthetic;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Training;

namespace MlNetMedical.AutoML.Benchmarks;

public sealed record PruningSettings(int Size, int Train, int Validation, int Pretrain, int PretrainEpochs, int Epochs, int Trials, int Seed, string Metric = SweepMetrics.Accuracy);

public sealed record StudyFigures(string Name, int Trials, int Completed, int Pruned, int Failed, int EpochsSpent, double BestValue, double WallSeconds, List<int> EpochsPerTrial, List<double?> ValuePerTrial);

public static class PruningBenchmark
{
    public sealed class CardiacRow
    {
        [VolumeColumn(VolumeKind.Image)] public Volume Image { get; set; } = null!;
        [VolumeColumn(VolumeKind.Mask)] public Volume? Mask { get; set; }
        /// <summary>"level1".."level9"; empty for an unlabelled slice (the missing key once mapped).</summary>
        public string Diagnosis { get; set; } = "";
        public string GroupId { get; set; } = "";
    }

    public sealed class ClassName
    {
        public string Value { get; set; } = "";
    }

    /// <summary>The rows of <paramref name="split"/> with the diagnosis mapped to the <c>Label</c> key over all nine levels.</summary>
    public static IDataView Load(MLContext ml, PruningSettings s, string split)
    {
        var view = ml.Data.LoadFromEnumerable(Rows(s, split));
        var keys = ml.Data.LoadFromEnumerable(Enumerable.Range(1, 9).Select(k => new ClassName { Value = $"level{k}" }).ToList());
        return ml.Transforms.Conversion.MapValueToKey("Label", nameof(CardiacRow.Diagnosis), keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue, keyData: keys)
            .Fit(view).Transform(view);
    }

    /// <summary>The slices of <paramref name="split"/>, intensities z-scored per slice.</summary>
    public static List<CardiacRow> Rows(PruningSettings s, string split)
    {
        var task = SyntheticTask.Get("cardiac-level-2d");
        var options = new SyntheticOptions { Seed = s.Seed, Size = s.Size, Train = s.Train, Test = s.Validation, Pretrain = s.Pretrain };
        var zscore = new ZScore();
        return task.Plan(options).Where(c => c.Split == split).AsParallel().AsOrdered().Select(c =>
        {
            var generated = task.Generate(c, options);
            return new CardiacRow
            {
                Image = zscore.Apply(new Sample(c.Id, generated.Image, generated.Mask)).Image, Mask = generated.Mask,
                Diagnosis = c.Labelled ? $"level{c.ClassIndex + 1}" : "", GroupId = $"patient{c.Patient}",
            };
        }).ToList();
    }

    public static (StudyFigures NoPruning, StudyFigures Asha, StudyFigures Parallel, StudyFigures ParallelAgain, StudyFigures NoPruningAgain, double PretrainSeconds, int ValidationRows) Run(PruningSettings s, TextWriter log)
    {
        var ml = new MLContext(s.Seed);
        ml.Medical().Seed = s.Seed;
        var clock = Stopwatch.StartNew();
        var pretrainRows = Load(ml, s, "pretrain");
        var train = Load(ml, s, "train");
        var validation = Load(ml, s, "test");
        var unet = new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = 2, InChannels = 1, Depth = 4, BaseChannels = 8 }, NumClasses = 4 };
        using var seg = ml.Segmentation.Trainers.UNet(unet, new TrainingOptions { Epochs = s.PretrainEpochs, BatchSize = 16, LearningRate = 2e-3, ValidationFraction = 0 }).Fit(pretrainRows);
        double pretrainSeconds = clock.Elapsed.TotalSeconds;
        log.WriteLine($"data + segmentation pretraining: {pretrainSeconds:0.0} s");
        // No ValidationFraction: every trial trains on all training rows and scores the experiment's validation rows after each epoch.
        var pipeline = new TransferStrategy(ml, seg, train.Schema, new TransferStrategyOptions { Epochs = s.Epochs, BatchSize = 12 });
        var folder = Directory.CreateTempSubdirectory("mlnm-hpo-pruning-").FullName;
        try
        {
            StudyFigures Study(string name, IPruner pruner, int parallelism)
            {
                var watch = Stopwatch.StartNew();
                var result = new AutoMLExperiment(ml).SetPipeline(pipeline).SetDataset(train, validation, "GroupId")
                    .SetMetric(s.Metric, SweepMetrics.DirectionOf(s.Metric)).SetMaxTrials(s.Trials).SetTuner(new RandomTuner(s.Seed))
                    .SetPruner(pruner).SetParallelism(parallelism).SetStudy(Path.Combine(folder, name + ".db"), name).Run();
                double wall = watch.Elapsed.TotalSeconds;
                var trials = result.Trials.OrderBy(t => t.Number).ToList();
                var figures = new StudyFigures(name, trials.Count, trials.Count(t => t.State == TrialState.Complete), trials.Count(t => t.State == TrialState.Pruned),
                    trials.Count(t => t.State == TrialState.Fail), trials.Sum(t => t.IntermediateValues.Count), result.BestTrial?.Value ?? double.NaN, wall,
                    trials.Select(t => t.IntermediateValues.Count).ToList(), trials.Select(t => t.State == TrialState.Complete ? t.Value : null).ToList());
                foreach (var t in trials.Where(t => t.State == TrialState.Fail)) log.WriteLine($"  {name}: trial {t.Number} failed: {t.Error}");
                log.WriteLine($"{name,-12} trials {figures.Trials} (complete {figures.Completed}, pruned {figures.Pruned}, failed {figures.Failed}), epochs {figures.EpochsSpent}, best {s.Metric} {figures.BestValue:0.###}, {wall:0.0} s");
                return figures;
            }
            // Parallelism 1 and 2 alternate (1, 2, 2, 1) so drifting load on a shared machine weighs on both alike.
            var none = Study("no-pruning", new NoPruner(), 1);
            var parallel = Study("parallel-2", new NoPruner(), 2);
            var asha = Study("asha", new SuccessiveHalvingPruner(minResource: 1, reductionFactor: 4), 1);
            var parallelAgain = Study("parallel-2b", new NoPruner(), 2);
            var noneAgain = Study("no-pruning-b", new NoPruner(), 1);
            return (none, asha, parallel, parallelAgain, noneAgain, pretrainSeconds, (int)validation.GetRowCount()!.Value);
        }
        finally { try { Directory.Delete(folder, true); } catch (IOException) { } }
    }

    /// <summary>One standard error of a proportion metric (accuracy, balanced accuracy) near <paramref name="value"/> measured on
    /// <paramref name="rows"/> validation rows, sqrt(p(1 − p)/n); NaN for the other metrics (no binomial error).</summary>
    public static double StandardError(string metric, double value, int rows) =>
        metric is SweepMetrics.Accuracy or SweepMetrics.BalancedAccuracy && rows > 0 ? Math.Sqrt(Math.Clamp(value, 0, 1) * (1 - Math.Clamp(value, 0, 1)) / rows) : double.NaN;
}
