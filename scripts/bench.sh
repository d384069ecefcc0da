#!/usr/bin/env bash
# The README's benchmark command: set up and build, then run odp-bench on the evaluation set into bench/results/.
# Usage: scripts/bench.sh [kodak] [extra odp-bench options, e.g. --limit 10 --tokens 1,16,256]
# "kodak": the 24 Kodak photos (ODP_KODAK_DIR, default ../shared/data/kodak) into bench/results/kodak/, odp at
# the byte budgets ODP_BENCH_BUDGETS (odpenc --size's search over scale and overlap; default 20 B to 1,000 B).
# Environment: ODP_EVAL_DIR (default ../shared/data/eval), ODP_BENCH_TARGETS (adaptive targets in dB).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
build=${ODP_BUILD_DIR:-build}
if [ "${1:-}" = kodak ]; then
  shift
  data=${ODP_KODAK_DIR:-../shared/data/kodak}
  budgets=${ODP_BENCH_BUDGETS:-20,24,40,70,100,150,200,300,500,1000}
  time "$build/bench/odp-bench" --out bench/results/kodak --tokens none --budgets "$budgets" "$@" "$data"
  exit
fi
data=${ODP_EVAL_DIR:-../shared/data/eval}
targets=${ODP_BENCH_TARGETS:-17,19,21}  # around the shipped model's mean PSNR at 16-256 tokens
time "$build/bench/odp-bench" --out bench/results --target-psnr "$targets" "$@" "$data"
