#!/usr/bin/env bash
# Runs libFuzzer targets for a bounded time each (make fuzz; fuzz/README.md).
#   fuzz/run.sh BUILD_DIR SECONDS TARGET...
# Each target runs alone, in one process (the machines are shared),
# over BUILD_DIR/fuzz-runs/TARGET/corpus, which starts as a copy of the
# committed seeds fuzz/corpus/TARGET/ and keeps what earlier runs found.
# Crashes, leaks, timeouts and out-of-memory inputs are written to
# BUILD_DIR/fuzz-runs/TARGET/crashes/; the script prints how to replay each
# one and exits non-zero if any target found something.
set -uo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 BUILD_DIR SECONDS TARGET..." >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Largest input per target: enough for the seeds and what the parser's
# structure needs, small enough to keep each run fast.
max_len() {
  case $1 in
    docx | gguf | tokenizer | hwp) echo 16384 ;;
    pdf) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

failed=()
summary=()
for target in "$@"; do
  binary=$build/fuzz/fuzz_$target
  seeds=$root/fuzz/corpus/$target
  if [ ! -x "$binary" ] || [ ! -d "$seeds" ]; then
    echo "fuzz: no target '$target' ($binary or $seeds missing)" >&2
    failed+=("$target")
    continue
  fi
  work=$build/fuzz-runs/$target
  mkdir -p "$work/corpus" "$work/crashes"
  cp -n "$seeds"/* "$work/corpus/" 2>/dev/null || true
  before=$(ls "$work/crashes" | wc -l)
  dict=()
  [ -f "$root/fuzz/dict/$target.dict" ] && dict=(-dict="$root/fuzz/dict/$target.dict")
  echo "=== fuzz_$target: ${seconds}s, max_len $(max_len "$target") ==="
  # One process (no -jobs/-workers): libFuzzer's exit status and output
  # stay this script's. -malloc_limit_mb: a length field that makes the
  # parser allocate a gigabyte is a finding, not a slow run.
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$binary" "$work/corpus" "${dict[@]}" \
      -max_total_time="$seconds" -max_len="$(max_len "$target")" \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
      -print_final_stats=1 \
      -artifact_prefix="$work/crashes/" >"$work/log.txt" 2>&1
  status=$?
  tail -n 12 "$work/log.txt" | grep -E 'stat::|Done|ERROR|SUMMARY' || true
  after=$(ls "$work/crashes" | wc -l)
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$' | tail -1)
  if [ "$status" -ne 0 ] || [ "$after" -gt "$before" ]; then
    failed+=("$target")
    summary+=("fuzz_$target: FOUND $((after - before)) new input(s) (exit $status), ${runs:-?} runs")
    echo "fuzz_$target found a problem; the log is $work/log.txt. New inputs:"
    for f in $(ls -t "$work/crashes" | head -n $((after - before))); do
      echo "  $work/crashes/$f"
      echo "    replay: $binary $work/crashes/$f"
    done
    echo "  Fix the parser at the cause (a clear Error instead), then keep the input as a"
    echo "  regression case: cp FILE $root/fuzz/corpus/$target/regress-<what-it-was>"
  else
    summary+=("fuzz_$target: ${seconds}s, ${runs:-?} runs, nothing found")
  fi
done

echo
echo "=== fuzz summary ==="
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "targets with findings or errors: ${failed[*]}" >&2
  exit 1
fi
