"""benchmarks/inference, the PyTorch side (Debian's python3-torch): the classifier that classifier.onnx holds, built as torch
modules with the same names and loaded with the file's weights (its initializers carry the state-dict names), timed like the
C# sides. Usage: pytorch.py DIR BATCH WARMUP ITERS THREADS; prints one JSON line."""
import json, os, sys, time
import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

folder, batch, warmup, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
model = onnx.load(os.path.join(folder, "classifier.onnx"))
weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer if "." in t.name}
meta = {p.key: p.value for p in model.metadata_props}
cfg = json.loads(meta["network"])
enc, head = cfg["encoder"], cfg["head"]
expected = dict(kind="unet", norm="batch", activation="relu", block="plain", downsampling="maxPool")
for key, value in expected.items():
    if enc.get(key, value) != value:
        sys.exit(f"pytorch.py models a plain U-Net encoder with batch norm, ReLU and max pooling; the file's encoder has {key} = {enc.get(key)}")
if head.get("levels", [-1]) != [-1] or head.get("pooling", "average") != "average" or head.get("hiddenUnits", []):
    sys.exit("pytorch.py models the default head (deepest level, average pooling, one linear layer)")


class Block(nn.Module):
    def __init__(self, cin, cout, convs):
        super().__init__()
        self.convs = convs
        for k in range(1, convs + 1):
            setattr(self, f"conv{k}", nn.Conv2d(cin if k == 1 else cout, cout, 3, padding=1, bias=False))
            setattr(self, f"norm{k}", nn.BatchNorm2d(cout))

    def forward(self, x):
        for k in range(1, self.convs + 1):
            x = F.relu(getattr(self, f"norm{k}")(getattr(self, f"conv{k}")(x)))
        return x


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        depth, convs = enc["depth"], enc.get("convsPerBlock", 2)
        widths = [weights[f"encoder.stages.{l}.conv1.weight"].shape[0] for l in range(depth)]
        cin = [enc.get("inChannels", 1)] + widths[:-1]
        self.stages = nn.ModuleList(Block(cin[l], widths[l], convs) for l in range(depth))

    def forward(self, x):
        for level, stage in enumerate(self.stages):
            x = stage(F.max_pool2d(x, 2) if level > 0 else x)
        return x


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        w = weights["head.output.weight"]
        self.output = nn.Linear(w.shape[1], w.shape[0])


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.head = Encoder(), Head()

    def forward(self, x):
        return self.head.output(self.encoder(x).mean((2, 3)))


net = Classifier()
result = net.load_state_dict(weights, strict=False)
missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
if missing or result.unexpected_keys:
    sys.exit(f"weights do not match: missing {missing}, unexpected {result.unexpected_keys}")
net.eval()
size = int(open(os.path.join(folder, "size")).read())
pixels = np.fromfile(os.path.join(folder, "input.bin"), dtype=np.float32)[: batch * size * size].copy()

times, cpu_times = [], []
with torch.no_grad():
    for i in range(warmup + iters):
        c0, t0 = time.process_time(), time.perf_counter()
        x = torch.from_numpy(pixels).view(batch, 1, size, size)
        probabilities = net(x).softmax(1).numpy().copy()
        t1, c1 = time.perf_counter(), time.process_time()
        if i >= warmup:
            times.append(t1 - t0)
            cpu_times.append(c1 - c0)
print(json.dumps({"side": "pytorch", "batch": batch, "threads": torch.get_num_threads(), "size": size, "times": times,
                  "cpu_times": cpu_times, "first": probabilities[0].tolist(), "torch": torch.__version__}))
