#!/usr/bin/env bash
# Configures and builds iotwin into build/ (or build-sanitize/ with --sanitize).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
dir=build
opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-sanitize
  opts+=(-DIOTWIN_SANITIZE=ON -DIOTWIN_BENCH=OFF)
fi
# ccache (when installed) shares objects between clones side by side.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$PWD")}"
jobs=$(nproc)
cmake -S . -B "$dir" "${opts[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
