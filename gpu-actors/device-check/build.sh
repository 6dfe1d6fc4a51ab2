#!/usr/bin/env bash
# Builds what the GPU device check needs into gpu-actors/device-check/out (ignored by git):
#   out/runtime/          a jlink-ed Java 25 (only the modules the check uses)
#   out/device-check.jar  cluster-core + gpu-actors' magicpig.cuda + the PTX + JCuda (driver API
#                         classes and its linux-x86_64 binding only)
# A GPU machine has no Java and no network: carry gpu-actors/device-check/out there and run
# run.sh. Run this from anywhere, on a machine with Java 25 (JAVA_HOME) and Maven access.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/out"
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
jcuda_version=12.6.0
m2="${MAVEN_REPO:-$HOME/.m2/repository}"

if [ "${SKIP_MAVEN:-0}" != 1 ]; then
  (cd "$root" && ./mvnw -q -o install -DskipTests -pl cluster-core,gpu-actors 2>/dev/null \
     || ./mvnw -q install -DskipTests -pl cluster-core,gpu-actors)
fi

rm -rf "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out" "$stage/classes"
cp -r "$root/cluster-core/target/classes/." "$stage/classes/"
mkdir -p "$stage/classes/magicpig"
cp -r "$root/gpu-actors/target/classes/magicpig/cuda" "$stage/classes/magicpig/"
cp -r "$root/gpu-actors/target/classes/ptx" "$stage/classes/"
(cd "$stage/classes" && "$JAVA_HOME/bin/jar" --extract --file "$m2/org/jcuda/jcuda/$jcuda_version/jcuda-$jcuda_version.jar" jcuda)
(cd "$stage/classes" && "$JAVA_HOME/bin/jar" --extract \
   --file "$m2/org/jcuda/jcuda-natives/$jcuda_version/jcuda-natives-$jcuda_version-linux-x86_64.jar" \
   "lib/libJCudaDriver-$jcuda_version-linux-x86_64.so")
"$JAVA_HOME/bin/jar" --create --file "$out/device-check.jar" -C "$stage/classes" .

# The modules the classes need, and the vector API (an incubator module jdeps reports as well).
modules="$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 25 "$out/device-check.jar")"
case ",$modules," in *,jdk.incubator.vector,*) ;; *) modules="$modules,jdk.incubator.vector" ;; esac
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=zip-9 \
  --output "$out/runtime"
cp "$here/run.sh" "$out/" 2>/dev/null || true
echo "[device-check] modules: $modules"
total=$(du -sb "$out" | cut -f1)
echo "[device-check] runtime $(du -sh "$out/runtime" | cut -f1), jar $(du -sh "$out/device-check.jar" | cut -f1), together $((total / 1024 / 1024)) MiB in $out"
# The host halves of the check with this runtime and jar: a missing class or module shows here.
"$out/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$out/device-check.jar" \
  magicpig.cuda.DeviceCheck --host-self-test 2>&1 | grep -v '^WARNING' | sed 's/^/[device-check] /'
[ "${PIPESTATUS[0]}" = 0 ] || { echo "[device-check] the host self-test failed" >&2; exit 1; }
if [ "$total" -gt $((64 * 1024 * 1024)) ]; then
  echo "[device-check] $out is $total bytes: over the 64 MiB that can be carried" >&2
  exit 1
fi
