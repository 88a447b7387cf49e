#!/usr/bin/env bash
# benchmarks/run adam-scalar-race: does an Adam step survive garbage collection running beside it? TorchSharp 0.107's Adam
# ("stock") passes its doubles as implicit Scalars that a collection may finalize while libtorch still reads them; the
# project's ScalarSafeAdam ("safe", used by every trainer) keeps each one alive; "guarded" is TorchSharp's Adam with each
# step inside GarbageCollectionPause, as the training loop runs every step. Each round runs one process per side (order
# rotated) for RACE_SECONDS of steps on a 40-layer network while another thread allocates without pause.
# Environment: RACE_ROUNDS (5), RACE_SECONDS (20).
# Last line: JSON with, per side, the processes run, how many died, the steps done and libtorch's message if any.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${RACE_ROUNDS:-5}
SECONDS_PER_RUN=${RACE_SECONDS:-20}
DLL="$ROOT/artifacts/bin/AdamScalarRace/release/AdamScalarRace.dll"
dotnet build "$HERE/AdamScalarRace.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq "$ROUNDS"); do
  case $((round % 3)) in 1) order="stock safe guarded" ;; 2) order="safe guarded stock" ;; *) order="guarded stock safe" ;; esac
  for side in $order; do
    rc=0
    dotnet "$DLL" "$side" "$SECONDS_PER_RUN" > "$work/out" 2> "$work/err" || rc=$?
    # libtorch's message (the first line of the unhandled exception), and the TorchSharp call that raised it.
    message=$(sed -n 's/^Unhandled exception\. [A-Za-z.]*Exception ([0-9a-fx]*): //p' "$work/err" | head -1 | cut -c1-80)
    where=$(grep -m1 -o '^   at TorchSharp\.[A-Za-z.]*\.[a-z_]*(' "$work/err" | grep -v CheckForErrors | head -1 | sed 's/^   at //; s/($//' || true)
    [ -z "$message" ] && [ "$rc" != 0 ] && message="exit $rc"
    message="$message${where:+ in $where}"
    steps=$(grep -o '"steps": [0-9]*' "$work/out" | grep -o '[0-9]*$' || echo 0)
    echo "round $round/$ROUNDS: $side exit $rc, $steps steps${message:+, $message}" >&2
    printf '%s\t%s\t%s\t%s\n' "$side" "$rc" "${steps:-0}" "$message" >> "$work/rows"
  done
done
/usr/bin/python3 - "$work/rows" "$SECONDS_PER_RUN" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
out = {"seconds_per_process": float(sys.argv[2])}
print(f"{'optimizer':<10}{'processes':>10}{'died':>6}{'steps (survivors)':>19}  message")
for side in ("stock", "safe", "guarded"):
    mine = [r for r in rows if r[0] == side]
    died = [r for r in mine if r[1] != "0"]
    steps = [int(r[2]) for r in mine if r[1] == "0"]
    messages = sorted({r[3] for r in died if r[3]})
    out[side] = {"processes": len(mine), "died": len(died), "steps_of_survivors": steps, "messages": messages}
    print(f"{side:<10}{len(mine):>10}{len(died):>6}{sum(steps):>19}  {'; '.join(messages) or '-'}")
print(json.dumps(out))
PY
