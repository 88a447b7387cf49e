#!/usr/bin/env bash
# The test command: sets up a fresh machine (scripts/bootstrap.sh --test), builds, runs every test project.
# Extra arguments go to `dotnet test` (e.g. ./test.sh --filter FullyQualifiedName~Safetensors).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONFIG=${MLNM_CONFIGURATION:-Release}
"$ROOT/scripts/bootstrap.sh" --test
log=$(mktemp)
set +e
dotnet test "$ROOT/MlNetMedical.sln" -c "$CONFIG" --no-build -nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One closing line over all test assemblies ("Passed!  - Failed: 0, Passed: 12, Skipped: 0, ...").
awk '/(Passed|Failed)! +- +Failed:/ { gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$rc"
