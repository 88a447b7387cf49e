#!/usr/bin/env bash
# Makes TorchSharp's native library load on hosts whose libstdc++ predates GCC 13 (Debian 12: GLIBCXX_3.4.30).
# libLibTorchSharp.so 0.107 needs GLIBCXX_3.4.32 for one symbol only, std::ios_base_library_init(). When the host
# lacks that version, this replaces the copy in OUTDIR with a patched one (made once, cached under artifacts/):
#   1. the GLIBCXX_3.4.32 requirement is marked weak and the symbol made unversioned (weaken_version_need.c);
#   2. a tiny library that defines the symbol (ios_base_library_init.cpp) is added as DT_NEEDED; it sits beside
#      the patched library, which already has RUNPATH $ORIGIN.
# The NuGet cache is never touched. On hosts with a newer libstdc++ nothing happens.
# Usage: apply.sh OUTDIR   (run by the MlnmLibTorchSharpFix target in Directory.Build.targets after every build)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
native="$1/runtimes/linux-x64/native"
lib="$native/libLibTorchSharp.so"
marker="$native/mlnm-libstdcxx-fix.txt"
[ -f "$lib" ] || exit 0

host_stdcxx=$(/sbin/ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }')
if [ -n "$host_stdcxx" ] && grep -qa 'GLIBCXX_3\.4\.32' "$host_stdcxx"; then
  rm -f "$marker"
  exit 0
fi
# Already patched here (the marker names the patched file's hash), or a TorchSharp that no longer needs it.
if [ -f "$marker" ] && [ "$(sha256sum < "$lib" | cut -c1-64)" = "$(sed -n 's/^patched-sha256: //p' "$marker")" ]; then exit 0; fi
if ! objdump -T "$lib" | grep 'GLIBCXX_3\.4\.32' >/dev/null; then rm -f "$marker"; exit 0; fi

for tool in g++ gcc patchelf objdump; do
  command -v "$tool" >/dev/null || { echo "libtorchsharp-debian12: '$tool' is missing (apt-get install g++ patchelf binutils); TorchSharp cannot load on this host without the fix" >&2; exit 1; }
done

original=$(sha256sum < "$lib" | cut -c1-64)
cache="$root/artifacts/libtorchsharp-debian12/${original:0:16}"
if [ ! -f "$cache/libLibTorchSharp.so" ]; then
  echo "libtorchsharp-debian12: host libstdc++ lacks GLIBCXX_3.4.32; patching a copy of libLibTorchSharp.so (once)" >&2
  work=$(mktemp -d "$root/artifacts/.libtorchsharp-fix.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  gcc -O2 -o "$work/weaken_version_need" "$here/weaken_version_need.c"
  g++ -O2 -shared -fPIC -Wl,-soname,libmlnm_stdcxx_compat.so -o "$work/libmlnm_stdcxx_compat.so" "$here/ios_base_library_init.cpp"
  cp "$lib" "$work/libLibTorchSharp.so"
  "$work/weaken_version_need" "$work/libLibTorchSharp.so" GLIBCXX_3.4.32 _ZSt21ios_base_library_initv
  patchelf --add-needed libmlnm_stdcxx_compat.so "$work/libLibTorchSharp.so"
  mkdir -p "$(dirname "$cache")"
  rm -rf "$cache.tmp" && mkdir "$cache.tmp"
  cp "$work/libLibTorchSharp.so" "$work/libmlnm_stdcxx_compat.so" "$cache.tmp/"
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi
# Replace, never write through: the output copy may be a hard link into the NuGet cache.
for f in libLibTorchSharp.so libmlnm_stdcxx_compat.so; do
  rm -f "$native/$f.tmp" && cp "$cache/$f" "$native/$f.tmp" && mv -f "$native/$f.tmp" "$native/$f"
done
{
  echo "what: libLibTorchSharp.so patched to load with this host's libstdc++ (no GLIBCXX_3.4.32); see build/libtorchsharp-debian12/README.md"
  echo "original-sha256: $original"
  echo "patched-sha256: $(sha256sum < "$lib" | cut -c1-64)"
} > "$marker"
