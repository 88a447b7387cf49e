#!/usr/bin/env bash
# benchmarks/datasets-calibration: issue 5's calibration of the synthetic tasks.
# For each task:
#   1. a plain CNN from scratch on the paper-sized train split: accuracy on test (target: about 40–75%);
#   2. the same CNN with 10x the training data (target: 90% or more);
#   3. a U-Net on the pretrain split: foreground Dice on the test masks (target: 0.8 or more).
# Prints a table, then one JSON object as the last line.
# Usage: benchmarks/run datasets-calibration [TASKS] [EPOCHS]
#   TASKS   comma-separated (default cardiac-level-2d,liver-lesion-2d,brain-tumor-3d)
#   EPOCHS  training epochs per run (default 30)
#   CALIB_SIZE=N overrides every task's --size (e.g. 64 for a quick run on a small CPU).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TASKS=${1:-cardiac-level-2d,liver-lesion-2d,brain-tumor-3d}
EPOCHS=${2:-30}
OUT="$ROOT/artifacts/bench/datasets-calibration"
mkdir -p "$OUT"
size_args=()
[ -n "${CALIB_SIZE:-}" ] && size_args=(--size "$CALIB_SIZE")

echo "building mlnm and the calibration driver..." >&2
dotnet build "$ROOT/src/MlNetMedical.Cli/MlNetMedical.Cli.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
dotnet build "$HERE/csharp/Calibration.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
MLNM="$ROOT/artifacts/bin/MlNetMedical.Cli/release/mlnm"
DRIVER="$ROOT/artifacts/bin/Calibration/release/datasets-calibration"

results=()
IFS=, read -ra task_list <<< "$TASKS"
for task in "${task_list[@]}"; do
  read -r train test pretrain < <("$MLNM" datasets list | awk -v t="$task" '$1==t {getline; gsub(/[,;]/," "); for(i=1;i<=NF;i++){if($i=="train")a=$(i+1); if($i=="test")b=$(i+1); if($i=="pretrain")c=$(i+1)}; print a, b, c}')
  echo "$task: generating (train $train / 10x $((train * 10)), test $test, pretrain $pretrain)..." >&2
  "$MLNM" datasets make "$task" --out "$OUT/$task" --seed 1 --quiet "${size_args[@]}" >&2
  "$MLNM" datasets make "$task" --out "$OUT/$task-10x" --seed 2 --train $((train * 10)) --pretrain 0 --quiet "${size_args[@]}" >&2
  small=$("$DRIVER" "$OUT/$task" classify "$EPOCHS" | tail -1)
  large=$("$DRIVER" "$OUT/$task-10x" classify "$EPOCHS" | tail -1)
  seg=$("$DRIVER" "$OUT/$task" segment "$EPOCHS" | tail -1)
  results+=("{\"task\": \"$task\", \"paper_size\": $small, \"ten_x\": $large, \"segmentation\": $seg}")
done

JSON="[$(IFS=,; echo "${results[*]}")]" /usr/bin/python3 - <<'PY'
import json, os
rows = json.loads(os.environ["JSON"])
print(f"{'task':<18}{'acc (paper N)':>15}{'acc (10x N)':>13}{'Dice (pretrain)':>17}")
for r in rows:
    print(f"{r['task']:<18}{r['paper_size']['accuracy']:>15.3f}{r['ten_x']['accuracy']:>13.3f}{r['segmentation']['dice']:>17.3f}")
ok = {r["task"]: {"paper_size_in_40_75": 0.40 <= r["paper_size"]["accuracy"] <= 0.75,
                  "ten_x_at_least_90": r["ten_x"]["accuracy"] >= 0.90,
                  "dice_at_least_0_8": r["segmentation"]["dice"] >= 0.8} for r in rows}
print(json.dumps({"benchmark": "datasets-calibration", "results": rows, "targets_met": ok}))
PY
