#!/usr/bin/env bash
# The across-tile allocation's saving per image: for each image and token count C, the adaptive mode
# (--target-psnr) is asked for the PSNR that C tokens in every tile give that image; prints
# "image C fixed_psnr fixed_bytes adaptive_psnr adaptive_bytes saving%". Unlike adaptive_gain.sh (equal mean
# PSNR over images, which also moves bytes between images) this isolates the allocation across tiles. The
# target is the fixed file's PSNR as odpdec prints it (6 digits) less half its last digit's 0.0001 dB, so that
# the fixed file itself reaches it (the printed value may be rounded up).
# Usage: scripts/adaptive_per_image.sh DIR LIMIT [COUNT...]. Uses ${ODP_BUILD_DIR:-build}/cli.
set -euo pipefail
dir=$1 limit=$2
shift 2
counts=${*:-4 16 64}
bin=${ODP_BUILD_DIR:-build}/cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure() {  # FILE.odp IMAGE -> "psnr bytes"
  "$bin/odpdec" "$1" -o "$work/d.png" --quiet --compare "$2" | awk '{print $3, $5}'
}
for image in $(ls "$dir"/*.png | head -n "$limit"); do
  "$bin/odpenc" "$image" -o "$work/full.odp" --tokens 256 --scale 1 --quiet
  for count in $counts; do
    "$bin/odptrunc" "$work/full.odp" -o "$work/fixed.odp" --tokens "$count"
    read -r fixed_psnr fixed_bytes < <(measure "$work/fixed.odp" "$image")
    target=$(awk -v p="$fixed_psnr" 'BEGIN { printf "%.5f", p - 0.00005 }')
    "$bin/odpenc" "$image" -o "$work/adaptive.odp" --target-psnr "$target" --scale 1 --quiet
    read -r psnr bytes < <(measure "$work/adaptive.odp" "$image")
    echo "$(basename "$image") $count $fixed_psnr $fixed_bytes $psnr $bytes" |
      awk '{ printf "%s %s %.3f %d %.3f %d %.1f%%\n", $1, $2, $3, $4, $5, $6, 100 * (1 - $6 / $4) }'
  done
done
