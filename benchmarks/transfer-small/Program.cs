// benchmarks/transfer-small: paper A's claim 1 on synthetic cardiac-level-2d at the paper's size (108 train / 263 test).
// Per seed: pretrain a U-Net on the unlabelled-class "pretrain" slices (masks only), then compare
//   scratch  — plain CNN trained from scratch on the 108 labelled slices;
//   frozen   — the U-Net's frozen encoder features (pooled levels), standardised, + ML.NET's L-BFGS softmax regression (LbfgsMaximumEntropy);
//   finetune — the U-Net's encoder + a head, fine-tuned (encoder at 0.1× the head's rate).
// Prints one JSON line per seed: {"seed", "acc_scratch", "acc_seg_frozen", "acc_seg_finetune", "seg_dice", "seconds"}.
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.Transforms;
using MlNetMedical;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Synthetic;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;
using MlNetMedical.Training;

var seeds = args.Length > 0 ? args[0].Split(',').Select(int.Parse).ToArray() : [1, 2, 3];
var size = Env("TRANSFER_SIZE", 64);
var pretrainCount = Env("TRANSFER_PRETRAIN", 300);
var segEpochs = Env("TRANSFER_SEG_EPOCHS", 12);
var clsEpochs = Env("TRANSFER_CLS_EPOCHS", 25);

var task = SyntheticTask.Get("cardiac-level-2d");
foreach (var seed in seeds)
{
    var clock = Stopwatch.StartNew();
    var options = new SyntheticOptions { Seed = seed, Size = size, Pretrain = pretrainCount, Threads = 1 };
    var cases = task.Plan(options);
    var rows = cases.Select(c => ToRow(c, task.Generate(c, options))).ToList();
    var ml = new MLContext(seed);
    ml.Medical().Seed = seed;
    // The diagnosis text becomes the Label key over all nine levels (key data fixes their order); pretrain rows ("") get the missing key.
    var toKey = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Row.Diagnosis), keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue,
        keyData: ml.Data.LoadFromEnumerable(Enumerable.Range(1, 9).Select(k => new ClassName { Value = $"level{k}" }).ToList()));
    IDataView Split(string name)
    {
        var view = ml.Data.LoadFromEnumerable(rows.Where(r => r.Split == name).ToList());
        return toKey.Fit(view).Transform(view);
    }
    var pretrain = Split("pretrain");
    var train = Split("train");
    var test = Split("test");

    var unet = new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = 2, InChannels = 1, Depth = 4, BaseChannels = 8 }, NumClasses = 4 };
    var segTrainer = ml.Segmentation.Trainers.UNet(unet, new TrainingOptions { Epochs = segEpochs, BatchSize = 16, LearningRate = 2e-3, ValidationFraction = 0.15, GroupColumnName = "GroupId" });
    using var seg = segTrainer.Fit(pretrain);
    var dice = segTrainer.LastHistory!.Epochs[segTrainer.LastHistory.BestEpoch]["dice"];

    var clsOptions = new TrainingOptions { Epochs = clsEpochs, BatchSize = 12, LearningRate = 2e-3, ValidationFraction = 0.2, GroupColumnName = "GroupId", EarlyStoppingMetric = "loss" };
    double Accuracy(ITransformer model) => ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;

    using var scratch = ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 9, depth: 4, baseChannels: 8), training: clsOptions).Fit(train);
    var accScratch = Accuracy(scratch);

    var frozen = ml.Transforms.SegmentationEncoderFeatures(seg, levels: [-1, -2], pooling: PoolingKind.AverageMax)
        .Append(ml.Transforms.NormalizeMeanVariance("Features"))
        .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(l2Regularization: 1e-2f)).Fit(train);
    var accFrozen = Accuracy(frozen);

    using var finetune = ml.MulticlassClassification.Trainers.FineTunedEncoder(
        EncoderClassifierConfig.FromSegmentation(unet, new ClassificationHeadConfig { Levels = [-1, -2], Pooling = PoolingKind.AverageMax }),
        seg, new FineTuneSettings { Freeze = FreezeMode.None, EncoderLearningRateFactor = 0.1 }, clsOptions).Fit(train);
    var accFinetune = Accuracy(finetune);

    Console.WriteLine(JsonSerializer.Serialize(new { seed, acc_scratch = accScratch, acc_seg_frozen = accFrozen, acc_seg_finetune = accFinetune, seg_dice = dice, seconds = clock.Elapsed.TotalSeconds }));
}

static int Env(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

static Row ToRow(SyntheticCase c, SyntheticSample s)
{
    // Per-image z-score: the phantom's intensities are on a 0..1000 scale.
    var voxels = s.Image.ToFloatArray();
    var mean = voxels.Average();
    var sd = Math.Sqrt(voxels.Average(v => (v - mean) * (v - mean)));
    var normalised = voxels.Select(v => (float)((v - mean) / (sd > 0 ? sd : 1))).ToArray();
    return new Row
    {
        Image = Volume.Create<float>(normalised, s.Image.Shape),
        Mask = s.Mask,
        Diagnosis = c.Split == "pretrain" ? "" : $"level{c.ClassIndex + 1}",
        GroupId = c.Group,
        Split = c.Split,
    };
}

sealed class Row
{
    [VolumeColumn(VolumeKind.Image)] public Volume Image { get; set; } = null!;
    [VolumeColumn(VolumeKind.Mask)] public Volume? Mask { get; set; }
    public string Diagnosis { get; set; } = "";
    public string GroupId { get; set; } = "";
    public string Split { get; set; } = "";
}

sealed class ClassName
{
    public string Value { get; set; } = "";
}
