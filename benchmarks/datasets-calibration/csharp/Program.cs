// Calibration of a synthetic dataset (issue 5): a plain CNN trained from scratch on the train split
// (accuracy on test), and a U-Net trained on the pretrain split (foreground Dice on the test split's masks).
// Usage: datasets-calibration DIR classify|segment [--epochs N] [--seed N] [--lr X] [--depth N] [--width N] [--no-augment] [--per-label]
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

if (args.Length < 2 || args[1] is not ("classify" or "segment"))
{
    Console.Error.WriteLine("usage: datasets-calibration DIR classify|segment [--epochs N] [--seed N] [--lr X] [--depth N] [--width N] [--no-augment] [--per-label]");
    return 2;
}
string dir = args[0], mode = args[1];
int epochs = 30, seed = 1, depth = 4, width = 8;
double lr = 2e-3;
bool augment = true, perLabel = false;
for (int a = 2; a < args.Length; a++)
{
    string Value() => a + 1 < args.Length ? args[++a] : throw new ArgumentException($"{args[a]} needs a value");
    switch (args[a])
    {
        case "--epochs": epochs = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--lr": lr = double.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--depth": depth = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--width": width = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--no-augment": augment = false; break;
        case "--per-label": perLabel = true; break;
        default: throw new ArgumentException($"unknown option {args[a]}");
    }
}
const int batchSize = 16;
var items = CsvManifest.Read(Path.Combine(dir, "manifest.csv"));
TorchRuntime.Initialize();
using var weightGenerator = new Generator((ulong)seed);
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
var trainItems = items.Where(i => i.Split == (mode == "segment" ? "pretrain" : "train")).ToList();
var train = trainItems.Select(Load).ToList();
var trainLabels = trainItems.Select(i => mode == "segment" ? 0L : classes.IndexOf(i.ClassLabel!)).ToArray();
var test = items.Where(i => i.Split == "test").Select(Load).ToList();
var testLabels = items.Where(i => i.Split == "test").Select(i => classes.IndexOf(i.ClassLabel!)).ToList();
var shape = train[0].Shape;
int dims = shape.Length - 1, channels = (int)shape[0];
// Mask values the U-Net learns: foreground alone (class 1), or with --per-label each label value as its own class.
byte[] labelValues = mode == "segment" && perLabel
    ? train.SelectMany(s => s.Mask!).Where(m => m != 0).Distinct().Order().ToArray()
    : [1];
var classOf = new long[256];
for (int k = 0; k < 256; k++) classOf[k] = k == 0 ? 0 : perLabel ? Array.IndexOf(labelValues, (byte)k) + 1 : 1;
var augmenter = new Augmenter(shape[1..].Select(s => (int)s).ToArray(), channels, seed);

Tensor Images(IList<Sample> set, IList<int> idx, bool randomize, out byte[][] masks)
{
    long n = set[0].X.Length;
    var data = new float[idx.Count * n];
    masks = new byte[idx.Count][];
    for (int b = 0; b < idx.Count; b++)
    {
        var s = set[idx[b]];
        var (x, mask) = randomize ? augmenter.Apply(s.X, s.Mask) : (s.X, s.Mask);
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

Network net = mode == "segment"
    ? new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = dims, InChannels = channels, Depth = depth, BaseChannels = width }, NumClasses = labelValues.Length + 1 }.Build(weightGenerator)
    : EncoderClassifierConfig.PlainCnn(dims, channels, classes.Count, depth: depth, baseChannels: width).Build(weightGenerator);
// Segmentation loss: foreground-only Dice pooled over the batch (a volume without tumour adds no 0/0 term) plus
// cross-entropy with each foreground class weighted by sqrt(background/class voxels) of the training masks, capped at 10.
// Without both, the brain U-Net (3% tumour voxels) collapsed to background.
float[] weights = mode == "segment" ? ClassWeights(train, classOf, labelValues.Length + 1) : [1f];
using var classWeight = mode == "segment" ? torch.tensor(weights) : null;
using var adam = optim.Adam(net.parameters(), lr: lr);
int stepsPerEpoch = (train.Count + batchSize - 1) / batchSize;
var schedule = optim.lr_scheduler.CosineAnnealingLR(adam, (double)epochs * stepsPerEpoch);
var order = Enumerable.Range(0, train.Count).ToList();
var shuffle = new Random(seed);
for (int epoch = 0; epoch < epochs; epoch++)
{
    net.train();
    order = order.OrderBy(_ => shuffle.Next()).ToList();
    double total = 0;
    for (int start = 0; start < order.Count; start += batchSize)
    {
        using var scope = torch.NewDisposeScope();
        var idx = order.Skip(start).Take(batchSize).ToList();
        var x = Images(train, idx, augment, out var masks);
        adam.zero_grad();
        Tensor loss = mode == "segment"
            ? SegmentationLosses.DiceCrossEntropy(net.call(x), Targets(masks), includeBackground: false, batch: true, ceWeight: classWeight)
            : nn.functional.cross_entropy(net.call(x), torch.tensor(idx.Select(i => trainLabels[i]).ToArray()));
        loss.backward();
        adam.step();
        schedule.step();
        total += loss.ToDouble() * idx.Count;
    }
    Console.Error.WriteLine($"epoch {epoch + 1}/{epochs}: loss {total / order.Count:F4} ({watch.Elapsed.TotalSeconds:F0} s)");
}

net.eval();
double metric, meanImageDice = 0;
var labelDice = new Dictionary<string, double>();
using (torch.no_grad())
{
    // Segmentation: Dice pooled over the test set (slices without foreground count through their false
    // positives), and the mean of per-image Dice over images that have foreground.
    double sum = 0, inter = 0, total = 0, perImage = 0;
    var labelInter = new double[labelValues.Length + 1];
    var labelTotal = new double[labelValues.Length + 1];
    int withForeground = 0;
    for (int start = 0; start < test.Count; start += batchSize)
    {
        using var scope = torch.NewDisposeScope();
        var idx = Enumerable.Range(start, Math.Min(batchSize, test.Count - start)).ToList();
        var pred = net.call(Images(test, idx, randomize: false, out var masks)).argmax(1).data<long>().ToArray();
        for (int b = 0; b < idx.Count; b++)
        {
            if (mode != "segment") { sum += pred[b] == testLabels[idx[b]] ? 1 : 0; continue; }
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
    metric = mode == "segment" ? 2 * inter / Math.Max(total, 1) : sum / test.Count;
    meanImageDice = withForeground == 0 ? 1 : perImage / withForeground;
    for (int c = 1; perLabel && c <= labelValues.Length; c++)
        labelDice[labelValues[c - 1].ToString(CultureInfo.InvariantCulture)] = Math.Round(2 * labelInter[c] / Math.Max(labelTotal[c], 1), 4);
}
net.Dispose();
var result = new Dictionary<string, object>
{
    ["mode"] = mode, ["train"] = train.Count, ["test"] = test.Count, ["size"] = shape[1..], ["epochs"] = epochs, ["lr"] = lr,
    ["depth"] = depth, ["width"] = width, ["augment"] = augment,
    [mode == "segment" ? "dice" : "accuracy"] = Math.Round(metric, 4), ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 1),
};
if (mode == "segment")
{
    result["dice_mean_over_images_with_foreground"] = Math.Round(meanImageDice, 4);
    result["loss"] = $"Dice over the non-background classes (batch) + CE, class weights {string.Join(", ", weights.Select(w => w.ToString(CultureInfo.InvariantCulture)))}";
    if (perLabel) result["dice_per_label"] = labelDice;
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
