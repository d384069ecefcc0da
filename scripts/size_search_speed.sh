#!/usr/bin/env bash
# Benchmark of odpenc --size N's search over scale and overlap: prints "budget seconds bytes coded-size
# candidates" per budget for one photo (default: the first Kodak image, 768x512), model load included.
# Usage: scripts/size_search_speed.sh [IMAGE] [BUDGET...]. Uses ${ODP_BUILD_DIR:-build}/cli/odpenc.
set -euo pipefail
image=${1:-../shared/data/kodak/PhotoCD_PCD0992_01.png}
shift || true
budgets=${*:-24 40 100 300 1000}
bin=${ODP_BUILD_DIR:-build}/cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "cores: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)"
for budget in $budgets; do
  start=$(date +%s.%N)
  line=$("$bin/odpenc" "$image" -o "$work/s.odp" --size "$budget" --quiet -v 2>&1 | tail -1)
  end=$(date +%s.%N)
  coded=$(echo "$line" | grep -o 'coded at [0-9x]*' | cut -d' ' -f3)
  candidates=$(echo "$line" | grep -o 'best of [0-9]*' | cut -d' ' -f3)
  printf '%s %.2f %s %s %s\n' "$budget" "$(echo "$end - $start" | bc)" "$(stat -c %s "$work/s.odp")" \
    "${coded:-full}" "${candidates:-1}"
done
