#!/usr/bin/env bash
# benchmarks/run inference: images per second of one trained classifier (the project's fine-tuned classifier shape: default 2D
# U-Net encoder, widths 32..512, average pooling, linear head; 1x128x128 images) through TorchSharp (the network itself) and through
# ONNX Runtime (the file OnnxExporter writes from it), CPU, the same thread count, batch 1 and batch 32, with Debian's python3-torch
# running the same architecture on the same weights (read from the ONNX file) as the peer. Each call: input copied in, forward,
# softmax, probabilities out. Rounds alternate the sides (a fresh process each, the order rotated every round).
# Environment: INFERENCE_SIZE (128), INFERENCE_ROUNDS (2), INFERENCE_ITERS_B1 (20), INFERENCE_ITERS_B32 (3), MLNM_THREADS (all cores),
#   INFERENCE_SAVE=1  writes the whole output, with commit, machine facts and every process's raw row, to benchmarks/results/inference-DATE.txt.
# Last line: JSON with onnx_vs_torchsharp_b1, onnx_vs_torchsharp_b32, torchsharp_vs_pytorch_b32 (ratios of images/s: > 1 means the
# first is faster) and every side's figures.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE=${INFERENCE_SIZE:-128}
ROUNDS=${INFERENCE_ROUNDS:-2}
ITERS_B1=${INFERENCE_ITERS_B1:-20}
ITERS_B32=${INFERENCE_ITERS_B32:-3}
CORES=$(getconf _NPROCESSORS_ONLN)   # not nproc: it answers OMP_NUM_THREADS when that is set
THREADS=${MLNM_THREADS:-$CORES}
export MLNM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
PY=/usr/bin/python3
DLL="$ROOT/artifacts/bin/Inference/release/Inference.dll"

dotnet build "$HERE/Inference.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet "$DLL" prepare "$work" "$SIZE" >&2

run_side() {  # SIDE BATCH: one process, its JSON line on stdout
  local warmup iters
  if [ "$2" = 1 ]; then warmup=5; iters=$ITERS_B1; else warmup=1; iters=$ITERS_B32; fi
  case "$1" in
    torchsharp|onnx) dotnet "$DLL" "$1" "$work" "$2" "$warmup" "$iters" ;;
    pytorch) "$PY" "$HERE/pytorch.py" "$work" "$2" "$warmup" "$iters" "$THREADS" ;;
  esac | tail -n 1
}

sides=(torchsharp onnx pytorch)
start=$(date -u '+%Y-%m-%d %H:%M UTC'); load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
  for batch in 1 32; do
    for k in 0 1 2; do
      side=${sides[$(((k + round - 1) % 3))]}
      load=$(cut -d' ' -f1 /proc/loadavg)
      echo "round $round/$ROUNDS: batch $batch $side (load $load)" >&2
      run_side "$side" "$batch" >> "$work/rows"
      printf '%s\n' "$load" >> "$work/loads"
    done
  done
done
end=$(date -u '+%Y-%m-%d %H:%M UTC'); load_end=$(cut -d' ' -f1-3 /proc/loadavg)

"$PY" - "$work/rows" "$work/loads" "$ROUNDS" <<'PYEOF' > "$work/report"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
loads = [float(l) for l in open(sys.argv[2]) if l.strip()]
sides, batches = ['torchsharp', 'onnx', 'pytorch'], [1, 32]
def times(s, b, key='times'): return [t for r in rows if r['side'] == s and r['batch'] == b for t in r[key]]
med = {(s, b): statistics.median(times(s, b)) for s in sides for b in batches}
cpu = {(s, b): statistics.median(times(s, b, 'cpu_times')) for s in sides for b in batches}
best = {(s, b): min(statistics.median(r['times']) for r in rows if r['side'] == s and r['batch'] == b) for s in sides for b in batches}
ips = {k: k[1] / v for k, v in med.items()}
first = {s: next(r['first'] for r in rows if r['side'] == s) for s in sides}
diff = max(abs(a - b) for s in sides for a, b in zip(first[s], first['torchsharp']))
print(f"{'batch':>5} {'side':<11} {'median s':>9} {'images/s':>9} {'CPU s':>8} {'best s':>8} {'best img/s':>10} {'calls':>6}")
for b in batches:
    for s in sides:
        print(f"{b:>5} {s:<11} {med[s, b]:>9.4f} {ips[s, b]:>9.1f} {cpu[s, b]:>8.3f} {best[s, b]:>8.4f} {b / best[s, b]:>10.1f} {len(times(s, b)):>6}")
print("median s: median wall time per call (input in, forward, softmax, probabilities out); CPU s: median process CPU time per call;")
print("best: the fastest process's own median (the least disturbed figure on a loaded machine).")
threads = rows[0]['threads']
print(f"{threads} threads per side; image 1x{rows[0]['size']}x{rows[0]['size']}; first image's probabilities agree across sides to {diff:.1e}; "
      f"1-minute load average at process starts: min {min(loads):.1f}, median {statistics.median(loads):.1f}, max {max(loads):.1f}")
torch_version = next((r.get('torch') for r in rows if r['side'] == 'pytorch'), '?')
print(f"TorchSharp 0.107 (libtorch 2.10, oneDNN {'on' if next(r['onednn'] for r in rows if r['side'] == 'torchsharp') else 'off'}), "
      f"Microsoft.ML.OnnxRuntime 1.32.0 (CPU), python3-torch {torch_version}")
r = lambda x: round(x, 4)
out = {'benchmark': 'inference',
       'onnx_vs_torchsharp_b1': r(ips['onnx', 1] / ips['torchsharp', 1]),
       'onnx_vs_torchsharp_b32': r(ips['onnx', 32] / ips['torchsharp', 32]),
       'torchsharp_vs_pytorch_b32': r(ips['torchsharp', 32] / ips['pytorch', 32]),
       'torchsharp_vs_pytorch_b1': r(ips['torchsharp', 1] / ips['pytorch', 1]),
       'best_onnx_vs_torchsharp_b1': r(best['torchsharp', 1] / best['onnx', 1]),
       'best_onnx_vs_torchsharp_b32': r(best['torchsharp', 32] / best['onnx', 32]),
       'best_torchsharp_vs_pytorch_b32': r(best['pytorch', 32] / best['torchsharp', 32]),
       'images_per_s': {f'{s}_b{b}': round(ips[s, b], 2) for s in sides for b in batches},
       'cpu_s_per_call': {f'{s}_b{b}': r(cpu[s, b]) for s in sides for b in batches},
       'threads': threads, 'size': rows[0]['size'], 'rounds': int(sys.argv[3]), 'probability_agreement': diff,
       'load_min': min(loads), 'load_median': statistics.median(loads), 'load_max': max(loads)}
print(json.dumps(out))
PYEOF

if [ "${INFERENCE_SAVE:-0}" = 1 ]; then
  # shellcheck source=benchmarks/provenance.sh
  . "$ROOT/benchmarks/provenance.sh"
  dest=$(result_path inference "$start")
  {
    echo "# benchmarks/run inference, $start to $end"
    commit_line src benchmarks/inference
    machine_line "$load_start" "$load_end"
    echo "# software: dotnet $(dotnet --version), TorchSharp + TorchSharp-cpu 0.107.0 (libtorch 2.10.0), Microsoft.ML.OnnxRuntime 1.32.0, python3-torch $(dpkg-query -W -f='${Version}' python3-torch)"
    echo "# settings: INFERENCE_SIZE=$SIZE INFERENCE_ROUNDS=$ROUNDS INFERENCE_ITERS_B1=$ITERS_B1 INFERENCE_ITERS_B32=$ITERS_B32 MLNM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS"
    echo "# every process's row (times and cpu_times in seconds per call), in run order:"
    cat "$work/rows"
    echo "# report (as printed; last line JSON):"
    cat "$work/report"
  } > "$dest.tmp"
  mv "$dest.tmp" "$dest"
  echo "results written to ${dest#"$ROOT"/}" >&2
fi
cat "$work/report"
