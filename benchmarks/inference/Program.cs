// benchmarks/inference, the C# sides. One classifier (the project's fine-tuned classifier shape: the default 2D U-Net encoder,
// depth 5, widths 32..512, + average pooling + linear head, 2 classes) on 1×SIZE×SIZE images:
//   Inference prepare DIR SIZE         builds it (seeded), trains it a few Adam steps on synthetic disks (so weights and batch-norm
//                                      statistics are trained ones), writes DIR/classifier.onnx (OnnxExporter) and DIR/input.bin
//                                      (32 disk images, float32).
//   Inference torchsharp DIR BATCH WARMUP ITERS   the network rebuilt from the ONNX file's config and weights, on TorchSharp
//   Inference onnx DIR BATCH WARMUP ITERS         the ONNX file on ONNX Runtime (CPU execution provider)
// Each timed side prints one JSON line: seconds per call (input copy in, forward, softmax, probabilities out) and the first image's
// probabilities, so run.sh can check that the sides compute the same thing. Threads: MLNM_THREADS (default all cores) for both.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using MlNetMedical.Models;
using TorchSharp;
using static TorchSharp.torch;

const int Images = 32;
var mode = args.Length > 0 ? args[0] : throw new ArgumentException("usage: Inference prepare DIR SIZE | torchsharp|onnx DIR BATCH WARMUP ITERS");
var dir = args[1];
TorchRuntime.Initialize();
var threads = TorchRuntime.DefaultThreads;

if (mode == "prepare")
{
    var size = int.Parse(args[2], CultureInfo.InvariantCulture);
    using var generator = new Generator(7);
    var config = EncoderClassifierConfig.FromSegmentation(new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = 2, Depth = 5, BaseChannels = 32 } },
        new ClassificationHeadConfig { NumClasses = 2 });
    using var net = (EncoderClassifier)config.Build(generator);
    var (images, labels) = Disks(Images, size, generator);
    using (images)
    using (labels)
    {
        net.train();
        using var adam = new ScalarSafeAdam(net.parameters(), 1e-3);
        for (int step = 0; step < 4; step++)
            using (torch.NewDisposeScope())
            {
                var at = step * 8 % Images;
                adam.zero_grad();
                var loss = nn.functional.cross_entropy(net.call(images.narrow(0, at, 8)), labels.narrow(0, at, 8));
                loss.backward();
                adam.step();
                Console.Error.WriteLine($"prepare: training step {step + 1}/4, loss {loss.item<float>():F4}");
            }
        net.eval();
        OnnxExporter.Export(net, Path.Combine(dir, "classifier.onnx"), new OnnxExportOptions { InputSize = [size, size], ClassNames = ["left", "right"] });
        File.WriteAllBytes(Path.Combine(dir, "input.bin"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(images.data<float>().ToArray().AsSpan()).ToArray());
        File.WriteAllText(Path.Combine(dir, "size"), size.ToString(CultureInfo.InvariantCulture));
        Console.Error.WriteLine($"prepare: {net.ParameterCount:N0} parameters, input 1x{size}x{size}, written to {dir}");
    }
    return 0;
}

int batch = int.Parse(args[2], CultureInfo.InvariantCulture), warmup = int.Parse(args[3], CultureInfo.InvariantCulture), iterations = int.Parse(args[4], CultureInfo.InvariantCulture);
var side = Environment.GetEnvironmentVariable("INFERENCE_SIDE") ?? mode;
var imageSize = int.Parse(File.ReadAllText(Path.Combine(dir, "size")), CultureInfo.InvariantCulture);
var all = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(dir, "input.bin"))).ToArray();
var pixels = all.AsSpan(0, batch * imageSize * imageSize).ToArray();
var onnxPath = Path.Combine(dir, "classifier.onnx");
Func<float[]> run;
IDisposable? owned;
if (mode == "torchsharp")
{
    // The network the file was written from: its config (metadata "network") and its weights (the initializers, state-dict names).
    var network = RebuildFromOnnx(onnxPath);
    owned = network;
    run = () =>
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(pixels, [batch, 1, imageSize, imageSize]);
        return network.call(x).softmax(1).data<float>().ToArray();
    };
}
else if (mode == "onnx")
{
    using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
    var session = new InferenceSession(onnxPath, options);
    owned = session;
    run = () =>
    {
        var input = new DenseTensor(pixels, [batch, 1, imageSize, imageSize]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", input)], ["probabilities"]);
        return results[0].AsTensor<float>().ToArray();
    };
}
else throw new ArgumentException($"unknown mode '{mode}'");

var times = new List<double>();
var cpuTimes = new List<double>();
var process = Process.GetCurrentProcess();
float[] probabilities = [];
for (int i = 0; i < warmup + iterations; i++)
{
    process.Refresh();
    var cpu0 = process.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    probabilities = run();
    sw.Stop();
    process.Refresh();
    if (i >= warmup)
    {
        times.Add(sw.Elapsed.TotalSeconds);
        cpuTimes.Add((process.TotalProcessorTime - cpu0).TotalSeconds);
    }
}
owned.Dispose();
Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["side"] = side, ["batch"] = batch, ["threads"] = threads, ["size"] = imageSize, ["times"] = times, ["cpu_times"] = cpuTimes,
    ["first"] = probabilities.Take(2).ToArray(), ["onednn"] = TorchRuntime.OneDnnEnabled,
}));
return 0;

static Network RebuildFromOnnx(string path)
{
    using var session = new InferenceSession(path);
    var network = NetworkFactory.FromJson(session.ModelMetadata.CustomMetadataMap["network"]);
    var weights = OnnxFile.ReadInitializers(path);
    try
    {
        var result = network.LoadStateDict(weights, strict: false);
        var missing = result.Missing.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        if (missing.Count > 0 || result.Unexpected.Count > 0 || result.ShapeMismatched.Count > 0)
            throw new InvalidDataException($"{path} does not hold this network's weights: {result}");
    }
    finally
    {
        foreach (var t in weights.Values) t.Dispose();
    }
    network.eval();
    return network;
}

static (Tensor Images, Tensor Labels) Disks(int count, int size, Generator generator)
{
    // A bright disk in the left (class 0) or right (class 1) half on noise, z-scored per image.
    using var scope = torch.NewDisposeScope();
    var grid = torch.arange(size, dtype: ScalarType.Float32);
    var yy = grid.view(size, 1);
    var xx = grid.view(1, size);
    var images = new List<Tensor>();
    var labels = new long[count];
    for (int i = 0; i < count; i++)
    {
        labels[i] = i % 2;
        var cx = size * (i % 2 == 0 ? 0.25 : 0.75);
        var cy = size * (0.3 + 0.4 * (i % 5) / 4.0);
        var r = size * 0.1;
        var disk = ((xx - cx).square() + (yy - cy).square()).le(r * r).to(ScalarType.Float32) + torch.randn([size, size], generator: generator) * 0.3;
        images.Add(((disk - disk.mean()) / disk.std()).unsqueeze(0));
    }
    return (scope.MoveToOuter(torch.stack(images)), scope.MoveToOuter(torch.tensor(labels)));
}
