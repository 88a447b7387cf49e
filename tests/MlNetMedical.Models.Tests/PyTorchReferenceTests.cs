using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

/// <summary>
/// An independent PyTorch definition of the networks, built from the same JSON config, loads our state dict
/// (strict, so the names match) and must give the same outputs on the same input in training mode (batch statistics),
/// the same batch-norm running statistics afterwards, and the same gradients of a random linear function of the outputs
/// for every parameter and the input: relative error (L2) below 1e-5 each.
/// </summary>
public sealed class PyTorchReferenceTests(ITestOutputHelper output)
{
    private const string Script = PythonReference.SafetensorsPy + "\n" + """
import sys, json, math
from collections import OrderedDict
import torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)

cfg = json.load(open(sys.argv[1]))
unet = cfg if cfg['network'] == 'unet' else cfg['uNet']
enc = unet['encoder']; D = enc['spatialDims']
Conv, ConvT = [None, nn.Conv1d, nn.Conv2d, nn.Conv3d][D], [None, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][D]
cap = enc.get('maxChannels') or (320 if D == 3 else 512)
widths = [min(cap, math.floor(enc['baseChannels'] * enc['channelMultiplier'] ** i + 0.5)) for i in range(enc['depth'])]
act = (lambda x: F.relu(x)) if enc['activation'] == 'relu' else (lambda x: F.leaky_relu(x, 0.01))
def norm(c):
    k = enc['norm']
    if k == 'batch': return [None, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d][D](c)
    if k == 'instance': return [None, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d][D](c, affine=True)
    if k == 'group': return nn.GroupNorm(max(g for g in range(1, min(enc['normGroups'], c) + 1) if c % g == 0), c)
    return nn.Identity()
class Block(nn.Module):
    def __init__(s, cin, cout, stride=1):
        super().__init__(); s.n = enc['convsPerBlock']; s.res = enc['block'] == 'residual'; bias = enc['norm'] == 'none'
        for k in range(1, s.n + 1):
            setattr(s, f'conv{k}', Conv(cin if k == 1 else cout, cout, 3, stride=stride if k == 1 else 1, padding=1, bias=bias))
            setattr(s, f'norm{k}', norm(cout))
        s.shortcut = nn.Sequential(OrderedDict(conv=Conv(cin, cout, 1, stride=stride, bias=bias), norm=norm(cout))) if s.res and (cin != cout or stride != 1) else None
    def forward(s, x):
        h = x
        for k in range(1, s.n + 1):
            h = getattr(s, f'norm{k}')(getattr(s, f'conv{k}')(h))
            if not (s.res and k == s.n): h = act(h)
        return act(h + (s.shortcut(x) if s.shortcut is not None else x)) if s.res else h
up_kind = unet['upsampling']
class Up(nn.Module):
    def __init__(s, deeper, skip):
        super().__init__()
        if up_kind == 'transposedConv': s.up = ConvT(deeper, skip, 2, stride=2); s.block = Block(2 * skip, skip)
        else: s.block = Block(deeper + skip, skip)
    def forward(s, d, skip):
        size = skip.shape[2:]
        if up_kind == 'transposedConv':
            u = s.up(d)
            for i, n in enumerate(size): u = u.narrow(2 + i, 0, min(n, u.shape[2 + i]))
            pads = []
            for i in reversed(range(len(size))): pads += [0, size[i] - u.shape[2 + i]]
            u = F.pad(u, pads)
        else:
            u = F.interpolate(d, size=list(size), mode='nearest' if up_kind == 'nearest' else ['', 'linear', 'bilinear', 'trilinear'][D], align_corners=None if up_kind == 'nearest' else False)
        return s.block(torch.cat([u, skip], 1))
strided = enc['downsampling'] == 'stridedConv'
net = nn.Module()
net.encoder = nn.Module(); net.encoder.stages = nn.ModuleList([Block(enc['inChannels'] if l == 0 else widths[l - 1], widths[l], 2 if l > 0 and strided else 1) for l in range(len(widths))])
net.decoder = nn.Module(); net.decoder.stages = nn.ModuleList([Up(widths[l + 1], widths[l]) for l in range(len(widths) - 1)])
net.segmentation_head = Conv(widths[0], unet['numClasses'], 1)
ds = unet['deepSupervisionOutputs']
if ds: net.deep_supervision_heads = nn.ModuleDict({f'level{k}': Conv(widths[k], unet['numClasses'], 1) for k in range(1, ds + 1)})
def mlp(width, hidden, classes):
    m = nn.Module(); m.hidden = nn.ModuleList()
    for h in hidden: m.hidden.append(nn.Linear(width, h)); width = h
    m.output = nn.Linear(width, classes); return m
def run_mlp(m, x):
    for l in m.hidden: x = F.relu(l(x))
    return m.output(x)
pool = lambda x: x.mean(tuple(range(2, x.dim())))
if cfg['network'] == 'ynet':
    net.classifier = nn.Module(); w = widths[-1]; bw = cfg.get('branchChannels') or w
    net.classifier.down = nn.ModuleList()
    for i in range(cfg['extraDownBlocks']): net.classifier.down.append(Block(w, bw)); w = bw
    net.classifier.head = mlp(w, cfg['hiddenUnits'], cfg['numClasses'])
if cfg['network'] == 'simple-joint':
    net.lesion_type_head = Conv(widths[0], cfg['numClasses'], 1)
    levels = cfg.get('decoderLevels') or list(range(len(widths) - 1))
    net.classifier = mlp(sum(widths[l] for l in levels) + cfg['numClasses'], cfg['hiddenUnits'], cfg['numClasses'])

t = load(sys.argv[2]); x = t.pop('x').requires_grad_()
coef = {k[5:]: t.pop(k) for k in list(t) if k.startswith('coef.')}
net.load_state_dict(t, strict=True); net.train()
feats, h = [], x
for l, stage in enumerate(net.encoder.stages):
    if l > 0 and not strided: h = F.max_pool2d(h, 2) if D == 2 else F.max_pool3d(h, 2)
    h = stage(h); feats.append(h)
dec, d = [None] * (len(widths) - 1), feats[-1]
for l in reversed(range(len(widths) - 1)): d = dec[l] = net.decoder.stages[l](d, feats[l])
res = {'seg': net.segmentation_head(dec[0])}
for k in range(1, ds + 1): res[f'ds{k}'] = net.deep_supervision_heads[f'level{k}'](dec[k])
if cfg['network'] == 'ynet':
    h = feats[-1]
    for b in net.classifier.down: h = b((F.max_pool2d if D == 2 else F.max_pool3d)(h, 2, ceil_mode=True))
    res['cls'] = run_mlp(net.classifier.head, pool(h))
if cfg['network'] == 'simple-joint':
    T = net.lesion_type_head(dec[0]); s = res['seg']
    p = torch.sigmoid(s) if s.shape[1] == 1 else 1 - s.softmax(1)[:, :1]
    dims = tuple(range(2, T.dim()))
    readout = (T * p).sum(dims) / (p.sum(dims) + 1e-6)
    res['cls'] = run_mlp(net.classifier, torch.cat([pool(dec[l]) for l in levels] + [readout], 1))
    res['types'] = T
loss = sum((res[k] * coef[k]).sum() for k in sorted(res))
loss.backward()
out = dict(res)
out['loss'] = loss.reshape(1)
out['grad.x'] = x.grad
out.update({'grad.' + k: v.grad for k, v in net.named_parameters()})
out.update({'buf.' + k: v for k, v in net.named_buffers() if v.dtype == torch.float32})
save(sys.argv[3], out)
""";

    public static IEnumerable<(string Name, NetworkConfig Config, long[] Input)> Cases()
    {
        yield return ("unet 2D plain, max pool, transposed conv, odd size", TestConfigs.UNet(2, deepSupervision: 1), [2, 1, 17, 23]);
        yield return ("unet 2D residual, strided, group norm, linear up", TestConfigs.UNet(2, deepSupervision: 1, up: UpsamplingKind.Linear, norm: NormKind.Group, block: BlockKind.Residual, down: DownsamplingKind.StridedConv), [2, 1, 13, 10]);
        yield return ("unet 3D instance norm, nearest up", TestConfigs.UNet(3, up: UpsamplingKind.Nearest, norm: NormKind.Instance), [2, 1, 9, 10, 11]);
        yield return ("ynet 2D", TestConfigs.YNet(2), [2, 1, 12, 12]);
        yield return ("simple joint 2D", TestConfigs.SimpleJoint(2, classes: 3), [2, 1, 11, 16]);
    }

    [TorchPythonFact]
    public void NetworksMatchAnIndependentPyTorchDefinition()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-models-ref-");
        double worstOutput = 0, worstGradient = 0;
        try
        {
            foreach (var (name, config, shape) in Cases())
            {
                using var generator = new Generator(5);
                using var net = config.Build(generator);
                net.train();
                using var scope = torch.NewDisposeScope();
                var x = torch.randn(shape, generator: generator).requires_grad_();
                var cfgPath = Path.Combine(dir.FullName, "config.json");
                var inPath = Path.Combine(dir.FullName, "in.safetensors");
                var outPath = Path.Combine(dir.FullName, "out.safetensors");
                File.WriteAllText(cfgPath, config.ToJson());
                // The state dict before the forward pass: training mode moves the batch-norm statistics.
                var exchange = new Dictionary<string, Tensor>(net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone())) { ["x"] = x };

                var ours = new Dictionary<string, Tensor>();
                switch (net)
                {
                    case IJointNetwork joint:
                        var o = joint.ForwardJoint(x);
                        ours["seg"] = o.SegmentationLogits;
                        ours["cls"] = o.ClassLogits;
                        if (o.LesionTypeLogits is not null) ours["types"] = o.LesionTypeLogits;
                        for (int k = 0; k < o.DeepSupervision.Count; k++) ours[$"ds{k + 1}"] = o.DeepSupervision[k];
                        break;
                    case ISegmentationNetwork seg:
                        var s = seg.ForwardSegmentation(x);
                        ours["seg"] = s.Logits;
                        for (int k = 0; k < s.DeepSupervision.Count; k++) ours[$"ds{k + 1}"] = s.DeepSupervision[k];
                        break;
                }
                // A scalar loss with a random weight per output element, so every gradient is checked.
                var loss = torch.zeros(1);
                foreach (var key in ours.Keys.Order(StringComparer.Ordinal))
                {
                    var coef = torch.randn(ours[key].shape, generator: generator);
                    exchange["coef." + key] = coef;
                    loss = loss + (ours[key] * coef).sum();
                }
                loss.backward();
                ours["loss"] = loss;
                ours["grad.x"] = x.grad!;
                foreach (var (param, p) in net.named_parameters()) ours["grad." + param] = p.grad!;
                foreach (var (buffer, b) in net.named_buffers()) if (b.dtype == ScalarType.Float32) ours["buf." + buffer] = b;
                Safetensors.Save(inPath, exchange);

                PythonReference.RunChecked(Script, cfgPath, inPath, outPath);
                var theirs = Safetensors.Load(outPath);
                try
                {
                    Assert.Equal(theirs.Keys.Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
                    foreach (var (key, mine) in ours)
                    {
                        Assert.Equal(theirs[key].shape, mine.shape);
                        var error = TestConfigs.RelativeError(mine, theirs[key]);
                        output.WriteLine($"{name}: {key} {string.Join("x", mine.shape)} relative error {error:E2}");
                        if (key.StartsWith("grad.", StringComparison.Ordinal)) worstGradient = Math.Max(worstGradient, error);
                        else worstOutput = Math.Max(worstOutput, error);
                        Assert.True(error < 1e-5, $"{name}: {key} differs from PyTorch (relative error {error:E2}; oneDNN: {TorchRuntime.OneDnnDecision})");
                    }
                }
                finally
                {
                    foreach (var t in theirs.Values) t.Dispose();
                }
            }
            output.WriteLine($"worst relative error: outputs and statistics {worstOutput:E2}, gradients {worstGradient:E2}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
