// Times one training step (forward, cross-entropy, backward, Adam) of a 2D or 3D U-Net through TorchSharp
// (libtorch 2.10) and prints one JSON object. unet.py is the identical PyTorch side (Debian's python3-torch 1.13).
// Usage: TorchStep MODEL(2d|3d) WARMUP STEPS
//        TorchStep check MODEL   (one forward + backward with oneDNN off, then on, in one process: largest differences)
// Environment: MLNM_THREADS (torch threads; default all cores), MLNM_ONEDNN=0|1 (default 0: oneDNN off, because
// libtorch 2.10's oneDNN gives wrong conv results on this host for channel counts that are not multiples of 16).
// NNPACK is always off. glibc's allocator is tuned as the engine does it (M_MMAP_THRESHOLD 32 MiB, M_TRIM_THRESHOLD
// 1 GiB) unless GLIBC_TUNABLES, a MALLOC_*_ variable or MLNM_KEEP_MALLOC_DEFAULTS is set.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

if (args.Length > 0 && args[0] == "check") return CheckOneDnn.Run(UNetSpec.For(args.Length > 1 ? args[1] : "2d"));
var model = args.Length > 0 ? args[0] : "2d";
int warmup = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
var spec = UNetSpec.For(model);

// Before libtorch allocates anything.
var malloc = StartUp.TuneAllocator();
int threads = StartUp.ThreadsFromEnvironment();
bool onednnWanted = StartUp.OneDnnFromEnvironment();
torch.set_num_threads(threads);
var (onednn, nnpack) = StartUp.SetBackends(onednnWanted, nnpack: false);

torch.manual_seed(0);
using var net = new UNet(spec.Dims, 1, 2, spec.Width, spec.Levels);
using var opt = torch.optim.Adam(net.parameters(), lr: 1e-3);
using var x = torch.randn([spec.Batch, 1, .. Enumerable.Repeat(spec.Size, spec.Dims)]);
using var y = torch.randint(0, 2, [spec.Batch, .. Enumerable.Repeat(spec.Size, spec.Dims)]);

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
string side = onednn ? "torchsharp-onednn" : "torchsharp";
Console.WriteLine(FormattableString.Invariant(
    $"{{\"side\":\"{side}\",\"model\":\"{model}\",\"threads\":{torch.get_num_threads()},\"onednn\":{Bool(onednn)},\"nnpack\":{Bool(nnpack)},\"malloc\":\"{malloc}\",\"gflop_per_step\":{spec.TrainingGflop():F3},\"loss_first\":{losses[0]:F6},\"loss_last\":{losses[^1]:F6},\"times\":[{Join(times)}],\"cpu_times\":[{Join(cpuTimes)}]}}"));
return 0;

static string Join(List<double> values) => string.Join(",", values.Select(t => t.ToString("F6", CultureInfo.InvariantCulture)));
static string Bool(bool b) => b ? "true" : "false";

/// <summary>The start-up settings the engine applies: threads, glibc allocator tuning, oneDNN and NNPACK switches.</summary>
internal static unsafe class StartUp
{
    private const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int param, int value);

    /// <summary>Keeps blocks up to 32 MiB on the heap and trims only above 1 GiB, so freed activations are reused
    /// instead of being returned to the kernel and faulted in again every step.</summary>
    public static string TuneAllocator()
    {
        var env = Environment.GetEnvironmentVariables().Keys.Cast<string>().ToList();
        if (env.Contains("GLIBC_TUNABLES") || env.Contains("MLNM_KEEP_MALLOC_DEFAULTS")
            || env.Any(k => k.StartsWith("MALLOC_", StringComparison.Ordinal) && k.EndsWith('_')))
            return "defaults (environment)";
        bool ok = Mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 & Mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
        return ok ? "mmap32M-trim1G" : "mallopt failed";
    }

    public static int ThreadsFromEnvironment()
    {
        var s = Environment.GetEnvironmentVariable("MLNM_THREADS");
        return int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : Environment.ProcessorCount;
    }

    public static bool OneDnnFromEnvironment() => Environment.GetEnvironmentVariable("MLNM_ONEDNN") switch
    {
        null or "" or "0" => false,
        "1" => true,
        var v => throw new ArgumentException($"MLNM_ONEDNN must be 0 or 1, got '{v}'"),
    };

    /// <summary>Sets at::globalContext()'s user switches for oneDNN (mkldnn) and NNPACK through libtorch_cpu's
    /// exported C++ symbols and returns the values read back.</summary>
    public static (bool OneDnn, bool Nnpack) SetBackends(bool onednn, bool nnpack)
    {
        // TorchSharp has loaded libtorch_cpu by now (set_num_threads ran); this finds the same copy.
        var path = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", "libtorch_cpu.so");
        if (!File.Exists(path)) path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libtorch_cpu.so");
        var lib = NativeLibrary.Load(File.Exists(path) ? path : "libtorch_cpu.so");
        var globalContext = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "_ZN2at13globalContextEv");
        var setMkldnn = (delegate* unmanaged<IntPtr, byte, void>)NativeLibrary.GetExport(lib, "_ZN2at7Context20setUserEnabledMkldnnEb");
        var getMkldnn = (delegate* unmanaged<IntPtr, byte>)NativeLibrary.GetExport(lib, "_ZNK2at7Context17userEnabledMkldnnEv");
        var setNnpack = (delegate* unmanaged<IntPtr, byte, void>)NativeLibrary.GetExport(lib, "_ZN2at7Context20setUserEnabledNNPACKEb");
        var getNnpack = (delegate* unmanaged<IntPtr, byte>)NativeLibrary.GetExport(lib, "_ZNK2at7Context17userEnabledNNPACKEv");
        var ctx = globalContext();
        setMkldnn(ctx, onednn ? (byte)1 : (byte)0);
        setNnpack(ctx, nnpack ? (byte)1 : (byte)0);
        return (getMkldnn(ctx) != 0, getNnpack(ctx) != 0);
    }
}

/// <summary>Same weights and batch, oneDNN off then on: how far apart are logits and gradients?</summary>
internal static class CheckOneDnn
{
    public static int Run(UNetSpec spec)
    {
        StartUp.TuneAllocator();
        torch.set_num_threads(StartUp.ThreadsFromEnvironment());
        torch.manual_seed(0);
        using var net = new UNet(spec.Dims, 1, 2, spec.Width, spec.Levels);
        using var x = torch.randn([spec.Batch, 1, .. Enumerable.Repeat(spec.Size, spec.Dims)]);
        using var y = torch.randint(0, 2, [spec.Batch, .. Enumerable.Repeat(spec.Size, spec.Dims)]);
        var results = new List<(Tensor Logits, Dictionary<string, Tensor> Grads)>();
        foreach (bool onednn in new[] { false, true })
        {
            StartUp.SetBackends(onednn, nnpack: false);
            net.zero_grad();
            var logits = net.call(x);
            nn.functional.cross_entropy(logits, y).backward();
            results.Add((logits.detach().clone(), net.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone())));
        }
        // Reference: the same in float64 (oneDNN off; it has no float64 kernels anyway).
        StartUp.SetBackends(false, nnpack: false);
        net.to(ScalarType.Float64);
        net.zero_grad();
        var reference = net.call(x.to(ScalarType.Float64));
        nn.functional.cross_entropy(reference, y).backward();
        var refGrads = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.to(ScalarType.Float32));
        static double RelDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>() / Math.Max(b.abs().max().item<float>(), 1e-30);
        Console.WriteLine("max |float32 - float64| / max |float64|, oneDNN off, oneDNN on (worst 5 tensors by oneDNN on):");
        Console.WriteLine(FormattableString.Invariant($"logits: {RelDiff(results[0].Logits, reference.detach().to(ScalarType.Float32)):E2} {RelDiff(results[1].Logits, reference.detach().to(ScalarType.Float32)):E2}"));
        foreach (var (name, r) in refGrads.OrderByDescending(g => RelDiff(results[1].Grads[g.Key], g.Value)).Take(5))
            Console.WriteLine(FormattableString.Invariant($"grad {name} {string.Join("x", r.shape)}: {RelDiff(results[0].Grads[name], r):E2} {RelDiff(results[1].Grads[name], r):E2}"));
        return 0;
    }
}

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

/// <summary>Plain U-Net, module for module as unet.py: per level two (conv3 → BN → ReLU), max-pool down,
/// transposed conv up, concatenated skip, 1×1 head. BatchNorm only (no GroupNorm, whose weight and bias
/// TorchSharp 0.107 leaves uninitialised).</summary>
internal sealed class UNet : Module
{
    private readonly nn.Module<Tensor, Tensor> pool, head;
    private readonly TorchSharp.Modules.ModuleList<Module> down = new(), up = new(), decode = new();

    public UNet(int dims, long inChannels, long classes, long width, int levels) : base(nameof(UNet))
    {
        for (int l = 0; l < levels; l++) down.Add(Block(dims, l == 0 ? inChannels : width << (l - 1), width << l));
        for (int l = levels - 2; l >= 0; l--)
        {
            up.Add(dims == 2 ? nn.ConvTranspose2d(width << (l + 1), width << l, 2, stride: 2)
                             : nn.ConvTranspose3d(width << (l + 1), width << l, 2, stride: 2));
            decode.Add(Block(dims, 2 * (width << l), width << l));
        }
        pool = dims == 2 ? nn.MaxPool2d(2) : nn.MaxPool3d(2);
        head = Conv(dims, width, classes, 1, padding: 0, bias: true);
        RegisterComponents();
    }

    private static Module Conv(int dims, long cin, long cout, long k, long padding, bool bias) => dims == 2
        ? nn.Conv2d(cin, cout, k, padding: padding, bias: bias)
        : nn.Conv3d(cin, cout, k, padding: padding, bias: bias);

    private static Module BatchNorm(int dims, long c) => dims == 2 ? nn.BatchNorm2d(c) : nn.BatchNorm3d(c);

    private static Module Block(int dims, long cin, long cout) => nn.Sequential(
        Conv(dims, cin, cout, 3, padding: 1, bias: false), BatchNorm(dims, cout), nn.ReLU(),
        Conv(dims, cout, cout, 3, padding: 1, bias: false), BatchNorm(dims, cout), nn.ReLU());

    public override Tensor forward(Tensor x)
    {
        var skips = new List<Tensor>();
        var h = x;
        for (int l = 0; l < down.Count; l++)
        {
            if (l > 0) h = pool.call(h);
            h = down[l].call(h);
            skips.Add(h);
        }
        for (int i = 0; i < up.Count; i++)
            h = decode[i].call(torch.cat([up[i].call(h), skips[skips.Count - 2 - i]], 1));
        return head.call(h);
    }
}
