// Times one training step (forward, cross-entropy, backward, Adam) of the project's 2D or 3D U-Net (MlNetMedical.Models,
// TorchSharp 0.107 / libtorch 2.10) and prints one JSON object. unet.py is the same network in Debian's python3-torch 1.13.
// Usage: TorchStep MODEL(2d|3d) WARMUP STEPS
// Environment: the engine's own (TorchRuntime.Initialize): MLNM_THREADS (default all cores), MLNM_ONEDNN (auto|1|0),
// MLNM_KEEP_MALLOC_DEFAULTS; TORCH_STEP_SIDE names the side in the JSON (run.sh sets it).
using System.Diagnostics;
using System.Globalization;
using MlNetMedical.Models;
using TorchSharp;
using static TorchSharp.torch;

var model = args.Length > 0 ? args[0] : "2d";
int warmup = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
var spec = UNetSpec.For(model);

TorchRuntime.Initialize();
using var generator = new Generator(0);
// The defaults are unet.py's layers: two conv(no bias)-BN-ReLU per level, 2x max pooling, transposed-conv upsampling,
// a 1x1 head; widths Width * 2^level.
var config = new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = spec.Dims, Depth = spec.Levels, BaseChannels = (int)spec.Width }, NumClasses = 2 };
using var net = config.Build(generator);
using var opt = new ScalarSafeAdam(net.parameters(), 1e-3); // the trainers' Adam
using var x = torch.randn([spec.Batch, 1, .. Enumerable.Repeat(spec.Size, spec.Dims)], generator: generator);
using var y = torch.randint(0, 2, [spec.Batch, .. Enumerable.Repeat(spec.Size, spec.Dims)], generator: generator);
net.train();

var times = new List<double>();
var cpuTimes = new List<double>();
var losses = new List<double>();
var process = Process.GetCurrentProcess();
for (int i = 0; i < warmup + steps; i++)
{
    process.Refresh();
    var cpu0 = process.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    double loss;
    using (GarbageCollectionPause.Enter()) // as TrainingLoop runs every step
    using (torch.NewDisposeScope())
    {
        opt.zero_grad();
        var l = nn.functional.cross_entropy(net.call(x), y);
        l.backward();
        opt.step();
        loss = l.item<float>();
    }
    sw.Stop();
    process.Refresh();
    losses.Add(loss);
    if (i >= warmup)
    {
        times.Add(sw.Elapsed.TotalSeconds);
        cpuTimes.Add((process.TotalProcessorTime - cpu0).TotalSeconds);
    }
}
if (!losses.All(double.IsFinite))
{
    Console.Error.WriteLine($"torch-step: loss is not finite: {Join(losses)}");
    return 1;
}
string side = Environment.GetEnvironmentVariable("TORCH_STEP_SIDE") is { Length: > 0 } named ? named : "torchsharp";
Console.WriteLine(FormattableString.Invariant(
    $"{{\"side\":\"{side}\",\"model\":\"{model}\",\"threads\":{torch.get_num_threads()},\"onednn\":{Bool(TorchRuntime.OneDnnEnabled)},\"onednn_decision\":\"{TorchRuntime.OneDnnDecision}\",\"nnpack\":false,\"malloc\":\"{(TorchRuntime.AllocatorTuned ? "mmap32M-trim1G" : "defaults")}\",\"parameters\":{net.ParameterCount},\"gflop_per_step\":{spec.TrainingGflop():F3},\"loss_first\":{losses[0]:F6},\"loss_last\":{losses[^1]:F6},\"times\":[{Join(times)}],\"cpu_times\":[{Join(cpuTimes)}]}}"));
return 0;

static string Join(List<double> values) => string.Join(",", values.Select(t => t.ToString("F6", CultureInfo.InvariantCulture)));
static string Bool(bool b) => b ? "true" : "false";

/// <summary>Benchmark shapes from the issue: 2D batch 16, 1×128², width 16; 3D batch 2, 1×64³, width 8; 4 levels.</summary>
internal sealed record UNetSpec(int Dims, long Batch, long Size, long Width, int Levels)
{
    public static UNetSpec For(string model) => model switch
    {
        "2d" => new UNetSpec(2, 16, 128, 16, 4),
        "3d" => new UNetSpec(3, 2, 64, 8, 4),
        _ => throw new ArgumentException($"model must be 2d or 3d, got '{model}'"),
    };

    /// <summary>Multiply-adds of every conv and transposed conv ×2 (FLOPs) ×3 (forward, input grads, weight grads).</summary>
    public double TrainingGflop()
    {
        double k3 = Math.Pow(3, Dims), k2 = Math.Pow(2, Dims), flops = 0;
        double Voxels(int level) => Batch * Math.Pow(Size >> level, Dims);
        long C(int level) => Width << level;
        for (int l = 0; l < Levels; l++)
        {
            long cin = l == 0 ? 1 : C(l - 1);
            flops += 2 * Voxels(l) * k3 * (cin * C(l) + C(l) * C(l));                    // encoder double conv
            if (l < Levels - 1)
            {
                flops += 2 * Voxels(l + 1) * k2 * C(l + 1) * C(l);                       // transposed conv up to level l
                flops += 2 * Voxels(l) * k3 * (2 * C(l) * C(l) + C(l) * C(l));         // decoder double conv
            }
        }
        flops += 2 * Voxels(0) * C(0) * 2;                                              // 1×1 head
        return 3 * flops / 1e9;
    }
}
