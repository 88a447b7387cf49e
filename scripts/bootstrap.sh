#!/usr/bin/env bash
# One idempotent setup for a fresh machine, shared by ./mlnm, ./test.sh and .ci/run.
#   1. installs the Debian packages that are missing (apt-get --no-install-recommends, root only);
#   2. restores NuGet packages (TorchSharp brings libtorch) and builds the solution, which patches TorchSharp's
#      native library for Debian 12 when needed (build/libtorchsharp-debian12), when any source is newer than the last build.
# Usage: scripts/bootstrap.sh [--test] [--force-build] [--no-build]
#   --test         also install what the test suite needs (python3-torch, python3-onnx, nibabel, pydicom, PostgreSQL, Chromium)
#   --force-build  build even when nothing changed
#   --no-build     packages only
# Everything it prints goes to stderr, so a command's own stdout (e.g. `mlnm info --json`) stays clean.
set -euo pipefail
exec 3>&1 1>&2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG=${MLNM_CONFIGURATION:-Release}
want_test=0; force_build=0; no_build=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --force-build) force_build=1 ;;
    --no-build) no_build=1 ;;
    *) echo "bootstrap: unknown option '$arg' (expected --test, --force-build or --no-build)"; exit 2 ;;
  esac
done

# Runtime: gcc, g++, patchelf and binutils patch TorchSharp's native library for Debian 12's libstdc++
# (build/libtorchsharp-debian12; libtorch itself comes from NuGet); GDCM's C# binding for DICOM;
# Fashion-MNIST's IDX files for `mlnm datasets make fashion-mnist`.
packages=(gcc g++ patchelf binutils libgdcm-cil dataset-fashion-mnist)
if [ "$want_test" = 1 ]; then
  # Independent implementations the tests compare against, and the real servers they start.
  packages+=(python3-torch python3-numpy python3-nibabel python3-pydicom python3-onnx postgresql chromium fonts-dejavu-core)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing Debian packages: ${missing[*]}"
    echo "bootstrap: run this as root, then retry:"
    echo "  apt-get update && $cmd"
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  $cmd -qq
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "bootstrap: the .NET 10 SDK (dotnet) is not on PATH; install it and retry."
  exit 1
fi

# ONNX's schema for the Models project's protoc step, from Debian's python3-onnx (build/onnx-proto/README.md).
bash "$ROOT/build/onnx-proto/fetch.sh" >/dev/null

[ "$no_build" = 1 ] && exit 0

stamp="$ROOT/artifacts/.build-stamp-$CONFIG"
stale=1
if [ "$force_build" = 0 ] && [ -f "$stamp" ]; then
  newer=$(cd "$ROOT" && find src tests benchmarks build Directory.Build.props Directory.Build.targets Directory.Packages.props MlNetMedical.sln \
           \( -name bin -o -name obj \) -prune -o -type f -newer "$stamp" -print -quit 2>/dev/null || true)
  [ -z "$newer" ] && stale=0
fi
if [ "$stale" = 1 ]; then
  echo "bootstrap: building ($CONFIG)"
  dotnet build "$ROOT/MlNetMedical.sln" -c "$CONFIG" -nologo -v:q -clp:ErrorsOnly
  mkdir -p "$ROOT/artifacts" && touch "$stamp"
fi
