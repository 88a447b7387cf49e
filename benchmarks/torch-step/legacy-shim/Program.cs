// Legacy side of benchmarks/torch-step (TORCH_STEP_LEGACY=1): one U-Net training step (forward, cross-entropy,
// backward, Adam) through the old shim, MlNetMedical.Torch over Debian's libtorch 1.13, printed as one JSON object.
// ../Program.cs (TorchSharp) and ../unet.py (python3-torch) are the same model. Goes when the shim leaves the tree.
// Usage: TorchStepLegacyShim MODEL(2d|3d) WARMUP STEPS
using System.Diagnostics;
using System.Globalization;
using MlNetMedical.Torch;
using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Optim;
using TorchSettings = MlNetMedical.Torch.Torch;

var model = args.Length > 0 ? args[0] : "2d";
int warmup = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10;
var spec = UNetSpec.For(model);

TorchSettings.ManualSeed(0);
using var net = new UNet(spec.Dims, 1, 2, spec.Width, spec.Levels);
using var opt = new Adam(net.Parameters(), lr: 1e-3);
using var x = Tensor.Randn([spec.Batch, 1, .. Enumerable.Repeat(spec.Size, spec.Dims)]);
using var y = Tensor.RandInt(0, 2, [spec.Batch, .. Enumerable.Repeat(spec.Size, spec.Dims)]);

var times = new List<double>();
var cpuTimes = new List<double>();
var process = Process.GetCurrentProcess();
for (int i = 0; i < warmup + steps; i++)
{
    process.Refresh();
    var cpu0 = process.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    using (TorchSettings.NewDisposeScope())
    {
        opt.ZeroGrad(setToNone: true);
        var logits = net.Forward(x);
        var loss = Losses.CrossEntropy(logits, y);
        logits.Dispose();
        loss.Backward();
        opt.Step();
    }
    sw.Stop();
    process.Refresh();
    if (i >= warmup)
    {
        times.Add(sw.Elapsed.TotalSeconds);
        cpuTimes.Add((process.TotalProcessorTime - cpu0).TotalSeconds);
    }
}
Console.WriteLine(FormattableString.Invariant(
    $"{{\"side\":\"legacy-shim\",\"model\":\"{model}\",\"threads\":{TorchSettings.NumThreads},\"onednn\":{(OneDnnEnabled() ? "true" : "false")},\"nnpack\":false,\"malloc\":\"{ShimMalloc()}\",\"gflop_per_step\":{spec.TrainingGflop():F3},\"times\":[{Join(times)}],\"cpu_times\":[{Join(cpuTimes)}]}}"));

// libtorch 1.13's own switch, which the shim leaves at its default (on); Debian builds it without NNPACK.
static unsafe bool OneDnnEnabled()
{
    var lib = System.Runtime.InteropServices.NativeLibrary.Load("libtorch_cpu.so.1.13");
    var ctx = ((delegate* unmanaged<IntPtr>)System.Runtime.InteropServices.NativeLibrary.GetExport(lib, "_ZN2at13globalContextEv"))();
    return ((delegate* unmanaged<IntPtr, byte>)System.Runtime.InteropServices.NativeLibrary.GetExport(lib, "_ZNK2at7Context17userEnabledMkldnnEv"))(ctx) != 0;
}

// The shim's native/runtime.cpp tunes glibc at load unless one of these is set.
static string ShimMalloc() => new[] { "GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MLNM_KEEP_MALLOC_DEFAULTS" }
    .Any(k => Environment.GetEnvironmentVariable(k) is not null) ? "defaults (environment)" : "mmap32M-trim1G";

static string Join(List<double> values) => string.Join(",", values.Select(t => t.ToString("F6", CultureInfo.InvariantCulture)));

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

/// <summary>Plain U-Net: per level two (conv3 → BN → ReLU), max-pool down, transposed conv up, concat skip.</summary>
internal sealed class UNet : Module
{
    private readonly ModuleList down = new(), up = new(), decode = new();
    private readonly MaxPool pool;
    private readonly Conv head;

    public UNet(int dims, long inChannels, long classes, long width, int levels)
    {
        RegisterModule("down", down);
        RegisterModule("up", up);
        RegisterModule("decode", decode);
        for (int l = 0; l < levels; l++) down.Add(Block(dims, l == 0 ? inChannels : width << (l - 1), width << l));
        for (int l = levels - 2; l >= 0; l--)
        {
            up.Add(new ConvTranspose(dims, width << (l + 1), width << l, 2, stride: 2));
            decode.Add(Block(dims, 2 * (width << l), width << l));
        }
        pool = RegisterModule("pool", new MaxPool(dims, 2));
        head = RegisterModule("head", new Conv(dims, width, classes, 1));
    }

    private static Sequential Block(int dims, long cin, long cout) => new(
        new Conv(dims, cin, cout, 3, padding: 1, bias: false), new BatchNorm(dims, cout), new ReLU(),
        new Conv(dims, cout, cout, 3, padding: 1, bias: false), new BatchNorm(dims, cout), new ReLU());

    // Intermediates are disposed as soon as the forward pass no longer needs them; the autograd graph keeps its
    // own references, so during backward memory is released as in Python (where reference counting does this).
    public override Tensor Forward(Tensor input)
    {
        var skips = new List<Tensor>();
        var h = input;
        for (int l = 0; l < down.Count; l++)
        {
            using var pooled = l > 0 ? pool.Forward(h) : null;
            h = down[l].Forward(pooled ?? input);
            skips.Add(h);
        }
        for (int i = 0; i < up.Count; i++)
        {
            using var u = up[i].Forward(h);
            var skip = skips[skips.Count - 2 - i];
            using var joined = Tensor.Cat([u, skip], 1);
            if (i > 0) h.Dispose();
            h = decode[i].Forward(joined);
        }
        foreach (var s in skips) s.Dispose();
        var logits = head.Forward(h);
        h.Dispose();
        return logits;
    }
}
