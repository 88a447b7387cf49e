#!/usr/bin/env bash
# benchmarks/run replicate [--seeds 1,2,3,4,5] [--data-seed N] [--full] [--out DIR] [--work DIR] [--tasks TASK,...] [--threads N]
# Both papers' comparisons on the synthetic proxy tasks (README.md): every method trained by mlnm's pipeline runner,
# mean ± sd per method, each claim's paired difference over the training seeds with a 95% interval.
# Writes OUT/replicate.json and OUT/replicate.html whole (OUT defaults to benchmarks/results); the generated data and each
# run's metrics.json go to WORK (artifacts/bench/replicate). Progress with ETA on stderr; the last stdout line is JSON
# {"claims": {NAME: {"holds", "mean_diff", "ci95"}}, "minutes": m, ...}. --full runs the papers' image sizes.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
dotnet build "$HERE/Replicate.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
cd "$ROOT"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec dotnet "$ROOT/artifacts/bin/Replicate/release/replicate.dll" "$@"
