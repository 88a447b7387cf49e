using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Optim;
using MlNetMedical.Torch.Serialization;
using Xunit;
using Xunit.Abstractions;
using F = MlNetMedical.Torch.Nn.Functional;

namespace MlNetMedical.Torch.Tests.Nn;

/// <summary>
/// The same small network, in C# and in Debian's python3-torch, with the same weights and input (exchanged as
/// safetensors): forward outputs, loss, every gradient and optimizer updates must agree to a relative error below 1e-5
/// (float32). Skipped, visibly, when /usr/bin/python3 cannot import torch.
/// </summary>
public class PythonComparisonTests(ITestOutputHelper output)
{
    // Reads/writes safetensors with struct + json + numpy (no safetensors package on Debian).
    private const string SafetensorsPy = """
import json, struct, numpy as np, torch
CODES = {'F32': np.float32, 'F64': np.float64, 'I64': np.int64}
def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n]); header.pop('__metadata__', None)
    data = raw[8 + n:]
    return {k: torch.from_numpy(np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]], CODES[v['dtype']]).reshape(v['shape']).copy()) for k, v in header.items()}
def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for k in sorted(tensors):
        a = tensors[k].detach().contiguous().numpy()
        code = {np.dtype('float32'): 'F32', np.dtype('float64'): 'F64', np.dtype('int64'): 'I64'}[a.dtype]
        b = a.tobytes(); header[k] = {'dtype': code, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b); offset += len(b)
    h = json.dumps(header).encode(); h += b' ' * (-len(h) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
""";

    /// <summary>conv/BN/ReLU → maxpool → conv/GroupNorm/LeakyReLU → seg branch (transposed conv, InstanceNorm, GELU, 1×1 conv)
    /// and cls branch (adaptive pool, flatten, dropout-free linear).</summary>
    private sealed class CompareNet : Module
    {
        public readonly Conv Conv1, Conv2, Out;
        public readonly BatchNorm Bn1;
        public readonly GroupNorm Gn2;
        public readonly ConvTranspose Up;
        public readonly InstanceNorm In3;
        public readonly Linear Fc;

        public CompareNet()
        {
            Conv1 = RegisterModule("conv1", new Conv(2, 1, 4, 3, padding: 1));
            Bn1 = RegisterModule("bn1", new BatchNorm(2, 4));
            Conv2 = RegisterModule("conv2", new Conv(2, 4, 8, 3, padding: 1));
            Gn2 = RegisterModule("gn2", new GroupNorm(2, 8));
            Up = RegisterModule("up", new ConvTranspose(2, 8, 4, 2, stride: 2));
            In3 = RegisterModule("in3", new InstanceNorm(2, 4, affine: true));
            Out = RegisterModule("out", new Conv(2, 4, 3, 1));
            Fc = RegisterModule("fc", new Linear(8, 2));
        }

        public (Tensor Seg, Tensor Cls) Run(Tensor x)
        {
            using var s = Torch.NewDisposeScope();
            var h = F.MaxPool(F.Relu(Bn1.Forward(Conv1.Forward(x))), [2]);
            var f = F.LeakyRelu(Gn2.Forward(Conv2.Forward(h)), 0.1);
            var seg = Out.Forward(F.Gelu(In3.Forward(Up.Forward(f))));
            var cls = Fc.Forward(F.Flatten(F.AdaptiveAvgPool(f, [1])));
            return (s.MoveToOuter(seg), s.MoveToOuter(cls));
        }
    }

    /// <summary>‖a − b‖ / ‖b‖. Where ‖b‖ is below 1e-6 (an analytically zero gradient, such as the bias of a conv
    /// followed by batch norm, which holds only rounding noise) the absolute error ‖a − b‖ is returned instead.</summary>
    private static double RelativeError(Tensor a, Tensor b)
    {
        var x = a.To(DType.Float64).ToArray<double>();
        var y = b.To(DType.Float64).ToArray<double>();
        Assert.Equal(y.Length, x.Length);
        double num = 0, den = 0;
        for (int i = 0; i < x.Length; i++) { num += (x[i] - y[i]) * (x[i] - y[i]); den += y[i] * y[i]; }
        return Math.Sqrt(den) < 1e-6 ? Math.Sqrt(num) : Math.Sqrt(num) / Math.Sqrt(den);
    }

    [PythonFact("torch", "numpy")]
    public void ConvNetForwardAndGradientsMatchPyTorch()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-pycmp-");
        try
        {
            Torch.ManualSeed(42);
            using var net = new CompareNet();
            using var x = Tensor.Randn([2, 1, 8, 8]).RequiresGrad_();
            using var labels = Tensor.RandInt(0, 3, [2, 8, 8]);
            using var clsLabels = Tensor.FromArray(new long[] { 1, 0 });
            var inputs = Path.Combine(dir.FullName, "in.safetensors");
            var theirs = Path.Combine(dir.FullName, "out.safetensors");
            Safetensors.Save(inputs, new Dictionary<string, Tensor>(net.StateDict()) { ["x"] = x, ["labels"] = labels, ["cls_labels"] = clsLabels });

            var (seg, cls) = net.Run(x);
            using var loss = Losses.DiceCrossEntropy(seg, labels) + Losses.CrossEntropy(cls, clsLabels, labelSmoothing: 0.1) + Losses.Focal(seg, labels);
            loss.Backward();

            const string script = SafetensorsPy + "\n" + """
import sys
import torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
t = load(sys.argv[1])
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1); self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1); self.gn2 = nn.GroupNorm(2, 8)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2); self.in3 = nn.InstanceNorm2d(4, affine=True)
        self.out = nn.Conv2d(4, 3, 1); self.fc = nn.Linear(8, 2)
    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        f = F.leaky_relu(self.gn2(self.conv2(h)), 0.1)
        seg = self.out(F.gelu(self.in3(self.up(f))))
        cls = self.fc(torch.flatten(F.adaptive_avg_pool2d(f, 1), 1))
        return seg, cls
net = Net()
net.load_state_dict({k: v for k, v in t.items() if k not in ('x', 'labels', 'cls_labels')}, strict=True)
x = t['x'].requires_grad_(); y = t['labels']; c = t['cls_labels']
seg, cls = net(x)
p = seg.softmax(1); oh = F.one_hot(y, 3).permute(0, 3, 1, 2).float()
dice = (1 - (2 * (p * oh).sum((2, 3)) + 1e-5) / (p.sum((2, 3)) + oh.sum((2, 3)) + 1e-5)).mean()
logp = seg.log_softmax(1).gather(1, y.unsqueeze(1)).squeeze(1)
focal = (-(1 - logp.exp()) ** 2 * logp).mean()
loss = dice + F.cross_entropy(seg, y) + F.cross_entropy(cls, c, label_smoothing=0.1) + focal
loss.backward()
res = {'seg': seg, 'cls': cls, 'loss': loss.reshape(1), 'grad.x': x.grad}
res.update({'grad.' + k: v.grad for k, v in net.named_parameters()})
res.update({'buf.' + k: v for k, v in net.named_buffers() if v.dtype == torch.float32})
save(sys.argv[2], res)
print('ok')
""";
            Python.RunChecked(script, inputs, theirs);
            var py = Safetensors.Load(theirs);
            try
            {
                using var lossArr = loss.Reshape(1);
                var ours = new Dictionary<string, Tensor> { ["seg"] = seg, ["cls"] = cls, ["loss"] = lossArr, ["grad.x"] = x.Grad! };
                foreach (var (name, p) in net.NamedParameters()) ours["grad." + name] = p.Grad!;
                foreach (var (name, b) in net.NamedBuffers()) if (b.DType == DType.Float32) ours["buf." + name] = b;
                Assert.Equal(py.Keys.Order(), ours.Keys.Order());
                double worst = 0;
                foreach (var (name, t) in ours)
                {
                    var err = RelativeError(t, py[name]);
                    output.WriteLine($"{name,-22} relative error {err:E2}");
                    worst = Math.Max(worst, err);
                    Assert.True(err < 1e-5, $"{name}: relative error {err:E2} vs PyTorch");
                }
                output.WriteLine($"worst relative error {worst:E2}");
            }
            finally
            {
                foreach (var t in py.Values) t.Dispose();
                seg.Dispose(); cls.Dispose();
            }
        }
        finally { dir.Delete(true); }
    }

    [PythonFact("torch", "numpy")]
    public void OptimizerUpdatesMatchPyTorch()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-pyopt-");
        try
        {
            Torch.ManualSeed(7);
            using var p0 = Tensor.Randn([3, 4]);
            using var q0 = Tensor.Randn([5]);
            var grads = Enumerable.Range(0, 4).SelectMany(i => new[] { ($"gp{i}", Tensor.Randn([3, 4])), ($"gq{i}", Tensor.Randn([5])) }).ToDictionary(kv => kv.Item1, kv => kv.Item2);
            var exchange = Path.Combine(dir.FullName, "in.safetensors");
            var theirs = Path.Combine(dir.FullName, "out.safetensors");
            Safetensors.Save(exchange, new Dictionary<string, Tensor>(grads) { ["p"] = p0, ["q"] = q0 });

            var configs = new (string Name, Func<ParamGroup[], Optimizer> Make)[]
            {
                ("sgd", g => new Sgd(g, lr: 0.1, momentum: 0.9, weightDecay: 1e-2, nesterov: true)),
                ("adam", g => new Adam(g, lr: 0.01, weightDecay: 1e-3)),
                ("adamw", g => new AdamW(g, lr: 0.01, weightDecay: 0.05, amsgrad: true)),
                ("rmsprop", g => new RmsProp(g, lr: 0.01, momentum: 0.5, centered: true)),
            };
            var ours = new Dictionary<string, Tensor>();
            foreach (var (name, make) in configs)
            {
                using var p = p0.Detach().To(DType.Float32, copy: true).RequiresGrad_();
                using var q = q0.Detach().To(DType.Float32, copy: true).RequiresGrad_();
                // Two groups: the second at a tenth of the learning rate with its own weight decay.
                var opt = make([new ParamGroup([p]), new ParamGroup([q], learningRate: opt0Lr(name) / 10, weightDecay: 0.2)]);
                using (opt)
                {
                    for (int i = 0; i < 4; i++)
                    {
                        p.Grad = grads[$"gp{i}"];
                        q.Grad = grads[$"gq{i}"];
                        opt.Step();
                    }
                }
                ours[name + ".p"] = p.Detach().To(DType.Float32, copy: true);
                ours[name + ".q"] = q.Detach().To(DType.Float32, copy: true);
            }

            const string script = SafetensorsPy + "\n" + """
import sys
t = load(sys.argv[1])
make = {
  'sgd': lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True),
  'adam': lambda g: torch.optim.Adam(g, lr=0.01, weight_decay=1e-3),
  'adamw': lambda g: torch.optim.AdamW(g, lr=0.01, weight_decay=0.05, amsgrad=True),
  'rmsprop': lambda g: torch.optim.RMSprop(g, lr=0.01, momentum=0.5, centered=True),
}
lr0 = {'sgd': 0.1, 'adam': 0.01, 'adamw': 0.01, 'rmsprop': 0.01}
res = {}
for name, mk in make.items():
    p = t['p'].clone().requires_grad_(); q = t['q'].clone().requires_grad_()
    opt = mk([{'params': [p]}, {'params': [q], 'lr': lr0[name] / 10, 'weight_decay': 0.2}])
    for i in range(4):
        p.grad = t['gp%d' % i].clone(); q.grad = t['gq%d' % i].clone()
        opt.step()
    res[name + '.p'] = p; res[name + '.q'] = q
save(sys.argv[2], res)
""";
            Python.RunChecked(script, exchange, theirs);
            var py = Safetensors.Load(theirs);
            try
            {
                foreach (var (name, t) in ours)
                {
                    var err = RelativeError(t, py[name]);
                    output.WriteLine($"{name,-10} relative error {err:E2}");
                    Assert.True(err < 1e-5, $"{name}: relative error {err:E2} vs PyTorch");
                }
            }
            finally
            {
                foreach (var t in py.Values) t.Dispose();
                foreach (var t in ours.Values) t.Dispose();
                foreach (var t in grads.Values) t.Dispose();
            }
        }
        finally { dir.Delete(true); }

        static double opt0Lr(string name) => name == "sgd" ? 0.1 : 0.01;
    }
}
