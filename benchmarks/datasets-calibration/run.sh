#!/usr/bin/env bash
# benchmarks/datasets-calibration: the calibration of the synthetic tasks (issue 5), with every choice made on a
# validation split (issue 16). For each task:
#   1. a plain CNN from scratch on the paper-sized train split (target: about 40–75% accuracy);
#   2. the same CNN, same recipe, with 10x the training data (target: 90% or more);
#   3. a U-Net on the pretrain split: foreground Dice (target: 0.8 or more).
# Each run holds out 20% of its training patients (grouped) as a validation split; the learning rate (CALIB_LRS) and the
# epoch (the best validation figure of each run) are chosen on it, and the targets are judged on it. The test split is
# scored once, with the chosen model, and reported beside it; it decides nothing.
# Prints a table, then one JSON object as the last line; writes it whole, with the commit, machine and load, to
# CALIB_OUT (default benchmarks/results/datasets-calibration.json).
# Usage: benchmarks/run datasets-calibration [TASKS] [EPOCHS]
#   TASKS   comma-separated (default cardiac-level-2d,liver-lesion-2d,brain-tumor-3d)
#   EPOCHS  maximum classifier epochs for every task (default: the task's own, below; the same at 1x and 10x)
#   CALIB_STEPS=small,large,seg picks which of the three runs to do (default all; "none" only reports); runs write
#   artifacts/bench/datasets-calibration/results/TASK-STEP.json, and the table reports every result there for
#   the requested tasks, so tasks and steps can be run one at a time on a small machine.
#   CALIB_LRS=0.001,0.002,0.004 the learning rates tried (each is one more training run).
#   CALIB_TOY=1 a toy-size run (16 px, a few cases, 2 epochs, two rates) that checks the machinery in about a minute;
#   its figures mean nothing, and it writes to artifacts/bench/datasets-calibration/toy.json unless CALIB_OUT is set.
# Reduced settings for a 2-core CPU (see datasets/README.md): cardiac at 64² (not 128²), brain at 32³ (not 64³),
# liver at its default 128²; 2D CNN depth 5, 3D depth 4, base width 8.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TASKS=${1:-cardiac-level-2d,liver-lesion-2d,brain-tumor-3d}
EPOCHS=${2:-}
STEPS=${CALIB_STEPS:-small,large,seg}
TOY=${CALIB_TOY:-0}
LRS=${CALIB_LRS:-0.001,0.002,0.004}
OUT="$ROOT/artifacts/bench/datasets-calibration"
[ "$TOY" = 1 ] && OUT="$OUT/toy" && LRS=${CALIB_LRS:-0.002,0.004}
RESULT_FILE=${CALIB_OUT:-$([ "$TOY" = 1 ] && echo "$ROOT/artifacts/bench/datasets-calibration/toy.json" || echo "$ROOT/benchmarks/results/datasets-calibration.json")}
RESULTS="$OUT/results"
mkdir -p "$RESULTS"
export MLNM_THREADS=${MLNM_THREADS:-2}
started=$(date -u '+%Y-%m-%d %H:%M UTC'); load_start=$(cut -d' ' -f1-3 /proc/loadavg); t0=$(date +%s)

echo "building mlnm and the calibration driver..." >&2
dotnet build "$ROOT/src/MlNetMedical.Cli/MlNetMedical.Cli.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
dotnet build "$HERE/csharp/Calibration.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
MLNM="$ROOT/artifacts/bin/MlNetMedical.Cli/release/mlnm"
DRIVER="$ROOT/artifacts/bin/Calibration/release/datasets-calibration"

# task -> size, network depth, maximum classifier epochs, maximum U-Net epochs (chosen to fit a 2-core CPU), test cases, then
# the U-Net's extra options: the brain U-Net sees all four MR channels (one-channel T1c does not show edema, as in real
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
  pretrain_count=() # the generator's default
  if [ "$TOY" = 1 ]; then
    size=16; depth=2; cls_epochs=2; seg_epochs=2; test=9; train=15; pretrain_count=(--pretrain 15)
  fi
  if [[ ,$STEPS, == *,small,* ]]; then
    echo "$task: generating the default set at $size..." >&2
    "$MLNM" datasets make "$task" --out "$OUT/$task" --seed 1 --size "$size" --test "$test" --train "$train" "${pretrain_count[@]}" --quiet >&2
    "$DRIVER" "$OUT/$task" classify --epochs "$cls_epochs" --depth "$depth" --lrs "$LRS" | tail -1 > "$RESULTS/$task-small.json"
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
    "$MLNM" datasets make "$task" --out "$OUT/$task-seg" --seed 1 --size "$size" --test "$test" --train 0 "${pretrain_count[@]}" $make_option --quiet >&2
    # shellcheck disable=SC2086
    "$DRIVER" "$OUT/$task-seg" segment --epochs "$seg_epochs" --depth "$([ "$TOY" = 1 ] && echo 2 || echo 4)" --lrs "$LRS" $driver_option | tail -1 > "$RESULTS/$task-seg.json"
  fi
  if [[ ,$STEPS, == *,large,* ]]; then
    echo "$task: generating 10x the training set ($((train * 10)))..." >&2
    # Same seed: the test split does not depend on the other splits' counts, so 1x and 10x share their test set.
    "$MLNM" datasets make "$task" --out "$OUT/$task-10x" --seed 1 --size "$size" --test "$test" --train $((train * 10)) --pretrain 0 --quiet >&2
    "$DRIVER" "$OUT/$task-10x" classify --epochs "$cls_epochs" --depth "$depth" --lrs "$LRS" | tail -1 > "$RESULTS/$task-large.json"
  fi
done

dirty=$(git -C "$ROOT" status --porcelain -- src benchmarks/datasets-calibration | wc -l)
TASKS="$TASKS" RESULTS="$RESULTS" RESULT_FILE="$RESULT_FILE" STARTED="$started" LOAD_START="$load_start" \
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)" FINISHED="$(date -u '+%Y-%m-%d %H:%M UTC')" MINUTES="$(( ($(date +%s) - t0) / 60 ))" \
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD)" DIRTY="$dirty" TOY="$TOY" LRS="$LRS" \
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" MEM="$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)" \
OS="$(. /etc/os-release && echo "$PRETTY_NAME")" CORES="$(nproc)" DOTNET="$(dotnet --version)" /usr/bin/python3 - <<'PY'
import json, os
E = os.environ
def load(task, step):
    path = os.path.join(E["RESULTS"], f"{task}-{step}.json")
    return json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) > 0 else None
rows = [{"task": t, "paper_size": load(t, "small"), "ten_x": load(t, "large"), "segmentation": load(t, "seg")}
        for t in E["TASKS"].split(",")]
def cell(r, key, metric):
    return f"{r[key][metric]:.3f}" if r[key] and metric in r[key] else "not run"
print("validation figures (every choice and the targets use these); test scored once, in brackets")
print(f"{'task':<18}{'acc (paper N)':>22}{'acc (10x N)':>22}{'Dice (pretrain)':>22}")
for r in rows:
    cells = [f"{cell(r, k, 'validation_' + m)} [{cell(r, k, 'test_' + m)}]" for k, m in (("paper_size", "accuracy"), ("ten_x", "accuracy"), ("segmentation", "dice"))]
    print(f"{r['task']:<18}" + "".join(f"{c:>22}" for c in cells))
def check(r, key, metric, ok):
    return None if r[key] is None or metric not in r[key] else ok(r[key][metric])
met = {r["task"]: {"paper_size_in_40_75": check(r, "paper_size", "validation_accuracy", lambda a: 0.40 <= a <= 0.75),
                   "ten_x_at_least_90": check(r, "ten_x", "validation_accuracy", lambda a: a >= 0.90),
                   "dice_at_least_0_8": check(r, "segmentation", "validation_dice", lambda d: d >= 0.8)} for r in rows}
out = {"benchmark": "datasets-calibration", "profile": "toy" if E["TOY"] == "1" else "default",
       "selection": "20% of each run's training patients (grouped) held out; learning rate from " + E["LRS"] + " and epoch chosen on it; "
                    "targets judged on it; the test split scored once with the chosen model and used for nothing",
       "results": rows, "targets_met_on_validation": met,
       "provenance": {"commit": E["COMMIT"], "uncommitted_changes": int(E["DIRTY"]) > 0, "started": E["STARTED"], "finished": E["FINISHED"],
                      "minutes": int(E["MINUTES"]), "machine": f"{E['CORES']} cores ({E['CPU']}), {E['MEM']}, {E['OS']}",
                      "cores": int(E["CORES"]), "load_average_start": E["LOAD_START"], "load_average_end": E["LOAD_END"],
                      "threads": int(os.environ.get("MLNM_THREADS", "0")), "software": f"dotnet {E['DOTNET']}, TorchSharp + TorchSharp-cpu 0.107.0 (libtorch 2.10.0)"}}
line = json.dumps(out)
path = E["RESULT_FILE"]
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path + ".tmp", "w") as f:
    f.write(json.dumps(out, indent=2) + "\n")
os.replace(path + ".tmp", path)
print(f"written whole to {path}")
print(line)
PY
