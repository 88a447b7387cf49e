#!/usr/bin/env bash
# benchmarks/run torch-step: one U-Net training step (forward, cross-entropy, backward, Adam) in C# through
# MlNetMedical.Torch vs the same model in Debian's python3-torch on the same libtorch and thread count.
# Rounds alternate C# and Python so machine load hits both alike; each side reports the median step time.
# Environment: TORCH_STEP_WARMUP (2 per process), TORCH_STEP_STEPS (5 per round, so 10 timed steps per side), TORCH_STEP_ROUNDS (2), MLNM_THREADS (all cores).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WARMUP=${TORCH_STEP_WARMUP:-2}
STEPS=${TORCH_STEP_STEPS:-5}
ROUNDS=${TORCH_STEP_ROUNDS:-2}
THREADS=${MLNM_THREADS:-$(nproc)}
export MLNM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
PY=/usr/bin/python3

dotnet build "$HERE/TorchStep.csproj" -c Release -nologo -v q >&2
EXE="$ROOT/artifacts/bin/TorchStep/release/TorchStep.dll"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$ROUNDS"); do
  for model in 2d 3d; do
    echo "round $round/$ROUNDS: $model C#" >&2
    dotnet "$EXE" "$model" "$WARMUP" "$STEPS" | tail -n 1 >> "$results"
    echo "round $round/$ROUNDS: $model python" >&2
    "$PY" "$HERE/unet.py" "$model" "$WARMUP" "$STEPS" "$THREADS" | tail -n 1 >> "$results"
  done
done

"$PY" - "$results" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def times(side, model, key='times'): return [t for r in rows if r['side'] == side and r['model'] == model for t in r[key]]
gflop = {r['model']: r['gflop_per_step'] for r in rows if r['side'] == 'csharp'}
threads = {r['side']: r['threads'] for r in rows}
out = {}
cpu = {}
print(f"{'model':<6} {'C# median s':>12} {'Py median s':>12} {'ratio C#/Py':>12} {'CPU-s ratio':>12} {'GFLOP/step':>11} {'C# GFLOP/s':>11} {'steps':>6}")
for m in ('2d', '3d'):
    c, p = statistics.median(times('csharp', m)), statistics.median(times('python', m))
    cc, pc = statistics.median(times('csharp', m, 'cpu_times')), statistics.median(times('python', m, 'cpu_times'))
    out[m] = (c, p, c / p)
    cpu[m] = cc / pc
    print(f"{m:<6} {c:>12.4f} {p:>12.4f} {c / p:>12.3f} {cc / pc:>12.3f} {gflop[m]:>11.1f} {gflop[m] / c:>11.1f} {len(times('csharp', m)):>6}")
print("CPU-s ratio: median process CPU time per step, C#/Python (less sensitive to other load on the machine than wall time)")
print(f"threads: C# {threads['csharp']}, python {threads['python']}; U-Net 2D b16 1x128^2 w16 L4, 3D b2 1x64^3 w8 L4; Adam; goal ratio <= 1.05")
print(json.dumps({'benchmark': 'torch-step', 'ratio_2d': round(out['2d'][2], 4), 'ratio_3d': round(out['3d'][2], 4),
                  'gflops_2d': round(gflop['2d'] / out['2d'][0], 2), 'gflops_3d': round(gflop['3d'] / out['3d'][0], 2),
                  'median_s_2d_csharp': round(out['2d'][0], 4), 'median_s_2d_python': round(out['2d'][1], 4),
                  'median_s_3d_csharp': round(out['3d'][0], 4), 'median_s_3d_python': round(out['3d'][1], 4),
                  'cpu_ratio_2d': round(cpu['2d'], 4), 'cpu_ratio_3d': round(cpu['3d'], 4), 'threads': threads['csharp'], 'steps_per_side': len(times('csharp', '2d'))}))
PYEOF
