#!/usr/bin/env bash
# benchmarks/datasets-calibration: issue 5's calibration of the synthetic tasks.
# For each task:
#   1. a plain CNN from scratch on the paper-sized train split: accuracy on test (target: about 40–75%);
#   2. the same CNN, same recipe, with 10x the training data (target: 90% or more);
#   3. a U-Net on the pretrain split: foreground Dice on the test masks (target: 0.8 or more).
# Prints a table, then one JSON object as the last line.
# Usage: benchmarks/run datasets-calibration [TASKS] [EPOCHS]
#   TASKS   comma-separated (default cardiac-level-2d,liver-lesion-2d,brain-tumor-3d)
#   EPOCHS  classifier epochs for every task (default: the task's own, below; the same at 1x and 10x)
#   CALIB_STEPS=small,large,seg picks which of the three runs to do (default all; "none" only reports); runs write
#   artifacts/bench/datasets-calibration/results/TASK-STEP.json, and the table reports every result there for
#   the requested tasks, so tasks and steps can be run one at a time on a small machine.
# Reduced settings for a 2-core CPU (see datasets/README.md): cardiac at 64² (not 128²), brain at 32³ (not 64³),
# liver at its default 128²; 2D CNN depth 5, 3D depth 4, base width 8.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TASKS=${1:-cardiac-level-2d,liver-lesion-2d,brain-tumor-3d}
EPOCHS=${2:-}
STEPS=${CALIB_STEPS:-small,large,seg}
OUT="$ROOT/artifacts/bench/datasets-calibration"
RESULTS="$OUT/results"
mkdir -p "$RESULTS"
export MLNM_THREADS=${MLNM_THREADS:-2}

echo "building mlnm and the calibration driver..." >&2
dotnet build "$ROOT/src/MlNetMedical.Cli/MlNetMedical.Cli.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
dotnet build "$HERE/csharp/Calibration.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
MLNM="$ROOT/artifacts/bin/MlNetMedical.Cli/release/mlnm"
DRIVER="$ROOT/artifacts/bin/Calibration/release/datasets-calibration"

# task -> size, network depth, classifier epochs, U-Net epochs (chosen to fit a 2-core CPU), test cases, then the
# U-Net's extra options: the brain U-Net sees all four MR channels (one-channel T1c does not show edema, as in real
# MR), and the liver U-Net learns liver and lesion as separate classes so that the lesion's own Dice is reported too.
# The liver's default test split (100 slices from 34 patients) is too small to tell 85% from 90%, so it uses 300.
settings() {
  case "$1" in
    cardiac-level-2d) echo 64 5 45 30 263 ;;
    liver-lesion-2d) echo 128 5 60 10 300 --per-label ;;
    brain-tumor-3d) echo 32 4 60 30 191 --channels 4 ;;
    *) echo "unknown task $1" >&2; exit 2 ;;
  esac
}

IFS=, read -ra task_list <<< "$TASKS"
for task in "${task_list[@]}"; do
  read -r size depth cls_epochs seg_epochs test seg_option < <(settings "$task")
  cls_epochs=${EPOCHS:-$cls_epochs}
  read -r train < <("$MLNM" datasets list | awk -v t="$task" '$1==t {getline; gsub(/[,;]/," "); for(i=1;i<=NF;i++) if($i=="train") print $(i+1)}')
  if [[ ,$STEPS, == *,small,* ]]; then
    echo "$task: generating the default set at $size..." >&2
    "$MLNM" datasets make "$task" --out "$OUT/$task" --seed 1 --size "$size" --test "$test" --quiet >&2
    "$DRIVER" "$OUT/$task" classify --epochs "$cls_epochs" --depth "$depth" | tail -1 > "$RESULTS/$task-small.json"
  fi
  if [[ ,$STEPS, == *,seg,* ]]; then
    make_option="" driver_option=""
    case "$seg_option" in
      --channels*) make_option="--channels 4" ;;
      --per-label) driver_option="--per-label" ;;
    esac
    echo "$task: generating the pretrain and test sets at $size $make_option..." >&2
    # A set of its own (no train split), with the same test split as the classifier's.
    # shellcheck disable=SC2086 # the options are single words on purpose
    "$MLNM" datasets make "$task" --out "$OUT/$task-seg" --seed 1 --size "$size" --test "$test" --train 0 $make_option --quiet >&2
    # shellcheck disable=SC2086
    "$DRIVER" "$OUT/$task-seg" segment --epochs "$seg_epochs" --depth 4 $driver_option | tail -1 > "$RESULTS/$task-seg.json"
  fi
  if [[ ,$STEPS, == *,large,* ]]; then
    echo "$task: generating 10x the training set ($((train * 10)))..." >&2
    # Same seed: the test split does not depend on the other splits' counts, so 1x and 10x share their test set.
    "$MLNM" datasets make "$task" --out "$OUT/$task-10x" --seed 1 --size "$size" --test "$test" --train $((train * 10)) --pretrain 0 --quiet >&2
    "$DRIVER" "$OUT/$task-10x" classify --epochs "$cls_epochs" --depth "$depth" | tail -1 > "$RESULTS/$task-large.json"
  fi
done

TASKS="$TASKS" RESULTS="$RESULTS" /usr/bin/python3 - <<'PY'
import json, os
def load(task, step):
    path = os.path.join(os.environ["RESULTS"], f"{task}-{step}.json")
    return json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) > 0 else None
rows = [{"task": t, "paper_size": load(t, "small"), "ten_x": load(t, "large"), "segmentation": load(t, "seg")}
        for t in os.environ["TASKS"].split(",")]
def cell(r, key, metric):
    return f"{r[key][metric]:.3f}" if r[key] else "not run"
print(f"{'task':<18}{'acc (paper N)':>15}{'acc (10x N)':>13}{'Dice (pretrain)':>17}")
for r in rows:
    print(f"{r['task']:<18}{cell(r, 'paper_size', 'accuracy'):>15}{cell(r, 'ten_x', 'accuracy'):>13}{cell(r, 'segmentation', 'dice'):>17}")
def check(r, key, metric, ok):
    return None if r[key] is None else ok(r[key][metric])
met = {r["task"]: {"paper_size_in_40_75": check(r, "paper_size", "accuracy", lambda a: 0.40 <= a <= 0.75),
                   "ten_x_at_least_90": check(r, "ten_x", "accuracy", lambda a: a >= 0.90),
                   "dice_at_least_0_8": check(r, "segmentation", "dice", lambda d: d >= 0.8)} for r in rows}
print(json.dumps({"benchmark": "datasets-calibration", "results": rows, "targets_met": met}))
PY
