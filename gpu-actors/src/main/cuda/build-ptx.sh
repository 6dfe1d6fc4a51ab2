#!/usr/bin/env bash
# Compiles the kernels (*.cu here) to PTX for several virtual architectures, into
# src/main/resources/ptx/compute_XX/NAME.ptx, with ptx/manifest.properties naming the modules,
# the architectures and a SHA-256 of the sources. The PTX is committed, so that machines without
# nvcc can run on a GPU: the driver JIT-compiles the highest architecture <= the device's.
#
#   build-ptx.sh          rebuild when the sources changed since the committed PTX (needs nvcc)
#   build-ptx.sh --force  rebuild regardless
#   build-ptx.sh --check  exit 1 when the committed PTX is stale (needs no nvcc)
#
# The Maven build runs it in generate-resources; without nvcc it only warns when stale (and
# CudaPtxTest fails).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../resources/ptx"
# 75: the oldest architecture CUDA 13 compiles for (Turing; the driver JITs it upward for Ampere
# and Ada); 90: Hopper (H100, H200). PTX ISA 9.0 needs a driver of CUDA 13 (r580) or later.
archs="75 90"
flags="-ptx -O3 -std=c++17"
mode="${1:-}"

sources_hash() {
  (cd "$here" && for f in $(ls *.cu *.cuh | LC_ALL=C sort); do printf '%s\0' "$f"; cat "$f"; printf '\0'; done
   printf 'archs=%s\0flags=%s' "$archs" "$flags") | sha256sum | cut -d' ' -f1
}

hash="$(sources_hash)"
committed="$(sed -n 's/^sources-sha256=//p' "$out/manifest.properties" 2>/dev/null || true)"
if [ "$mode" = "--check" ]; then
  [ "$hash" = "$committed" ] && exit 0
  echo "PTX in $out is stale: sources hash $hash, committed $committed" >&2
  exit 1
fi
if [ "$hash" = "$committed" ] && [ "$mode" != "--force" ]; then
  exit 0
fi
if ! command -v nvcc >/dev/null 2>&1; then
  echo "[build-ptx] WARNING: the CUDA sources changed but nvcc is not installed: the committed PTX is stale" >&2
  exit 0
fi
version="$(nvcc --version | sed -n 's/.*release \([0-9.]*\), V\([0-9.]*\).*/\2/p')"
modules=""
for cu in $(cd "$here" && ls *.cu | LC_ALL=C sort); do modules="$modules ${cu%.cu}"; done
modules="${modules# }"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for a in $archs; do
  mkdir -p "$tmp/compute_$a"
  for m in $modules; do
    nvcc $flags -arch=compute_$a -o "$tmp/compute_$a/$m.ptx" "$here/$m.cu"
  done
done
rm -rf "$out"
mkdir -p "$out"
cp -r "$tmp"/compute_* "$out"/
cat > "$out/manifest.properties" <<MANIFEST
# Written by src/main/cuda/build-ptx.sh; do not edit.
modules=$modules
archs=$archs
nvcc=$version
sources-sha256=$hash
MANIFEST
echo "[build-ptx] compiled $modules for compute_{${archs// /,}} with nvcc $version"
