# The PyTorch side of benchmarks/torch-step: the same U-Net and training step as Program.cs.
# Usage: /usr/bin/python3 unet.py MODEL(2d|3d) WARMUP STEPS THREADS
import json, math, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

model, warmup, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
dims, batch, size, width, levels = {'2d': (2, 16, 128, 16, 4), '3d': (3, 2, 64, 8, 4)}[model]
Conv = {2: nn.Conv2d, 3: nn.Conv3d}[dims]; Up = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[dims]
BN = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dims]; Pool = {2: nn.MaxPool2d, 3: nn.MaxPool3d}[dims]

def block(cin, cout):
    return nn.Sequential(Conv(cin, cout, 3, padding=1, bias=False), BN(cout), nn.ReLU(),
                         Conv(cout, cout, 3, padding=1, bias=False), BN(cout), nn.ReLU())

class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.ModuleList([block(1 if l == 0 else width << (l - 1), width << l) for l in range(levels)])
        self.up = nn.ModuleList([Up(width << (l + 1), width << l, 2, stride=2) for l in range(levels - 2, -1, -1)])
        self.decode = nn.ModuleList([block(2 * (width << l), width << l) for l in range(levels - 2, -1, -1)])
        self.pool = Pool(2)
        self.head = Conv(width, 2, 1)
    def forward(self, x):
        skips, h = [], x
        for l, d in enumerate(self.down):
            if l > 0: h = self.pool(h)
            h = d(h); skips.append(h)
        for i, (u, d) in enumerate(zip(self.up, self.decode)):
            h = d(torch.cat([u(h), skips[len(skips) - 2 - i]], 1))
        return self.head(h)

torch.manual_seed(0)
net = UNet()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
x = torch.randn(batch, 1, *([size] * dims))
y = torch.randint(0, 2, (batch, *([size] * dims)))
times, cpu_times, losses = [], [], []
for i in range(warmup + steps):
    c0 = time.process_time()
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    t = time.perf_counter() - t0
    c = time.process_time() - c0
    losses.append(loss.item())
    if i >= warmup: times.append(t); cpu_times.append(c)
if not all(map(math.isfinite, losses)): sys.exit(f'torch-step: loss is not finite: {losses}')
# glibc allocator left at its defaults (or whatever GLIBC_TUNABLES / MALLOC_*_ say); this build has no NNPACK.
print(json.dumps({'side': 'python', 'model': model, 'threads': torch.get_num_threads(),
                  'onednn': torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled, 'nnpack': False,
                  'malloc': 'defaults', 'parameters': sum(p.numel() for p in net.parameters()), 'loss_first': losses[0], 'loss_last': losses[-1], 'times': times, 'cpu_times': cpu_times}))
