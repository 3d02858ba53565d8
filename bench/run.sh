#!/usr/bin/env bash
# Builds and runs the benchmarks. Usage: bench/run.sh [build-dir]
set -euo pipefail
build=${1:-build}
cmake --build "$build" --target model_bench
"$build/bench/model_bench" "${@:2}"
