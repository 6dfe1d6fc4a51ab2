#!/usr/bin/env bash
# Runs the CUDA device check (magicpig.cuda.DeviceCheck) on a machine with an NVIDIA GPU, with the
# Java runtime and jar that build.sh put into gpu-actors/device-check/out:
#   bash gpu-actors/device-check/run.sh [--quick] [--steps N]
# Prints a markdown table and, last, DEVICE CHECK PASSED or DEVICE CHECK FAILED: reasons. When $OUT
# is set (the device tool), the whole output is also written to $OUT/device-check.md.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/out"
[ -x "$here/runtime/bin/java" ] && out="$here" # the copy of this script inside out/
if [ ! -x "$out/runtime/bin/java" ] || [ ! -f "$out/device-check.jar" ]; then
  echo "DEVICE CHECK FAILED: no $out/runtime or device-check.jar (run gpu-actors/device-check/build.sh first and carry gpu-actors/device-check/out)"
  exit 2
fi
# JCuda's binding links libcuda.so.1: find the driver's copy when ldconfig does not know it.
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1 '; then
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/cuda/compat; do
    if [ -e "$d/libcuda.so.1" ]; then export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; break; fi
  done
fi
# The driver caches the PTX it JIT-compiles: the first open pays (seconds), the check's later ones not.
export CUDA_CACHE_MAXSIZE="${CUDA_CACHE_MAXSIZE:-1073741824}"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"
echo "CPU: $(nproc) cores; Java: $("$out/runtime/bin/java" -version 2>&1 | head -1)"
cmd=("$out/runtime/bin/java" -Xmx48g -XX:+UseParallelGC --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
     -cp "$out/device-check.jar" magicpig.cuda.DeviceCheck "$@")
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
  "${cmd[@]}" 2>&1 | tee "$OUT/device-check.md"
  exit "${PIPESTATUS[0]}"
fi
exec "${cmd[@]}"
