// C# side of benchmarks/torch-overhead: per-op overhead of the binding, and a conv training step.
// Prints one JSON object. The conv step needs a conv2d op, which the nn layer provides
// (MlNetMedical.Torch.Nn.Functional.Conv); it is looked up at run time so this builds without it.
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using MlNetMedical.Torch;
using TorchRuntime = MlNetMedical.Torch.Torch;

var iterations = int.Parse(args.Length > 0 ? args[0] : "200000");
var convSteps = int.Parse(args.Length > 1 ? args[1] : "10");
var results = new Dictionary<string, object?>();

using var a = Tensor.Ones([1]);
using var b = Tensor.Ones([1]);

double PerOpMicroseconds(Action body, int n)
{
    for (var i = 0; i < Math.Min(n, 20000); i++) body(); // JIT and allocator warm-up
    var best = double.MaxValue;
    for (var round = 0; round < 3; round++)
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) body();
        best = Math.Min(best, sw.Elapsed.TotalMicroseconds / n);
    }
    return best;
}

// A new tensor per op, freed right away (what a dispose scope does at its end).
results["add_us"] = PerOpMicroseconds(() => { using var r = a + b; }, iterations);
// In place: no result handle at all.
using var acc = Tensor.Zeros([1]);
results["add_inplace_us"] = PerOpMicroseconds(() => acc.Add_(b), iterations);
// The usual pattern: ops inside a dispose scope (one scope per 100 ops).
results["add_scoped_us"] = PerOpMicroseconds(() =>
{
    using var scope = TorchRuntime.NewDisposeScope();
    for (var i = 0; i < 100; i++) _ = a + b;
}, iterations / 100) / 100;
results["shape_query_us"] = PerOpMicroseconds(() => _ = a.Shape, iterations);

// Conv training step: conv(3->32) relu conv(32->64) relu, global mean, linear(64->10), NLL, SGD in place.
var conv = Type.GetType("MlNetMedical.Torch.Nn.Functional, MlNetMedical.Torch")?.GetMethod("Conv", BindingFlags.Public | BindingFlags.Static);
if (conv is null)
{
    results["conv_step_ms"] = null;
    results["conv_gflops"] = null;
    results["conv_missing"] = "MlNetMedical.Torch.Nn.Functional.Conv (the nn layer) is not in this build";
}
else
{
    Tensor Conv(Tensor x, Tensor w, Tensor bias) =>
        (Tensor)conv.Invoke(null, [x, w, bias, null, new long[] { 1 }, null, 1L])!;

    TorchRuntime.ManualSeed(0);
    const int N = 16, H = 64, W = 64;
    using var input = Tensor.Randn([N, 3, H, W]);
    using var target = Tensor.RandInt(0, 10, [N, 1]);
    var w1 = (Tensor.Randn([32, 3, 3, 3]) * 0.1).RequiresGrad_();
    var b1 = Tensor.Zeros([32], requiresGrad: true);
    var w2 = (Tensor.Randn([64, 32, 3, 3]) * 0.05).RequiresGrad_();
    var b2 = Tensor.Zeros([64], requiresGrad: true);
    var w3 = (Tensor.Randn([64, 10]) * 0.1).RequiresGrad_();
    Tensor[] parameters = [w1, b1, w2, b2, w3];

    void Step()
    {
        using var scope = TorchRuntime.NewDisposeScope();
        var h = Conv(input, w1, b1).Relu();
        h = Conv(h, w2, b2).Relu();
        var logits = h.Mean([2, 3]).Matmul(w3);
        var loss = -logits.LogSoftmax(1).Gather(1, target).Mean();
        loss.Backward();
        using (TorchRuntime.NoGrad())
            foreach (var p in parameters) p.Sub_(p.Grad!, alpha: 0.01);
        foreach (var p in parameters) p.ZeroGrad();
    }

    for (var i = 0; i < 2; i++) Step();
    var sw = Stopwatch.StartNew();
    for (var i = 0; i < convSteps; i++) Step();
    var ms = sw.Elapsed.TotalMilliseconds / convSteps;
    results["conv_step_ms"] = ms;
    results["conv_gflops"] = ConvFlops(N, H, W) / (ms * 1e6);
    foreach (var p in parameters) p.Dispose();
}

results["threads"] = TorchRuntime.NumThreads;
Console.WriteLine(JsonSerializer.Serialize(results));

// conv1 (input needs no grad): forward + weight grad; conv2: forward + input grad + weight grad.
static double ConvFlops(int n, int h, int w) => 2.0 * 2 * n * 32 * 3 * 9 * h * w + 3.0 * 2 * n * 64 * 32 * 9 * h * w;
