#!/usr/bin/env bash
# Measures the bytes odpenc's adaptive mode (--target-psnr) saves against one fixed token count for every
# tile at equal mean PSNR, over a folder of PNGs. Usage: scripts/adaptive_gain.sh [EVAL_DIR] [TARGET_DB...]
# Uses the tools in ${ODP_BUILD_DIR:-build}/cli and the model they find (ODP_MODEL, --model via ODP_FLAGS).
# ODP_FIXED_TABLE=FILE reuses the fixed-count table of an earlier run's output (same images and flags).
set -euo pipefail
eval_dir=${1:-../shared/data/eval}
shift || true
targets=${*:-24 27 30}
bin=${ODP_BUILD_DIR:-build}/cli
flags=${ODP_FLAGS:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Encodes every image with the given rate flags, decodes, prints "mean_psnr total_bytes".
point() {
  rm -rf "$work/odp" "$work/png" && mkdir -p "$work/odp" "$work/png"
  # shellcheck disable=SC2086
  "$bin/odpenc" "$eval_dir"/*.png -o "$work/odp" --quiet $flags "$@"
  # shellcheck disable=SC2086
  "$bin/odpdec" "$work"/odp/*.odp -o "$work/png" --quiet $flags --compare "$eval_dir" |
    awk '{ psnr += $3; bytes += $5; n++ } END { printf "%.4f %d\n", psnr / n, bytes }'
}

echo "fixed token counts (tokens mean_psnr total_bytes):"
: > "$work/fixed"
if [ -n "${ODP_FIXED_TABLE:-}" ]; then  # the table a previous run printed, to measure other targets only
  grep -E '^[0-9]+ [0-9.]+ [0-9]+$' "$ODP_FIXED_TABLE" | tee "$work/fixed"
else
  for tokens in 1 2 3 4 6 8 12 16 24 32 48 64 96 128 192 256; do
    line=$(point --tokens "$tokens")
    echo "$tokens $line" | tee -a "$work/fixed"
  done
fi
echo "adaptive (target mean_psnr bytes | fixed bytes at that psnr | saving):"
for target in $targets; do
  read -r psnr bytes < <(point --target-psnr "$target")
  # Bytes of the fixed-token curve at the same mean PSNR, interpolated linearly in log(bytes).
  awk -v p="$psnr" -v b="$bytes" -v t="$target" '
    { tp[NR] = $2; tb[NR] = $3 }
    END {
      fixed = -1
      for (i = 1; i < NR; i++)
        if (tp[i] <= p && p <= tp[i + 1] && tp[i + 1] > tp[i]) {
          f = (p - tp[i]) / (tp[i + 1] - tp[i])
          fixed = exp(log(tb[i]) + f * (log(tb[i + 1]) - log(tb[i])))
          break
        }
      if (fixed < 0) printf "%s %.3f %d | outside the fixed curve\n", t, p, b
      else printf "%s %.3f %d | %.0f | %.1f%%\n", t, p, b, fixed, 100 * (1 - b / fixed)
    }' "$work/fixed"
done
