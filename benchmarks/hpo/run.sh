#!/usr/bin/env bash
# benchmarks/run hpo: tuners on test functions (Branin, Hartmann-6, noisy Hartmann-6), 20 seeds.
# Prints a table, then one JSON line (tpe_vs_random_trials_ratio, regrets; pruning/parallel keys null until trainers exist).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONFIG=${MLNM_CONFIGURATION:-Release}
dotnet build "$ROOT/benchmarks/hpo/HpoBenchmark.csproj" -c "$CONFIG" -nologo -v:q -clp:ErrorsOnly >&2
cfg=$(echo "$CONFIG" | tr '[:upper:]' '[:lower:]')
exec dotnet "$ROOT/artifacts/bin/HpoBenchmark/$cfg/HpoBenchmark.dll" "$@"
