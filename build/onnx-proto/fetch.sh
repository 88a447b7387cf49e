#!/usr/bin/env bash
# Puts ONNX's onnx.proto (proto2, package onnx) into .cache/onnx-proto/ for Grpc.Tools' protoc to compile into
# MlNetMedical.Models. The file comes from Debian's python3-onnx package: the installed copy when there is one,
# else the package is fetched with `apt-get download` and unpacked with `dpkg -x` (no root needed, nothing installed).
# Usage: build/onnx-proto/fetch.sh   (idempotent; prints the path of the .proto on stdout)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dest="$ROOT/.cache/onnx-proto/onnx.proto"
[ -s "$dest" ] && { echo "$dest"; exit 0; }
mkdir -p "$(dirname "$dest")"
installed=/usr/lib/python3/dist-packages/onnx/onnx.proto
if [ -s "$installed" ]; then
  cp "$installed" "$dest.tmp"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && apt-get download -qq python3-onnx >/dev/null 2>&1); then
    echo "build/onnx-proto/fetch.sh: could not download Debian's python3-onnx (it ships onnx.proto)." >&2
    echo "  Run 'apt-get update' (as root) so apt knows the package, or install python3-onnx, and build again." >&2
    exit 1
  fi
  dpkg -x "$work"/python3-onnx_*.deb "$work/x"
  cp "$work/x/usr/lib/python3/dist-packages/onnx/onnx.proto" "$dest.tmp"
fi
mv "$dest.tmp" "$dest"
echo "$dest"
