// Calibration of a synthetic dataset (issue 5, redone for issue 16 without test-set tuning): a plain CNN trained from
// scratch on the train split (accuracy), and a U-Net trained on the pretrain split (foreground Dice).
// Every choice is made on a validation split carved from the training data by patient (group): the learning rate (from
// --lrs) and the epoch (the best validation figure of each run; its weights are kept). The test split is scored once, at
// the end, with the chosen model; its figure is reported and never used for a choice (the targets are judged on validation).
// Usage: datasets-calibration DIR classify|segment [--epochs N] [--seed N] [--lrs X,Y] [--validation F] [--depth N] [--width N]
//        [--no-augment] [--per-label]
// --per-label trains the U-Net on every mask label (not foreground against background) and also reports each label's Dice.
// Prints one JSON object as its last line. The recipe is the same whatever the training-set size: Adam with a
// cosine-decayed rate, batch 16, random flips, shifts and intensity jitter. The point is the task's
// difficulty at a given amount of data, not the best model.
using System.Globalization;
using System.Text.Json;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Models;
using TorchSharp;
using static TorchSharp.torch;

const string usage = "usage: datasets-calibration DIR classify|segment [--epochs N] [--seed N] [--lrs X,Y] [--validation F] [--depth N] [--width N] [--no-augment] [--per-label]";
if (args.Length < 2 || args[1] is not ("classify" or "segment"))
{
    Console.Error.WriteLine(usage);
    return 2;
}
string dir = args[0], mode = args[1];
int epochs = 30, seed = 1, depth = 4, width = 8;
double[] lrs = [1e-3, 2e-3, 4e-3];
double validationFraction = 0.2;
bool augment = true, perLabel = false;
for (int a = 2; a < args.Length; a++)
{
    string Value() => a + 1 < args.Length ? args[++a] : throw new ArgumentException($"{args[a]} needs a value");
    switch (args[a])
    {
        case "--epochs": epochs = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--lrs": lrs = Value().Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray(); break;
        case "--validation": validationFraction = double.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--depth": depth = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--width": width = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--no-augment": augment = false; break;
        case "--per-label": perLabel = true; break;
        default: throw new ArgumentException($"unknown option {args[a]}; {usage}");
    }
}
if (validationFraction is <= 0 or >= 1) throw new ArgumentException($"--validation must be in (0, 1), got {validationFraction}");
const int batchSize = 16;
var items = CsvManifest.Read(Path.Combine(dir, "manifest.csv"));
TorchRuntime.Initialize();
var watch = System.Diagnostics.Stopwatch.StartNew();

// Images as float32 [C, spatial...]: CT clipped to [-200, 250] HU and normalised with mean 95, std 35
// (paper B's LiTS code); MR and photos z-scored per image.
Sample Load(DatasetItem item)
{
    var s = item.Load();
    var v = s.Image.ToFloatArray();
    bool ct = s.Image.DataType == VoxelType.Int16 && v.Min() < -500;
    if (ct) for (int i = 0; i < v.Length; i++) v[i] = (Math.Clamp(v[i], -200f, 250f) - 95f) / 35f;
    else
    {
        double mean = v.Average(), sd = Math.Sqrt(v.Average(x => (x - mean) * (x - mean))) + 1e-6;
        for (int i = 0; i < v.Length; i++) v[i] = (float)((v[i] - mean) / sd);
    }
    return new Sample(v, s.Image.TensorShape(), s.Label?.Voxels<byte>().ToArray());
}

var classes = items.Where(i => i.ClassLabel != null).Select(i => i.ClassLabel!).Distinct().Order(StringComparer.Ordinal).ToList();
var trainingItems = items.Where(i => i.Split == (mode == "segment" ? "pretrain" : "train")).ToList();
// The validation split: a seeded share of the training patients (groups), so no patient is on both sides.
var groups = trainingItems.Select(i => i.GroupKey).Distinct().Order(StringComparer.Ordinal).ToList();
var groupShuffle = new Random(seed * 7919 + 17);
var validationGroups = groups.OrderBy(_ => groupShuffle.Next()).Take(Math.Max(1, (int)Math.Round(groups.Count * validationFraction))).ToHashSet();
if (validationGroups.Count >= groups.Count) throw new ArgumentException($"{dir}: {groups.Count} training patient(s) leave none to train on after the validation split");
var fitItems = trainingItems.Where(i => !validationGroups.Contains(i.GroupKey)).ToList();
var validationItems = trainingItems.Where(i => validationGroups.Contains(i.GroupKey)).ToList();
var train = fitItems.Select(Load).ToList();
var trainLabels = fitItems.Select(i => mode == "segment" ? 0L : classes.IndexOf(i.ClassLabel!)).ToArray();
var validation = validationItems.Select(Load).ToList();
var validationLabels = validationItems.Select(i => mode == "segment" ? 0 : classes.IndexOf(i.ClassLabel!)).ToList();
var testItems = items.Where(i => i.Split == "test").ToList();
var shape = train[0].Shape;
int dims = shape.Length - 1, channels = (int)shape[0];
// Mask values the U-Net learns: foreground alone (class 1), or with --per-label each label value as its own class.
byte[] labelValues = mode == "segment" && perLabel
    ? train.SelectMany(s => s.Mask!).Where(m => m != 0).Distinct().Order().ToArray()
    : [1];
var classOf = new long[256];
for (int k = 0; k < 256; k++) classOf[k] = k == 0 ? 0 : perLabel ? Array.IndexOf(labelValues, (byte)k) + 1 : 1;
// Segmentation loss: foreground-only Dice pooled over the batch (a volume without tumour adds no 0/0 term) plus
// cross-entropy with each foreground class weighted by sqrt(background/class voxels) of the training masks, capped at 10.
// Without both, the brain U-Net (3% tumour voxels) collapsed to background.
float[] weights = mode == "segment" ? ClassWeights(train, classOf, labelValues.Length + 1) : [1f];
using var classWeight = mode == "segment" ? torch.tensor(weights) : null;

Tensor Images(Augmenter? augmenter, IList<Sample> set, IList<int> idx, out byte[][] masks)
{
    long n = set[0].X.Length;
    var data = new float[idx.Count * n];
    masks = new byte[idx.Count][];
    for (int b = 0; b < idx.Count; b++)
    {
        var s = set[idx[b]];
        var (x, mask) = augmenter is not null ? augmenter.Apply(s.X, s.Mask) : (s.X, s.Mask);
        masks[b] = mask!;
        x.CopyTo(data, b * n);
    }
    return torch.tensor(data, [idx.Count, .. shape]);
}
Tensor Targets(byte[][] masks)
{
    long n = masks[0].Length;
    var data = new long[masks.Length * n];
    for (int b = 0; b < masks.Length; b++) for (int i = 0; i < n; i++) data[b * n + i] = classOf[masks[b][i]];
    return torch.tensor(data, [masks.Length, .. shape[1..]]);
}

// One candidate: a fresh network (same initial weights for every rate), trained for `epochs` with a cosine rate; after
// each epoch the validation figure is computed and the best epoch's weights are kept (a tie keeps the earlier epoch).
(Network Net, int BestEpoch, double BestValidation, List<double> Curve) Train(double lr)
{
    using var weightGenerator = new Generator((ulong)seed);
    Network net = mode == "segment"
        ? new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = dims, InChannels = channels, Depth = depth, BaseChannels = width }, NumClasses = labelValues.Length + 1 }.Build(weightGenerator)
        : EncoderClassifierConfig.PlainCnn(dims, channels, classes.Count, depth: depth, baseChannels: width).Build(weightGenerator);
    var augmenter = augment ? new Augmenter(shape[1..].Select(s => (int)s).ToArray(), channels, seed) : null;
    using var adam = new ScalarSafeAdam(net.parameters(), lr);
    int stepsPerEpoch = (train.Count + batchSize - 1) / batchSize;
    var schedule = optim.lr_scheduler.CosineAnnealingLR(adam, (double)epochs * stepsPerEpoch);
    var order = Enumerable.Range(0, train.Count).ToList();
    var shuffle = new Random(seed);
    var curve = new List<double>();
    Dictionary<string, Tensor>? best = null;
    int bestEpoch = 0;
    double bestScore = double.NegativeInfinity;
    for (int epoch = 0; epoch < epochs; epoch++)
    {
        net.train();
        order = order.OrderBy(_ => shuffle.Next()).ToList();
        double total = 0;
        for (int start = 0; start < order.Count; start += batchSize)
        {
            using var pause = GarbageCollectionPause.Enter();
            using var scope = torch.NewDisposeScope();
            var idx = order.Skip(start).Take(batchSize).ToList();
            var x = Images(augmenter, train, idx, out var masks);
            adam.zero_grad();
            Tensor loss = mode == "segment"
                ? SegmentationLosses.DiceCrossEntropy(net.call(x), Targets(masks), includeBackground: false, batch: true, ceWeight: classWeight)
                : nn.functional.cross_entropy(net.call(x), torch.tensor(idx.Select(i => trainLabels[i]).ToArray()));
            loss.backward();
            adam.step();
            schedule.step();
            total += loss.ToDouble() * idx.Count;
        }
        var score = Score(net, validation, validationLabels).Metric;
        curve.Add(Math.Round(score, 4));
        if (best is null || score > bestScore)
        {
            bestScore = score;
            if (best is not null) foreach (var t in best.Values) t.Dispose();
            best = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            bestEpoch = epoch;
        }
        Console.Error.WriteLine($"lr {lr}: epoch {epoch + 1}/{epochs}: loss {total / order.Count:F4}, validation {score:F4} ({watch.Elapsed.TotalSeconds:F0} s)");
    }
    net.load_state_dict(best!);
    foreach (var t in best!.Values) t.Dispose();
    return (net, bestEpoch + 1, bestScore, curve);
}

// Accuracy, or Dice pooled over the set (slices without foreground count through their false positives), with the mean
// of per-image Dice over images that have foreground and, with --per-label, each label's Dice.
(double Metric, double MeanImageDice, Dictionary<string, double> LabelDice) Score(Network net, IList<Sample> set, IList<int> labels)
{
    net.eval();
    var labelDice = new Dictionary<string, double>();
    using var noGrad = torch.no_grad();
    double sum = 0, inter = 0, total = 0, perImage = 0;
    var labelInter = new double[labelValues.Length + 1];
    var labelTotal = new double[labelValues.Length + 1];
    int withForeground = 0;
    for (int start = 0; start < set.Count; start += batchSize)
    {
        using var pause = GarbageCollectionPause.Enter();
        using var scope = torch.NewDisposeScope();
        var idx = Enumerable.Range(start, Math.Min(batchSize, set.Count - start)).ToList();
        var pred = net.call(Images(null, set, idx, out var masks)).argmax(1).data<long>().ToArray();
        for (int b = 0; b < idx.Count; b++)
        {
            if (mode != "segment") { sum += pred[b] == labels[idx[b]] ? 1 : 0; continue; }
            var slice = pred.AsSpan(b * masks[b].Length, masks[b].Length);
            var (i, t) = Overlap(slice, masks[b]);
            // One pass over the voxels for every class at once (index 0, background, is counted but not reported).
            for (int v = 0; perLabel && v < slice.Length; v++)
            {
                long p = slice[v], truth = classOf[masks[b][v]];
                if (p == truth) labelInter[p]++;
                labelTotal[p]++;
                labelTotal[truth]++;
            }
            inter += i; total += t;
            if (masks[b].Any(m => m != 0)) { perImage += 2.0 * i / t; withForeground++; }
        }
    }
    for (int c = 1; perLabel && c <= labelValues.Length; c++)
        labelDice[labelValues[c - 1].ToString(CultureInfo.InvariantCulture)] = Math.Round(2 * labelInter[c] / Math.Max(labelTotal[c], 1), 4);
    return (mode == "segment" ? 2 * inter / Math.Max(total, 1) : sum / set.Count, withForeground == 0 ? 1 : perImage / withForeground, labelDice);
}

// Every candidate rate, chosen by its best validation figure (a tie keeps the earlier rate in --lrs).
var candidates = new List<Dictionary<string, object>>();
(Network Net, int BestEpoch, double BestValidation, List<double> Curve, double Lr)? chosen = null;
foreach (var lr in lrs)
{
    var (net, bestEpoch, bestValidation, curve) = Train(lr);
    candidates.Add(new() { ["lr"] = lr, ["best_epoch"] = bestEpoch, ["validation"] = Math.Round(bestValidation, 4), ["validation_by_epoch"] = curve });
    if (chosen is null || bestValidation > chosen.Value.BestValidation)
    {
        chosen?.Net.Dispose();
        chosen = (net, bestEpoch, bestValidation, curve, lr);
    }
    else net.Dispose();
}

// The test split, loaded and scored once, with the chosen model.
var test = testItems.Select(Load).ToList();
var testLabels = testItems.Select(i => mode == "segment" ? 0 : classes.IndexOf(i.ClassLabel!)).ToList();
var (testMetric, meanImageDice, testLabelDice) = Score(chosen!.Value.Net, test, testLabels);
chosen.Value.Net.Dispose();
string metricName = mode == "segment" ? "dice" : "accuracy";
var result = new Dictionary<string, object>
{
    ["mode"] = mode, ["train"] = train.Count, ["validation"] = validation.Count, ["validation_patients"] = validationGroups.Count,
    ["test"] = test.Count, ["size"] = shape[1..], ["max_epochs"] = epochs, ["depth"] = depth, ["width"] = width, ["augment"] = augment,
    ["candidates"] = candidates, ["chosen_lr"] = chosen.Value.Lr, ["chosen_epoch"] = chosen.Value.BestEpoch,
    // The figure the calibration's targets are judged on (validation), then the test figure, scored once and used for nothing.
    [$"validation_{metricName}"] = Math.Round(chosen.Value.BestValidation, 4),
    [$"test_{metricName}"] = Math.Round(testMetric, 4),
    ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 1),
};
if (mode == "segment")
{
    result["test_dice_mean_over_images_with_foreground"] = Math.Round(meanImageDice, 4);
    result["loss"] = $"Dice over the non-background classes (batch) + CE, class weights {string.Join(", ", weights.Select(w => w.ToString(CultureInfo.InvariantCulture)))}";
    if (perLabel) result["test_dice_per_label"] = testLabelDice;
}
Console.WriteLine(JsonSerializer.Serialize(result));
return 0;

// Foreground voxels predicted and true (intersection), and the sum of both counts.
static (long Intersection, long Total) Overlap(ReadOnlySpan<long> pred, byte[] truth)
{
    long inter = 0, sum = 0;
    for (int i = 0; i < truth.Length; i++)
    {
        bool p = pred[i] != 0, t = truth[i] != 0;
        if (p && t) inter++;
        sum += (p ? 1 : 0) + (t ? 1 : 0);
    }
    return (inter, sum);
}

// Cross-entropy weight per class: 1 for background, sqrt(background voxels / class voxels) for the others, in [1, 10].
static float[] ClassWeights(IList<Sample> set, long[] classOf, int classes)
{
    var counts = new long[classes];
    foreach (var s in set) foreach (var m in s.Mask!) counts[classOf[m]]++;
    return Enumerable.Range(0, classes)
        .Select(c => c == 0 ? 1f : (float)Math.Round(Math.Clamp(Math.Sqrt(counts[0] / (double)Math.Max(counts[c], 1)), 1, 10), 2))
        .ToArray();
}

record Sample(float[] X, long[] Shape, byte[]? Mask);

/// <summary>Label-preserving random transforms: a flip per spatial axis, an integer shift of up to a tenth of the
/// edge (filled with the image's minimum, and background in the mask), and intensity a·x + b.</summary>
sealed class Augmenter(int[] spatial, int channels, int seed)
{
    private readonly Random random = new(seed * 7919 + 1);
    public (float[] Image, byte[]? Mask) Apply(float[] x, byte[]? mask)
    {
        int d = spatial.Length, voxels = spatial.Aggregate(1, (p, s) => p * s);
        var flip = new bool[d];
        var shift = new int[d];
        for (int k = 0; k < d; k++)
        {
            flip[k] = random.Next(2) == 1;
            int m = spatial[k] / 10;
            shift[k] = random.Next(-m, m + 1);
        }
        float gain = (float)(0.9 + 0.2 * random.NextDouble()), offset = (float)(0.2 * random.NextDouble() - 0.1);
        float fill = x.Min();
        var image = new float[x.Length];
        var outMask = mask is null ? null : new byte[mask.Length];
        var p = new int[d];
        for (int v = 0; v < voxels; v++)
        {
            // p = this voxel's coordinates (last axis fastest), source = where it comes from.
            int rest = v, source = 0;
            bool inside = true;
            for (int k = d - 1; k >= 0; k--) { p[k] = rest % spatial[k]; rest /= spatial[k]; }
            for (int k = 0; k < d; k++)
            {
                int q = p[k] - shift[k];
                if (flip[k]) q = spatial[k] - 1 - q;
                if (q < 0 || q >= spatial[k]) { inside = false; break; }
                source = source * spatial[k] + q;
            }
            for (int c = 0; c < channels; c++)
                image[c * voxels + v] = gain * (inside ? x[c * voxels + source] : fill) + offset;
            if (outMask is not null) outMask[v] = inside ? mask![source] : (byte)0;
        }
        return (image, outMask);
    }
}
