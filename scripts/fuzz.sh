#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and runs each for a share of SECONDS.
# Usage: scripts/fuzz.sh [SECONDS]   (default 30). Fails if any fuzzer finds a crash, leak or hang.
#        scripts/fuzz.sh --codec SECONDS: only fuzz_codec_decode (codec::decode with a tiny random model),
#        which needs LibTorch and compiles the network with the sanitizers (minutes): not in the short run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
codec=0
if [ "${1:-}" = --codec ]; then
  codec=1
  shift
fi
seconds=${1:-30}
build=build-fuzz
fuzzers=(fuzz_read fuzz_roundtrip fuzz_alloc fuzz_image fuzz_image_alloc)
# The model file's and the argument parser's fuzzers need nlohmann-json (scripts/setup.sh installs it); left
# out where it is missing.
targets=("${fuzzers[@]}" odp_fuzz_seeds odp_image_fuzz_seeds)
if ((codec)); then
  fuzzers=(fuzz_codec_decode)
  targets=(fuzz_codec_decode odp_codec_fuzz_seeds)
fi

generator=(); command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DODP_FUZZ=ON -DODP_WITH_TORCH=OFF -DODP_WITH_CUDA=OFF -DODP_BUILD_TESTS=OFF >/dev/null
help=$(cmake --build "$build" --target help 2>/dev/null || true)
if ((codec)) && ! grep -q "fuzz_codec_decode" <<<"$help"; then
  echo "fuzz: fuzz_codec_decode needs LibTorch (not found by cmake)" >&2
  exit 1
fi
if ((!codec)) && grep -q "fuzz_model_file" <<<"$help"; then
  fuzzers+=(fuzz_model_file fuzz_arguments)
  targets+=(fuzz_model_file fuzz_arguments)
fi
cmake --build "$build" -j "${ODP_JOBS:-$(nproc)}" --target "${targets[@]}"

seeds="$build/seeds"
if ((codec)); then
  rm -rf "$seeds/codec"
  "$build/tests/libfuzzer/odp_codec_fuzz_seeds" "$seeds/codec"
else
  rm -rf "$seeds"
  "$build/tests/libfuzzer/odp_fuzz_seeds" "$seeds"
  "$build/tests/libfuzzer/odp_image_fuzz_seeds" "$seeds/image"
  mkdir -p "$seeds/model" "$seeds/arguments"
  # A small safetensors file with a config and an entropy table, and a few command lines (NUL-separated).
  printf '\x69\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"odp.format":"odp-tokenizer-1"},"w":{"dtype":"U8","shape":[2,2],"data_offsets":[0,4]}}  abcd' \
    >"$seeds/model/tiny.safetensors"
  printf 'a.png\0-o\0out.odp\0--tokens\0008' >"$seeds/arguments/one"
  printf 'a.png\0b.png\0-o\0.\0--size=20k\0--max-pixels\00050M\0-q' >"$seeds/arguments/two"
fi

per_fuzzer=$(( seconds / ${#fuzzers[@]} ))
(( per_fuzzer >= 1 )) || per_fuzzer=1
mkdir -p "$build/artifacts"
for fuzzer in "${fuzzers[@]}"; do
  corpus="$build/corpus/$fuzzer"   # grows across runs; the seeds are re-read every time
  mkdir -p "$corpus"
  case "$fuzzer" in
    fuzz_alloc) seed_dir="$seeds/alloc" ;;
    fuzz_image) seed_dir="$seeds/image" ;;
    fuzz_image_alloc) seed_dir="$seeds/image/alloc" ;;
    fuzz_model_file) seed_dir="$seeds/model" ;;
    fuzz_arguments) seed_dir="$seeds/arguments" ;;
    fuzz_codec_decode) seed_dir="$seeds/codec" ;;
    *) seed_dir="$seeds" ;;
  esac
  regressions=()  # inputs that once failed (tests/libfuzzer/regressions/README.md): run again every time
  [ -d "tests/libfuzzer/regressions/$fuzzer" ] && regressions=("tests/libfuzzer/regressions/$fuzzer")
  echo "fuzz: $fuzzer for ${per_fuzzer}s"
  log="$build/artifacts/$fuzzer.log"
  status=0
  "$build/tests/libfuzzer/$fuzzer" -max_total_time="$per_fuzzer" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/artifacts/$fuzzer-" -print_final_stats=1 "$corpus" "$seed_dir" "${regressions[@]}" >"$log" 2>&1 ||
    status=$?
  grep -E "^stat::(number_of_executed_units|new_units_added)" "$log" | tr '\n' ' ' || true
  grep -E "^#[0-9]+.*(DONE|pulse)" "$log" | tail -1 | grep -oE "cov: [0-9]+ ft: [0-9]+" || true
  echo
  if (( status != 0 )); then
    grep -E -A30 "^==[0-9]+==|check failed|SUMMARY|ERROR" "$log" | head -60 >&2 || tail -40 "$log" >&2
    echo "fuzz: $fuzzer FAILED (exit $status); log $log, reproducer in $build/artifacts/" >&2
    exit 1
  fi
done
echo "fuzz: all ${#fuzzers[@]} fuzzers ran clean"
