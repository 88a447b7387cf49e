#!/usr/bin/env bash
# benchmarks/run torch-step: one training step (forward, cross-entropy, backward, Adam) of the project's U-Net in C# through
# TorchSharp (libtorch 2.10, with the engine's start-up settings: oneDNN by MLNM_ONEDNN, default auto; NNPACK off; glibc
# allocator tuned) vs the same model in Debian's python3-torch (1.13),
# same thread count. Rounds alternate the sides (a fresh process each, the order rotated every round) so machine load
# hits all alike; each side's figure is the median step time over all its timed steps.
# Environment: TORCH_STEP_WARMUP (2 per process), TORCH_STEP_STEPS (5 per process), TORCH_STEP_ROUNDS (2),
#   MLNM_THREADS (all cores),
#   TORCH_STEP_ONEDNN_OFF=1  adds TorchSharp with oneDNN forced off (MLNM_ONEDNN=0) as a side,
#   TORCH_STEP_MALLOC_DEFAULTS=1  adds TorchSharp with glibc's allocator defaults (MLNM_KEEP_MALLOC_DEFAULTS=1) as a side,
#   TORCH_STEP_SAVE=1    writes the whole output, with commit and machine facts, to benchmarks/results/torch-step-DATE.txt.
# Last line: JSON with ratio_2d, ratio_3d, gflops_2d (TorchSharp, default settings, vs python) and every side's figures.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WARMUP=${TORCH_STEP_WARMUP:-2}
STEPS=${TORCH_STEP_STEPS:-5}
ROUNDS=${TORCH_STEP_ROUNDS:-2}
THREADS=${MLNM_THREADS:-$(nproc)}
export MLNM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
unset MLNM_ONEDNN
PY=/usr/bin/python3

dotnet build "$HERE/TorchStep.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
sides=(torchsharp)
[ "${TORCH_STEP_ONEDNN_OFF:-0}" = 1 ] && sides+=(torchsharp-onednn-off)
[ "${TORCH_STEP_MALLOC_DEFAULTS:-0}" = 1 ] && sides+=(torchsharp-malloc-defaults)
sides+=(python)

run_side() {  # SIDE MODEL: one process, its JSON line on stdout
  case "$1" in
    torchsharp) TORCH_STEP_SIDE=torchsharp dotnet "$ROOT/artifacts/bin/TorchStep/release/TorchStep.dll" "$2" "$WARMUP" "$STEPS" ;;
    torchsharp-onednn-off) TORCH_STEP_SIDE=torchsharp-onednn-off MLNM_ONEDNN=0 dotnet "$ROOT/artifacts/bin/TorchStep/release/TorchStep.dll" "$2" "$WARMUP" "$STEPS" ;;
    torchsharp-malloc-defaults) TORCH_STEP_SIDE=torchsharp-malloc-defaults MLNM_KEEP_MALLOC_DEFAULTS=1 dotnet "$ROOT/artifacts/bin/TorchStep/release/TorchStep.dll" "$2" "$WARMUP" "$STEPS" ;;
    python) "$PY" "$HERE/unet.py" "$2" "$WARMUP" "$STEPS" "$THREADS" ;;
  esac | tail -n 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
n=${#sides[@]}
for round in $(seq "$ROUNDS"); do
  for model in 2d 3d; do
    for k in $(seq 0 $((n - 1))); do
      side=${sides[$(((k + round - 1) % n))]}   # rotate the order every round
      load=$(cut -d' ' -f1 /proc/loadavg)
      echo "round $round/$ROUNDS: $model $side (load $load)" >&2
      line=$(run_side "$side" "$model")
      printf '%s\n' "$line" >> "$work/rows"
      printf '%s\n' "$load" >> "$work/loads"
    done
  done
done
end=$(date -u '+%Y-%m-%d %H:%M UTC')
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

"$PY" - "$work/rows" "$work/loads" "$ROUNDS" "$WARMUP" <<'PYEOF' > "$work/report"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
loads = [float(l) for l in open(sys.argv[2]) if l.strip()]
rounds, warmup = int(sys.argv[3]), int(sys.argv[4])
order = ['torchsharp', 'torchsharp-onednn-off', 'torchsharp-malloc-defaults', 'python']
sides = [s for s in order if any(r['side'] == s for r in rows)]
def times(side, model, key='times'): return [t for r in rows if r['side'] == side and r['model'] == model for t in r[key]]
gflop = {r['model']: r['gflop_per_step'] for r in rows if 'gflop_per_step' in r}
med = {(s, m): statistics.median(times(s, m)) for s in sides for m in ('2d', '3d')}
cpu = {(s, m): statistics.median(times(s, m, 'cpu_times')) for s in sides for m in ('2d', '3d')}
# The fastest process (lowest median over its own steps), wall and CPU: on a loaded machine the least disturbed figure.
def best(s, m, key): return min(statistics.median(r[key]) for r in rows if r['side'] == s and r['model'] == m)
bw = {(s, m): best(s, m, 'times') for s in sides for m in ('2d', '3d')}
bc = {(s, m): best(s, m, 'cpu_times') for s in sides for m in ('2d', '3d')}
print(f"{'model':<6} {'side':<18} {'median s':>9} {'ratio/py':>9} {'CPU s':>8} {'CPU ratio':>10} {'GFLOP/s':>8} {'steps':>6}"
      f" {'best s':>8} {'ratio':>6} {'best CPU':>9} {'ratio':>6}")
for m in ('2d', '3d'):
    for s in sides:
        print(f"{m:<6} {s:<18} {med[s, m]:>9.4f} {med[s, m] / med['python', m]:>9.3f} {cpu[s, m]:>8.3f} "
              f"{cpu[s, m] / cpu['python', m]:>10.3f} {gflop[m] / med[s, m]:>8.1f} {len(times(s, m)):>6}"
              f" {bw[s, m]:>8.3f} {bw[s, m] / bw['python', m]:>6.3f} {bc[s, m]:>9.3f} {bc[s, m] / bc['python', m]:>6.3f}")
print("median s: median wall time per step; CPU s: median process CPU time per step (all threads); ratios are side/python.")
print("best s / best CPU: the fastest process's own median (wall / CPU), each ratio against python's fastest process.")
print(f"GFLOP/step: 2d {gflop['2d']:.1f}, 3d {gflop['3d']:.1f} (conv multiply-adds x2 x3 for forward, input and weight gradients)")
settings = {}
for s in sides:
    r = next(r for r in rows if r['side'] == s)
    settings[s] = {k: r[k] for k in ('threads', 'onednn', 'onednn_decision', 'nnpack', 'malloc', 'parameters') if k in r}
    if 'loss_last' in r:
        settings[s]['loss_last'] = {m: [x['loss_last'] for x in rows if x['side'] == s and x['model'] == m] for m in ('2d', '3d')}
    print(f"{s}: " + ", ".join(f"{k} {v}" for k, v in settings[s].items() if k != 'loss_last'))
print(f"{rounds} rounds x {len(times('python', '2d')) // rounds} timed steps per process after {warmup} warm-up; "
      f"1-minute load average at process starts: min {min(loads):.1f}, median {statistics.median(loads):.1f}, max {max(loads):.1f}")
print("U-Net 2D b16 1x128^2 w16 L4, 3D b2 1x64^3 w8 L4; Adam; cross-entropy; goal ratio <= 1.05")
out = {'benchmark': 'torch-step',
       'ratio_2d': round(med['torchsharp', '2d'] / med['python', '2d'], 4),
       'ratio_3d': round(med['torchsharp', '3d'] / med['python', '3d'], 4),
       'gflops_2d': round(gflop['2d'] / med['torchsharp', '2d'], 2), 'gflops_3d': round(gflop['3d'] / med['torchsharp', '3d'], 2),
       'cpu_ratio_2d': round(cpu['torchsharp', '2d'] / cpu['python', '2d'], 4),
       'cpu_ratio_3d': round(cpu['torchsharp', '3d'] / cpu['python', '3d'], 4),
       'threads': settings['torchsharp']['threads'], 'rounds': rounds, 'steps_per_side': len(times('python', '2d')),
       'load_min': min(loads), 'load_median': statistics.median(loads), 'load_max': max(loads),
       'sides': {s: {**{k: v for k, v in settings[s].items() if k != 'loss_last'},
                     **{f'median_s_{m}': round(med[s, m], 4) for m in ('2d', '3d')},
                     **{f'ratio_{m}': round(med[s, m] / med['python', m], 4) for m in ('2d', '3d')},
                     **{f'cpu_s_{m}': round(cpu[s, m], 4) for m in ('2d', '3d')},
                     **{f'cpu_ratio_{m}': round(cpu[s, m] / cpu['python', m], 4) for m in ('2d', '3d')},
                     **{f'best_s_{m}': round(bw[s, m], 4) for m in ('2d', '3d')},
                     **{f'best_ratio_{m}': round(bw[s, m] / bw['python', m], 4) for m in ('2d', '3d')},
                     **{f'best_cpu_s_{m}': round(bc[s, m], 4) for m in ('2d', '3d')},
                     **{f'best_cpu_ratio_{m}': round(bc[s, m] / bc['python', m], 4) for m in ('2d', '3d')}} for s in sides}}
print(json.dumps(out))
PYEOF

if [ "${TORCH_STEP_SAVE:-0}" = 1 ]; then
  # shellcheck source=benchmarks/provenance.sh
  . "$ROOT/benchmarks/provenance.sh"
  dest=$(result_path torch-step "$start")
  {
    echo "# benchmarks/run torch-step, $start to $end"
    commit_line benchmarks/torch-step
    machine_line "$load_start" "$load_end"
    echo "# software: dotnet $(dotnet --version), TorchSharp + TorchSharp-cpu 0.107.0 (libtorch 2.10.0), python3-torch $(dpkg-query -W -f='${Version}' python3-torch), libtorch-dev $(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo absent)"
    echo "# settings: TORCH_STEP_ROUNDS=$ROUNDS TORCH_STEP_WARMUP=$WARMUP TORCH_STEP_STEPS=$STEPS MLNM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS TORCH_STEP_ONEDNN_OFF=${TORCH_STEP_ONEDNN_OFF:-0} TORCH_STEP_MALLOC_DEFAULTS=${TORCH_STEP_MALLOC_DEFAULTS:-0}"
    echo "# every process's row (times and cpu_times in seconds per timed step), in run order:"
    cat "$work/rows"
    echo "# report (as printed; last line JSON):"
    cat "$work/report"
  } > "$dest.tmp"
  mv "$dest.tmp" "$dest"
  echo "results written to ${dest#"$ROOT"/}" >&2
fi
cat "$work/report"
