using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary>
/// State dicts written by Debian's python3-torch (1.13) as safetensors, with a hand-written writer (the format by hand:
/// 8-byte little-endian header length, JSON header, raw data), load into the matching TorchSharp modules with strict key
/// and shape checks, and the loaded modules compute what PyTorch computed.
/// </summary>
public sealed class PyTorchStateDictTests(PyTorchStateDictTests.Files files, ITestOutputHelper output) : IClassFixture<PyTorchStateDictTests.Files>
{
    private const string Script = PythonReference.SafetensorsPy + "\n" + """
import sys, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0); torch.set_num_threads(1)
out = sys.argv[1]
class Tiny(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv2d(1, 3, 3, padding=1); s.bn = nn.BatchNorm2d(3); s.fc = nn.Linear(3, 2)
    def forward(s, x): return s.fc(F.relu(s.bn(s.conv(x))).mean((2, 3)))
class Stage(nn.Module):
    def __init__(s, cin, cout):
        super().__init__(); s.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False); s.norm1 = nn.BatchNorm2d(cout)
    def forward(s, x): return F.relu(s.norm1(s.conv1(x)))
class Plain(nn.Module):  # EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 3, baseChannels: 4)
    def __init__(s):
        super().__init__()
        s.encoder = nn.Module(); s.encoder.stages = nn.ModuleList([Stage(1, 4), Stage(4, 8), Stage(8, 16)])
        s.head = nn.Module(); s.head.output = nn.Linear(16, 2)
    def forward(s, x):
        for i, st in enumerate(s.encoder.stages):
            x = st(F.max_pool2d(x, 2) if i > 0 else x)
        return s.head.output(x.mean((2, 3)))
x = torch.randn(3, 1, 8, 8)
for name, net in [('tiny', Tiny()), ('plain', Plain())]:
    net.train()
    for _ in range(3): net(torch.randn(4, 1, 8, 8))  # batch-norm statistics away from their defaults
    net.eval()
    with torch.no_grad(): y = net(x)
    sd = net.state_dict()
    save(f'{out}/{name}.safetensors', sd, {'format': 'pt'})
    save(f'{out}/{name}.expected.safetensors', {'x': x, 'y': y})
    if name == 'tiny':
        bad = dict(sd); bad['fc.weight'] = torch.zeros(2, 4); del bad['bn.running_var']; bad['extra.weight'] = torch.zeros(1)
        save(f'{out}/tiny.bad.safetensors', bad)
print('ok')
""";

    /// <summary>The files python3-torch wrote, once per test class.</summary>
    public sealed class Files : IDisposable
    {
        private readonly Lazy<string> dir = new(() =>
        {
            var d = Directory.CreateTempSubdirectory("mlnm-pt-statedict-").FullName;
            PythonReference.RunChecked(Script, d);
            return d;
        });

        public string this[string name] => Path.Combine(dir.Value, name + ".safetensors");

        public void Dispose()
        {
            if (dir.IsValueCreated) Directory.Delete(dir.Value, recursive: true);
        }
    }

    /// <summary>A plain TorchSharp module in the usual idiom (fields, RegisterComponents), PyTorch's Tiny above.</summary>
    private sealed class TinyTorchNet : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> conv = nn.Conv2d(1, 3, 3, padding: 1);
        private readonly nn.Module<Tensor, Tensor> bn = nn.BatchNorm2d(3);
        private readonly nn.Module<Tensor, Tensor> fc = nn.Linear(3, 2);

        public TinyTorchNet() : base(nameof(TinyTorchNet)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            return scope.MoveToOuter(fc.call(nn.functional.relu(bn.call(conv.call(x))).mean([2, 3])));
        }
    }

    private double CheckOutputs(nn.Module<Tensor, Tensor> net, string name)
    {
        var expected = Safetensors.Load(files[name + ".expected"]);
        try
        {
            net.eval();
            using var _ = torch.no_grad();
            using var y = net.call(expected["x"]);
            Assert.Equal(expected["y"].shape, y.shape);
            var error = TestConfigs.RelativeError(y, expected["y"]);
            output.WriteLine($"{name}: relative error of the eval-mode output against PyTorch's {error:E2}");
            Assert.True(error < 1e-5, $"{name}: output differs from PyTorch's (relative error {error:E2})");
            return error;
        }
        finally
        {
            foreach (var t in expected.Values) t.Dispose();
        }
    }

    [TorchPythonFact]
    public void PyTorchStateDictLoadsStrictlyIntoTheMatchingTorchSharpModule()
    {
        var state = Safetensors.Load(files["tiny"], out var metadata);
        try
        {
            Assert.Equal("pt", metadata["format"]);
            using var net = new TinyTorchNet();
            var result = net.LoadStateDict(state);
            Assert.True(result.IsExact, result.ToString());
            Assert.Equal(net.state_dict().Keys.Order(StringComparer.Ordinal), result.Loaded.Order(StringComparer.Ordinal));
            Assert.Equal(9, result.Loaded.Count); // conv.weight|bias, bn.weight|bias|running_mean|running_var|num_batches_tracked, fc.weight|bias
            Assert.Equal(3L, net.state_dict()["bn.num_batches_tracked"].item<long>());
            foreach (var (key, value) in state) Assert.True(TestConfigs.Same(net.state_dict()[key], value), key);
            CheckOutputs(net, "tiny");
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [TorchPythonFact]
    public void MismatchedPyTorchStateDictIsRejectedNamingEveryKeyAndChangesNothing()
    {
        var state = Safetensors.Load(files["tiny.bad"]);
        try
        {
            using var net = new TinyTorchNet();
            var before = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
            var e = Assert.Throws<StateDictMismatchException>(() => net.LoadStateDict(state));
            Assert.Equal(["bn.running_var"], e.Result.Missing);
            Assert.Equal(["extra.weight"], e.Result.Unexpected);
            var shape = Assert.Single(e.Result.ShapeMismatched);
            Assert.Equal("fc.weight", shape.Key);
            Assert.Equal([2L, 3], shape.Expected);
            Assert.Equal([2L, 4], shape.Found);
            Assert.Contains("fc.weight: module has [2, 3], state dict has [2, 4]", e.Message);
            foreach (var (key, value) in net.state_dict()) Assert.True(TestConfigs.Same(value, before[key]), $"{key} changed by a failed strict load");

            // Non-strict: what matches is copied, the rest reported.
            var result = net.LoadStateDict(state, strict: false);
            Assert.False(result.IsExact);
            Assert.Contains("conv.weight", result.Loaded);
            Assert.DoesNotContain("fc.weight", result.Loaded);
            Assert.True(TestConfigs.Same(net.state_dict()["conv.weight"], state["conv.weight"]));
            foreach (var t in before.Values) t.Dispose();
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [TorchPythonFact]
    public void PyTorchPlainCnnLoadsIntoTheEncoderClassifierAndPredictsTheSame()
    {
        var state = Safetensors.Load(files["plain"]);
        try
        {
            using var net = TestConfigs.PlainCnn(2).Build();
            // Strict: every PyTorch key lands with its shape and every key of the network is supplied.
            var result = net.LoadStateDict(state);
            Assert.True(result.IsExact, result.ToString());
            Assert.Equal(state.Keys.Order(StringComparer.Ordinal), result.Loaded.Order(StringComparer.Ordinal));
            Assert.Equal(net.state_dict().Keys.Order(StringComparer.Ordinal), result.Loaded.Order(StringComparer.Ordinal));
            CheckOutputs(net, "plain");
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }
}
