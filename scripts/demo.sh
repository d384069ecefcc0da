#!/usr/bin/env bash
# The README's main command: build odp, then compress and decompress a photo at three quality levels with the
# shipped model and cut one file down with odptrunc, printing the sizes. Usage: scripts/demo.sh [PHOTO]
# PHOTO defaults to the first PNG of ../shared/data/eval/, else a synthetic picture made here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
build=${ODP_BUILD_DIR:-build}
bin="$build/cli"
out="$build/demo"
mkdir -p "$out"

photo=${1:-}
if [ -z "$photo" ]; then
  photo=$(ls ../shared/data/eval/*.png 2>/dev/null | head -n 1 || true)
fi
if [ -z "$photo" ]; then
  # A 512x384 synthetic photo (gradients, a disc, stripes) as an ASCII PPM, which odpenc reads directly.
  photo="$out/synthetic.ppm"
  awk 'BEGIN { w = 512; h = 384; print "P3"; print w, h; print 255;
    for (y = 0; y < h; y++) for (x = 0; x < w; x++) {
      d = sqrt((x - 170) ^ 2 + (y - 130) ^ 2) < 90; s = (x > 256 && y > 192 && int(x / 3 + y / 5) % 2 == 0);
      printf "%d %d %d\n", d ? 220 : 40 + 150 * x / w, s ? 240 : 60 + 120 * y / h, d ? 40 : 128 + 60 * sin(x / 40) } }' \
    > "$photo"
fi
echo "demo: photo $photo -> outputs in $out"
size() { stat -c %s "$1"; }
name=$(basename "${photo%.*}")
for quality in 40 60 80; do
  odp="$out/$name-q$quality.odp"
  "$bin/odpenc" "$photo" -o "$odp" --quality "$quality" -q
  "$bin/odpdec" "$odp" -o "$out/$name-q$quality.png" --compare "$photo" -q
done
half=$(( $(size "$out/$name-q80.odp") / 2 ))
"$bin/odptrunc" "$out/$name-q80.odp" -o "$out/$name-q80-cut.odp" --size "$half"
"$bin/odpdec" "$out/$name-q80-cut.odp" -o "$out/$name-q80-cut.png" --compare "$photo" -q
"$bin/odpinfo" "$out/$name-q80-cut.odp"
echo "demo: original $(size "$photo") bytes; decoded pictures are the .png files in $out"
