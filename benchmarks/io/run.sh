#!/usr/bin/env bash
# benchmarks/run io: load+decode throughput (MB/s of voxel data) of our NIfTI (.nii.gz) and DICOM series
# readers against nibabel and pydicom (Debian's /usr/bin/python3), on the same files, in the same run,
# alternating rounds. Prints a table, then one JSON line with nifti_ratio and dicom_ratio (ours/theirs).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/benchmarks/io"
PY=/usr/bin/python3
ROUNDS=${IO_BENCH_ROUNDS:-3}
REPS=${IO_BENCH_REPS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dotnet build "$HERE/IoBench.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
bench="$ROOT/artifacts/bin/IoBench/release/io-bench.dll"
"$PY" "$HERE/make_data.py" "$work"

ours=(); theirs=()
for r in $(seq "$ROUNDS"); do
  ours+=("$(dotnet "$bench" "$work/volume.nii.gz" "$work/series" "$REPS")")
  theirs+=("$("$PY" "$HERE/reference.py" "$work/volume.nii.gz" "$work/series" "$REPS")")
done

"$PY" - "${ours[*]}" "${theirs[*]}" "$(nproc)" <<'PYEOF'
import json, sys
def runs(s):
    return [json.loads(x) for x in s.replace("} {", "}\n{").splitlines() if x.strip()]
ours, theirs = runs(sys.argv[1]), runs(sys.argv[2])
def best(rs, key):
    return min(r[key + "_s"] for r in rs), rs[0][key + "_bytes"]
rows, result = [], {}
for key, peer in (("nifti", "nibabel"), ("dicom", "pydicom")):
    (to, bo), (tt, bt) = best(ours, key), best(theirs, key)
    mo, mt = bo / to / 1e6, bt / tt / 1e6
    rows.append((key, bo / 1e6, mo, peer, mt, mo / mt))
    result[key + "_ours_mb_s"] = round(mo, 1)
    result[key + "_theirs_mb_s"] = round(mt, 1)
    result[key + "_ratio"] = round(mo / mt, 3)
print(f"{'input':8} {'voxel MB':>9} {'ours MB/s':>10} {'peer':>9} {'peer MB/s':>10} {'ratio':>7}")
for k, mb, mo, peer, mt, ratio in rows:
    print(f"{k:8} {mb:9.1f} {mo:10.1f} {peer:>9} {mt:10.1f} {ratio:7.2f}")
print(f"(best of {len(ours)} rounds, alternating ours/peer; {sys.argv[3]} cores)")
result["rounds"] = len(ours)
print(json.dumps(result))
PYEOF
