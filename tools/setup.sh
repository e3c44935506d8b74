#!/usr/bin/env bash
# Installs the Debian packages iotwin builds, tests and benchmarks with.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libsystemc-dev            # SystemC 2.3 and TLM-2.0 (built for C++17)
  libboost-graph-dev        # topology graphs
  libyaml-cpp-dev           # scenario files
  nlohmann-json3-dev        # reports
  libcli11-dev              # the command line
  googletest libgtest-dev libgmock-dev
  libbenchmark-dev          # tests/bench
  ccache                    # faster rebuilds
  clang-16 libclang-rt-16-dev llvm-16   # tools/fuzz: libFuzzer, the sanitizers' runtimes, llvm-symbolizer (clang 14 rejects lambdas capturing structured bindings)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "tools/setup.sh: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
