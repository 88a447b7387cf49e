#!/usr/bin/env bash
# benchmarks/run hpo: tuners on test functions (Branin, Hartmann-6, noisy Hartmann-6), 20 seeds.
# then ASHA and SetParallelism(2) on the transfer-strategy sweep over synthetic cardiac-level-2d (about 10 min on 2 cores).
# Prints tables, then one JSON line (tpe_vs_random_trials_ratio, asha_epoch_saving, parallel_speedup, details).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONFIG=${MLNM_CONFIGURATION:-Release}
dotnet build "$ROOT/benchmarks/hpo/HpoBenchmark.csproj" -c "$CONFIG" -nologo -v:q -clp:ErrorsOnly >&2
cfg=$(echo "$CONFIG" | tr '[:upper:]' '[:lower:]')
exec dotnet "$ROOT/artifacts/bin/HpoBenchmark/$cfg/HpoBenchmark.dll" "$@"
