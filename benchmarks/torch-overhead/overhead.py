"""Python peer of benchmarks/torch-overhead (Debian's python3-torch): same loops, one JSON object."""
import json, os, sys, time
import torch

iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
conv_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
torch.set_num_threads(int(os.environ.get("MLNM_THREADS", os.cpu_count())))


def per_op_us(body, n):
    for _ in range(min(n, 20000)):
        body()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            body()
        best = min(best, (time.perf_counter() - t0) * 1e6 / n)
    return best


a, b = torch.ones(1), torch.ones(1)
acc = torch.zeros(1)
result = {"add_us": per_op_us(lambda: a + b, iterations), "add_inplace_us": per_op_us(lambda: acc.add_(b), iterations)}

torch.manual_seed(0)
N, H, W = 16, 64, 64
x = torch.randn(N, 3, H, W)
target = torch.randint(0, 10, (N, 1))
w1 = (torch.randn(32, 3, 3, 3) * 0.1).requires_grad_()
b1 = torch.zeros(32, requires_grad=True)
w2 = (torch.randn(64, 32, 3, 3) * 0.05).requires_grad_()
b2 = torch.zeros(64, requires_grad=True)
w3 = (torch.randn(64, 10) * 0.1).requires_grad_()
params = [w1, b1, w2, b2, w3]


def step():
    h = torch.conv2d(x, w1, b1, 1, 1).relu()
    h = torch.conv2d(h, w2, b2, 1, 1).relu()
    loss = -h.mean((2, 3)).matmul(w3).log_softmax(1).gather(1, target).mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=0.01)
    for p in params:
        p.grad.zero_()


for _ in range(2):
    step()
t0 = time.perf_counter()
for _ in range(conv_steps):
    step()
ms = (time.perf_counter() - t0) * 1000 / conv_steps
flops = 2.0 * 2 * N * 32 * 3 * 9 * H * W + 3.0 * 2 * N * 64 * 32 * 9 * H * W
result.update(conv_step_ms=ms, conv_gflops=flops / (ms * 1e6), threads=torch.get_num_threads(), torch=torch.__version__)
print(json.dumps(result))
