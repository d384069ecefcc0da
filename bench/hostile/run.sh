#!/bin/bash
# Bounded cost on hostile input (issue 17): makes each hostile file of the issue and runs the tools on it,
# printing a markdown table of exit code, wall time and peak RSS (/usr/bin/time -v). A benchmark, not a
# test: it prints numbers and checks nothing. Target: each refused or finished in < 1 s and < 200 MB.
# usage: bench/hostile/run.sh [BUILD_DIR] (default build); writes the hostile files under a temp folder.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
model=${ODP_MODEL:-$root/model/weights/odp.safetensors}
work=$(mktemp -d /tmp/odp-hostile-XXXXXX)
trap 'rm -rf "$work"' EXIT
odpenc=$build/cli/odpenc odpdec=$build/cli/odpdec odpinfo=$build/cli/odpinfo odptrunc=$build/cli/odptrunc
make_odp=$build/bench/odp_make_hostile_odp
cd "$work"

# --- the hostile files ---
"$make_odp" "$model" bomb.odp 16384 16384 0 1 >/dev/null          # 4,096 one-token tiles in ~6 KB
"$make_odp" "$model" bomb-overlap.odp 16384 16384 128 1 >/dev/null  # 16,129 tiles in ~24 KB
"$make_odp" "$model" one-tile.odp 256 256 0 16 >/dev/null           # a real one-tile file, for a JPEG
head -c 40 bomb.odp > cut-to-nothing.odp                            # header only: no token survives
python3 - <<'PY'
import struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
def png(width, height, path):
    # 8-bit grey zeros, streamed through zlib: 2^28 pixels in a few hundred kB.
    deflate = zlib.compressobj(9)
    row = b"\0" * (1 + width)
    rows_per_block = max(1, (1 << 22) // len(row))
    data, left = [], height
    while left:
        n = min(left, rows_per_block)
        data.append(deflate.compress(row * n))
        left -= n
    data.append(deflate.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(data)) + chunk(b"IEND", b""))
png(16384, 16384, "zeros-16384.png")
png(1, 1 << 28, "tall-1x2^28.png")
PY
# A small real JPEG whose frame header is patched to 16384 x 16384 (the data stops after 256 x 256).
"$odpdec" one-tile.odp -o small.jpg --quiet >/dev/null 2>&1 || true
python3 - <<'PY'
data = bytearray(open("small.jpg", "rb").read())
i = data.find(b"\xff\xc0")
data[i + 5:i + 9] = bytes([0x40, 0, 0x40, 0])
open("huge-16384.jpg", "wb").write(data[: min(len(data), 2158)])
whole = open("small.jpg", "rb").read()
open("truncated.jpg", "wb").write(whole[: len(whole) // 2])
PY

measure() {  # label, command...
  local label=$1
  shift
  # Each run is stopped after 30 s (exit 124): what is not refused may legitimately take minutes.
  /usr/bin/time -v -o time.txt timeout 30 "$@" >stdout.txt 2>err.txt
  local code=$?
  local wall rss
  wall=$(grep "Elapsed (wall clock)" time.txt | sed 's/.*): //')
  rss=$(grep "Maximum resident set size" time.txt | sed 's/.*: //')
  local message
  message=$(grep -v "^Command exited" err.txt | head -1 | cut -c1-110 | sed 's/|/\\|/g')
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$code" "$wall" "$((rss / 1024)) MB" "$message"
}

echo "| input and tool | exit | wall (m:ss) | peak RSS | first line of stderr |"
echo "|---|---|---|---|---|"
printf '| (sizes: bomb.odp %s B, bomb-overlap.odp %s B, zeros-16384.png %s B, tall-1x2^28.png %s B, huge-16384.jpg %s B) | | | | |\n' \
  "$(stat -c %s bomb.odp)" "$(stat -c %s bomb-overlap.odp)" "$(stat -c %s zeros-16384.png)" \
  "$(stat -c %s tall-1x2^28.png)" "$(stat -c %s huge-16384.jpg)"
measure "odpdec --help (process start: LibTorch's libraries load)" "$odpdec" --help
measure "odpinfo --help (process start, no LibTorch)" "$odpinfo" --help
measure "odpdec bomb.odp (16384², 4,096 tiles)" "$odpdec" bomb.odp -o out.png --quiet
measure "odpdec bomb-overlap.odp (16384², overlap 128, 16,129 tiles)" "$odpdec" bomb-overlap.odp -o out.png --quiet
measure "odpdec bomb.odp --max-pixels 268435456 (the format's limit)" "$odpdec" bomb.odp -o out.png --quiet --max-pixels 268435456
measure "odpinfo bomb.odp" "$odpinfo" bomb.odp
measure "odptrunc cut-to-nothing.odp" "$odptrunc" cut-to-nothing.odp -o out.odp --tokens 1
measure "odpdec cut-to-nothing.odp" "$odpdec" cut-to-nothing.odp -o out.png --quiet
measure "odpenc huge-16384.jpg (2 KB declaring 16384²)" "$odpenc" huge-16384.jpg -o out.odp --quiet
measure "odpenc huge-16384.jpg --max-pixels 268435456" "$odpenc" huge-16384.jpg -o out.odp --quiet --max-pixels 268435456
measure "odpenc truncated.jpg" "$odpenc" truncated.jpg -o out.odp --quiet
measure "odpenc zeros-16384.png (2^28 px of zeros)" "$odpenc" zeros-16384.png -o out.odp --quiet
measure "odpenc tall-1x2^28.png" "$odpenc" "tall-1x2^28.png" -o out.odp --quiet
measure "odpenc tall-1x2^28.png --max-pixels 268435456" "$odpenc" "tall-1x2^28.png" -o out.odp --quiet --max-pixels 268435456
measure "odpinfo /dev/zero" "$odpinfo" /dev/zero
measure "odpdec - < /dev/zero" bash -c "\"$odpdec\" - --quiet < /dev/zero > /dev/null"
measure "odpenc - < /dev/zero" bash -c "\"$odpenc\" - --quiet < /dev/zero > /dev/null"
measure "odpenc /dev/zero" "$odpenc" /dev/zero -o out.odp --quiet
measure "odptrunc /dev/zero" "$odptrunc" /dev/zero -o out.odp --tokens 1
# Streams that start with a valid signature are read up to the cap (what the signature check cannot stop).
measure "odpinfo - < \"ODP\" + /dev/zero" bash -c "(printf ODP; cat /dev/zero) | \"$odpinfo\" -"
measure "odpenc - < PNG signature + /dev/zero" bash -c "(printf '\\211PNG\\r\\n\\032\\n'; cat /dev/zero) | \"$odpenc\" - --quiet > /dev/null"
ls "$work" | grep -E "^out\.|tmp" | sed 's/^/left behind: /'
