#!/usr/bin/env bash
# On a GPU machine: odpenc --size's search timed per phase (odp-size-search) with CUDA graphs on and off and small
# batches padded or not, each in a fresh process (cold run, then warm repeats), then odpenc -v itself; output in
# $OUT when set.
# Usage: ODP_BUILD_DIR=DIR [ODP_SOURCE_DIR=SRC] bench/throughput/run_size_search_gpu.sh IMAGE MODEL [BYTES]
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,4p "$0"; exit 2; }
image=$1
model=$2
size=${3:-300}
build=${ODP_BUILD_DIR:-build-gpu}
export PATH=/usr/local/cuda/bin:$PATH
# Only these targets: the rest of a training build is already there (a reconfigure picks up the new target).
cmake --build "$build" -j "$(nproc)" --target odp-size-search odpenc 2>&1 | grep -E "error|FAILED" | head -40 || true
[ -x "$build/bench/throughput/odp-size-search" ] || { echo "run_size_search_gpu: build failed"; exit 1; }
log=/tmp/odp-size-search.txt
{
  nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader || true
  for graphs in on off; do
    for padding in off on; do
      "$build/bench/throughput/odp-size-search" "$image" --model "$model" --device cuda --size "$size" \
        --repeats 3 --graphs "$graphs" --pad-batches "$padding" ||
        echo "odp-size-search --graphs $graphs --pad-batches $padding: exit status $?"
    done
  done
  # The tool itself, cold (a fresh process, as a user runs it): its -v line has the encode time.
  for run in 1 2; do
    "$build/cli/odpenc" "$image" -o /tmp/odp-size-search.odp --model "$model" --device cuda --size "$size" \
      --quiet -v 2>&1 || echo "odpenc: exit status $?"
  done
} 2>&1 | tee "$log"
[ -n "${OUT:-}" ] && cp "$log" "$OUT/" || true
