// Calibration of a synthetic dataset (issue 5): a plain CNN trained from scratch on the train split
// (accuracy on test), and a U-Net trained on the pretrain split (foreground Dice on the test split's masks).
// Usage: datasets-calibration DIR classify|segment EPOCHS [SEED]
// Prints one JSON object as its last line. Training is deliberately plain (Adam 1e-3, batch 16, no
// augmentation): the point is the task's difficulty, not the best model.
using System.Globalization;
using System.Text.Json;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Models;
using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Optim;
using TorchRt = MlNetMedical.Torch.Torch;

if (args.Length < 3) { Console.Error.WriteLine("usage: datasets-calibration DIR classify|segment EPOCHS [SEED]"); return 2; }
string dir = args[0], mode = args[1];
int epochs = int.Parse(args[2], CultureInfo.InvariantCulture);
int seed = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1;
const int batchSize = 16;
var items = CsvManifest.Read(Path.Combine(dir, "manifest.csv"));
TorchRt.ManualSeed((ulong)seed);
var watch = System.Diagnostics.Stopwatch.StartNew();

// Images as float32 [C, spatial...]: CT clipped to [-200, 250] HU and normalised with mean 95, std 35
// (paper B's LiTS code); MR and photos z-scored per image.
(float[] X, long[] Shape, byte[]? Mask) Load(DatasetItem item)
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
    return (v, s.Image.TensorShape(), s.Label?.Voxels<byte>().ToArray());
}

var train = items.Where(i => i.Split == (mode == "segment" ? "pretrain" : "train")).Select(Load).ToList();
var trainLabels = items.Where(i => i.Split == "train").Select(i => i.ClassLabel).ToList();
var test = items.Where(i => i.Split == "test").Select(Load).ToList();
var classes = items.Where(i => i.ClassLabel != null).Select(i => i.ClassLabel!).Distinct().Order(StringComparer.Ordinal).ToList();
var testLabels = items.Where(i => i.Split == "test").Select(i => classes.IndexOf(i.ClassLabel!)).ToList();
var shape = train[0].Shape;
int dims = shape.Length - 1, channels = (int)shape[0];

Tensor Batch(IList<(float[] X, long[] Shape, byte[]? Mask)> set, IList<int> idx)
{
    long n = set[0].X.Length;
    var data = new float[idx.Count * n];
    for (int b = 0; b < idx.Count; b++) set[idx[b]].X.CopyTo(data, b * n);
    return Tensor.FromArray(data, [idx.Count, .. shape]);
}
Tensor Masks(IList<(float[] X, long[] Shape, byte[]? Mask)> set, IList<int> idx)
{
    long n = set[0].Mask!.Length;
    var data = new long[idx.Count * n];
    for (int b = 0; b < idx.Count; b++) for (int i = 0; i < n; i++) data[b * n + i] = set[idx[b]].Mask![i] != 0 ? 1 : 0;
    return Tensor.FromArray(data, [idx.Count, .. shape[1..]]);
}

Network net = mode == "segment"
    ? new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = dims, InChannels = channels, Depth = 4, BaseChannels = 16 }, NumClasses = 2 }.Build()
    : EncoderClassifierConfig.PlainCnn(dims, channels, classes.Count).Build();
using var adam = new Adam(net.Parameters(), lr: 1e-3);
var order = Enumerable.Range(0, train.Count).ToList();
var shuffle = new Random(seed);
var labelsTensor = trainLabels.Select(l => (long)classes.IndexOf(l!)).ToArray();
for (int epoch = 0; epoch < epochs; epoch++)
{
    net.Train();
    order = order.OrderBy(_ => shuffle.Next()).ToList();
    double total = 0;
    for (int start = 0; start < order.Count; start += batchSize)
    {
        using var scope = TorchRt.NewDisposeScope();
        var idx = order.Skip(start).Take(batchSize).ToList();
        var x = Batch(train, idx);
        adam.ZeroGrad();
        Tensor loss = mode == "segment"
            ? Losses.DiceCrossEntropy(net.Forward(x), Masks(train, idx))
            : Losses.CrossEntropy(net.Forward(x), Tensor.FromArray(idx.Select(i => labelsTensor[i]).ToArray(), idx.Count));
        loss.Backward();
        adam.Step();
        total += loss.ToDouble() * idx.Count;
    }
    Console.Error.WriteLine($"epoch {epoch + 1}/{epochs}: loss {total / order.Count:F4} ({watch.Elapsed.TotalSeconds:F0} s)");
}

net.Eval();
double metric;
using (TorchRt.NoGrad())
{
    if (mode == "segment")
    {
        double dice = 0;
        for (int start = 0; start < test.Count; start += batchSize)
        {
            using var scope = TorchRt.NewDisposeScope();
            var idx = Enumerable.Range(start, Math.Min(batchSize, test.Count - start)).ToList();
            var pred = net.Forward(Batch(test, idx)).Argmax(1).ToArray<long>();
            long n = test[0].Mask!.Length;
            for (int b = 0; b < idx.Count; b++)
            {
                var truth = test[idx[b]].Mask!;
                long inter = 0, sum = 0;
                for (long i = 0; i < n; i++) { bool p = pred[b * n + i] != 0, t = truth[i] != 0; if (p && t) inter++; sum += (p ? 1 : 0) + (t ? 1 : 0); }
                dice += sum == 0 ? 1 : 2.0 * inter / sum;
            }
        }
        metric = dice / test.Count;
    }
    else
    {
        int correct = 0;
        for (int start = 0; start < test.Count; start += batchSize)
        {
            using var scope = TorchRt.NewDisposeScope();
            var idx = Enumerable.Range(start, Math.Min(batchSize, test.Count - start)).ToList();
            var pred = net.Forward(Batch(test, idx)).Argmax(1).ToArray<long>();
            for (int b = 0; b < idx.Count; b++) if (pred[b] == testLabels[idx[b]]) correct++;
        }
        metric = (double)correct / test.Count;
    }
}
net.Dispose();
Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["mode"] = mode, ["train"] = train.Count, ["test"] = test.Count, ["epochs"] = epochs,
    [mode == "segment" ? "dice" : "accuracy"] = Math.Round(metric, 4), ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 1),
}));
return 0;
