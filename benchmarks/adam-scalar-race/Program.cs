// One process: Adam steps on many small parameters (many scalar-taking native calls per step) for a fixed time, while
// another thread allocates and forces collections so that finalizers run during those calls. A process killed by
// libtorch's scalar check shows up to run.sh as a non-zero exit with the libtorch message on stderr.
// Sides: stock (TorchSharp's Adam), safe (ScalarSafeAdam), guarded (TorchSharp's Adam, each step inside
// GarbageCollectionPause, as the training loop runs it).
// Usage: AdamScalarRace stock|safe|guarded SECONDS
using System.Diagnostics;
using MlNetMedical.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

if (args.Length != 2 || args[0] is not ("stock" or "safe" or "guarded") || !double.TryParse(args[1], out var seconds))
{
    Console.Error.WriteLine("usage: AdamScalarRace stock|safe|guarded SECONDS");
    return 2;
}
TorchRuntime.Initialize();
torch.set_num_threads(1);
torch.manual_seed(1);
var layers = Enumerable.Range(0, 40).Select(i => ((string, nn.Module<Tensor, Tensor>))($"l{i}", nn.Linear(8, 8))).ToArray();
using var network = nn.Sequential(layers);
var groups = new List<TorchSharp.Modules.Adam.ParamGroup> { new(network.parameters(), lr: 1e-3, weight_decay: 1e-4) };
var guarded = args[0] == "guarded";
using OptimizerHelper optimizer = args[0] != "safe" ? optim.Adam(groups, 1e-3, weight_decay: 1e-4) : new ScalarSafeAdam(groups, 1e-3, 1e-4);
using var x = torch.randn(16, 8);

var stop = false;
var collectionsAtStart = GC.CollectionCount(0);
// Allocation alone (no GC.Collect, which would also end a no-GC region): collections come as often as the budget allows.
var pressure = new Thread(() =>
{
    var keep = new object[64];
    var i = 0;
    while (!Volatile.Read(ref stop)) keep[i++ % keep.Length] = new byte[4096];
}) { IsBackground = true };
pressure.Start();

var clock = Stopwatch.StartNew();
var steps = 0L;
while (clock.Elapsed.TotalSeconds < seconds)
{
    using var scope = torch.NewDisposeScope();
    using (guarded ? GarbageCollectionPause.Enter() : default)
    {
        optimizer.zero_grad();
        network.forward(x).square().mean().backward();
        optimizer.step();
    }
    steps++;
}
Volatile.Write(ref stop, true);
pressure.Join();
Console.WriteLine($"{{\"optimizer\": \"{args[0]}\", \"steps\": {steps}, \"seconds\": {clock.Elapsed.TotalSeconds:F1}, \"collections\": {GC.CollectionCount(0) - collectionsAtStart}}}");
return 0;
