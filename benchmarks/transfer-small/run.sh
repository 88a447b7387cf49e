#!/usr/bin/env bash
# benchmarks/run transfer-small [--size N] [--seeds 1,2,3]: scratch CNN vs frozen segmentation features + softmax regression
# vs fine-tuned segmentation encoder on synthetic cardiac-level-2d (108 train / 263 test, 9 classes), 3 seeds, mean ± sd accuracy.
# --size 128 runs at the paper's 128×128 (default 64, which fits 30 minutes on 2 cores with room to spare).
# Environment (the flags override it): TRANSFER_SEEDS (1,2,3), TRANSFER_SIZE (64 px), TRANSFER_PRETRAIN (300 slices),
# TRANSFER_SEG_EPOCHS (12), TRANSFER_CLS_EPOCHS (25), MLNM_THREADS (all cores).
# Last line: JSON with acc_scratch, acc_seg_frozen, acc_seg_finetune, size, minutes.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SEEDS=${TRANSFER_SEEDS:-1,2,3}
export TRANSFER_SIZE=${TRANSFER_SIZE:-64}
while [ $# -gt 0 ]; do
  case "$1" in
    --size) TRANSFER_SIZE=${2:?--size needs a pixel count, e.g. --size 128}; shift 2 ;;
    --seeds) SEEDS=${2:?--seeds needs a list, e.g. --seeds 1,2,3}; shift 2 ;;
    *) echo "usage: benchmarks/run transfer-small [--size N] [--seeds 1,2,3]  (unknown argument '$1')" >&2; exit 2 ;;
  esac
done
case "$TRANSFER_SIZE" in ''|*[!0-9]*) echo "--size must be a whole number of pixels, got '$TRANSFER_SIZE'" >&2; exit 2 ;; esac
[ "$TRANSFER_SIZE" -ge 16 ] && [ $((TRANSFER_SIZE % 8)) -eq 0 ] || { echo "--size must be a multiple of 8 and at least 16 (the U-Net halves it 3 times), got $TRANSFER_SIZE" >&2; exit 2; }
export MLNM_THREADS=${MLNM_THREADS:-$(nproc)}
start=$(date +%s)
dotnet build "$HERE/TransferSmall.csproj" -c Release -nologo -v q >&2
results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
dotnet "$ROOT/artifacts/bin/TransferSmall/release/TransferSmall.dll" "$SEEDS" | tee "$results" >&2
end=$(date +%s)
/usr/bin/python3 - "$results" "$start" "$end" "$(cut -d' ' -f1 /proc/loadavg)" "$TRANSFER_SIZE" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
minutes = (int(sys.argv[3]) - int(sys.argv[2])) / 60
def ms(k):
    v = [r[k] for r in rows]
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)
print(f"{'method':<28} {'accuracy mean':>14} {'sd':>8}   (n seeds = {len(rows)})")
for k, name in [('acc_scratch', 'scratch CNN'), ('acc_seg_frozen', 'seg frozen + softmax'), ('acc_seg_finetune', 'seg encoder fine-tuned')]:
    m, s = ms(k)
    print(f"{name:<28} {m:>14.4f} {s:>8.4f}")
print(f"segmentation Dice (val, best epoch): {ms('seg_dice')[0]:.3f}; size {sys.argv[5]} px; minutes {minutes:.1f}; load at end {sys.argv[4]}")
out = {k: round(ms(k)[0], 4) for k in ('acc_scratch', 'acc_seg_frozen', 'acc_seg_finetune')}
out.update({k + '_sd': round(ms(k)[1], 4) for k in ('acc_scratch', 'acc_seg_frozen', 'acc_seg_finetune')})
out['seg_dice'] = round(ms('seg_dice')[0], 4)
out['seeds'] = len(rows)
out['size'] = int(sys.argv[5])
out['minutes'] = round(minutes, 2)
print(json.dumps(out))
PYEOF
