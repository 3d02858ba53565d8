#!/usr/bin/env bash
# Builds and runs the benchmarks, one table each.
# Usage: bench/run.sh [build-dir]; BENCHES="model_bench train_bench" picks some.
set -euo pipefail
build=${1:-build}
benches=${BENCHES:-model_bench train_bench eval_bench serve_bench merge_bench store_bench data_bench startup_bench}
for b in $benches; do
  cmake --build "$build" --target "$b"
  printf '\n==== %s\n' "$b"
  "$build/bench/$b"
done
