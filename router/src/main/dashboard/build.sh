#!/usr/bin/env bash
# Builds the gateway's /dashboard page into the classpath (run by the router's Maven build, phase
# process-resources): our page (index.html, dashboard.js, dashboard.css) and uPlot's prebuilt,
# minified browser files, installed from npm with the versions package-lock.json pins. No bundler:
# uPlot ships a ready IIFE build, and the page is one plain script, so copying is all it takes.
#
# Without node or npm the page is built without charts (the tables still update live) and the build
# says so in one line; a failing npm ci fails the build.
#
# usage: build.sh SOURCE_DIR NPM_WORK_DIR OUTPUT_DIR
set -euo pipefail
src="$1" work="$2" out="$3"

mkdir -p "$out"
cp "$src/index.html" "$src/dashboard.js" "$src/dashboard.css" "$out/"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  rm -f "$out/uPlot.iife.min.js" "$out/uPlot.min.css"
  echo "[WARNING] dashboard: node/npm not found, so /dashboard is built without its charts; install Node.js 20+ with npm (e.g. apt-get install nodejs npm) and rebuild to have them"
  exit 0
fi

# npm ci in target/, once per lock file: node_modules never lands in the sources.
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$work/"
stamp="$work/node_modules/.installed-lock"
if ! { [ -f "$stamp" ] && cmp -s "$stamp" "$src/package-lock.json"; }; then
  if ! (cd "$work" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error); then
    echo "[ERROR] dashboard: npm ci failed in $work (is the npm registry reachable?); see above" >&2
    exit 1
  fi
  cp "$src/package-lock.json" "$stamp"
fi
cp "$work/node_modules/uplot/dist/uPlot.iife.min.js" "$work/node_modules/uplot/dist/uPlot.min.css" "$out/"
cp "$work/node_modules/uplot/LICENSE" "$out/uPlot.LICENSE.txt"
