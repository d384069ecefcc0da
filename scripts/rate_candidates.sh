#!/usr/bin/env bash
# Measures odpenc --size N at each forced scale and overlap (the candidates of its search), to see which wins
# where: prints "image budget scale overlap bytes psnr". Usage: scripts/rate_candidates.sh DIR LIMIT BUDGET...
# Uses the tools in ${ODP_BUILD_DIR:-build}/cli.
set -euo pipefail
dir=$1 limit=$2
shift 2
bin=${ODP_BUILD_DIR:-build}/cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for image in $(ls "$dir"/*.png | head -n "$limit"); do
  for budget in "$@"; do
    for scale in 1 1/1.5 1/2 1/3 1/4; do
      for overlap in 0 auto; do
        if "$bin/odpenc" "$image" -o "$work/c.odp" --size "$budget" --scale "$scale" --overlap "$overlap" --quiet \
          2>/dev/null; then
          line=$("$bin/odpdec" "$work/c.odp" -o "$work/c.png" --quiet --compare "$image")
          echo "$(basename "$image") $budget $scale $overlap $(echo "$line" | awk '{print $5, $3}')"
        else
          echo "$(basename "$image") $budget $scale $overlap - -"
        fi
      done
    done
  done
done
