#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and runs each for a share of SECONDS.
# Usage: scripts/fuzz.sh [SECONDS]   (default 30). Fails if any fuzzer finds a crash, leak or hang.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-30}
build=build-fuzz
fuzzers=(fuzz_read fuzz_roundtrip fuzz_alloc)

generator=(); command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DODP_FUZZ=ON -DODP_WITH_TORCH=OFF -DODP_WITH_CUDA=OFF -DODP_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "${ODP_JOBS:-$(nproc)}" --target "${fuzzers[@]}" odp_fuzz_seeds

seeds="$build/seeds"
rm -rf "$seeds"
"$build/tests/libfuzzer/odp_fuzz_seeds" "$seeds"

per_fuzzer=$(( seconds / ${#fuzzers[@]} ))
(( per_fuzzer >= 1 )) || per_fuzzer=1
mkdir -p "$build/artifacts"
for fuzzer in "${fuzzers[@]}"; do
  corpus="$build/corpus/$fuzzer"   # grows across runs; the seeds are re-read every time
  mkdir -p "$corpus"
  seed_dir="$seeds"; [ "$fuzzer" = fuzz_alloc ] && seed_dir="$seeds/alloc"
  echo "fuzz: $fuzzer for ${per_fuzzer}s"
  log="$build/artifacts/$fuzzer.log"
  status=0
  "$build/tests/libfuzzer/$fuzzer" -max_total_time="$per_fuzzer" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/artifacts/$fuzzer-" -print_final_stats=1 "$corpus" "$seed_dir" >"$log" 2>&1 ||
    status=$?
  grep -E "^stat::(number_of_executed_units|new_units_added)" "$log" | tr '\n' ' ' || true
  echo
  if (( status != 0 )); then
    grep -E -A30 "^==[0-9]+==|check failed|SUMMARY|ERROR" "$log" | head -60 >&2 || tail -40 "$log" >&2
    echo "fuzz: $fuzzer FAILED (exit $status); log $log, reproducer in $build/artifacts/" >&2
    exit 1
  fi
done
echo "fuzz: all ${#fuzzers[@]} fuzzers ran clean"
