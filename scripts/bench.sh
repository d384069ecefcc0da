#!/usr/bin/env bash
# The README's benchmark command: set up and build, then run odp-bench on the evaluation set into bench/results/.
# Usage: scripts/bench.sh [extra odp-bench options, e.g. --limit 10 --tokens 1,16,256]
# Environment: ODP_EVAL_DIR (default ../shared/data/eval), ODP_BENCH_TARGETS (adaptive targets in dB).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
build=${ODP_BUILD_DIR:-build}
data=${ODP_EVAL_DIR:-../shared/data/eval}
targets=${ODP_BENCH_TARGETS:-17,19,21}  # around the shipped model's mean PSNR at 16-256 tokens
time "$build/bench/odp-bench" --out bench/results --target-psnr "$targets" "$@" "$data"
