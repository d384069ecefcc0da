#!/usr/bin/env bash
# On a GPU machine: builds the CUDA kernel tests and odp-throughput against PyTorch's LibTorch, runs the tests,
# the benchmark (table saved in bench/results/ and $OUT when set) and, when a model file and the CLI exist, a
# 768x512 encode/decode through odpenc/odpdec --device cuda, and with ODP_EVAL_DIR set, odp-bench's odp rows on
# CUDA (speed per image and per megapixel). Usage: bench/throughput/run_gpu.sh [odp-throughput flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${ODP_BUILD_DIR:-build-gpu}
# A build made by train/gpu_train.sh build is configured from its copy of the tree: ODP_SOURCE_DIR=/root/src.
source_dir=${ODP_SOURCE_DIR:-.}
export PATH=/usr/local/cuda/bin:$PATH
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S "$source_dir" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DODP_WITH_CUDA=ON -DODP_WITH_WEBP=OFF \
  -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCMAKE_PREFIX_PATH="$prefix" >/tmp/odp-configure.log 2>&1 ||
  { tail -40 /tmp/odp-configure.log; exit 1; }
targets=(test_cuda odp-throughput)
[ -f cli/CMakeLists.txt ] && targets+=(odpenc odpdec)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" 2>&1 | grep -E "error|FAILED" | head -40 || true
# odp-bench on its own: it needs more libraries, and a failure there must not stop the targets above.
[ -n "${ODP_EVAL_DIR:-}" ] && { cmake --build "$build" -j "$(nproc)" --target odp-bench 2>&1 | grep -E "error|FAILED" | head -20 || true; }
[ -x "$build/bench/throughput/odp-throughput" ] || { echo "run_gpu: build failed"; exit 1; }

nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv || true
# The CUDA tests (what ctest runs); exit 77 means no GPU was seen and the GPU tests were skipped.
test_status=0
"$build/tests/cuda/test_cuda" >/tmp/odp-test-cuda.log 2>&1 || test_status=$?
grep -E "rounding boundary|test cases|FAILED|failed|no CUDA device" /tmp/odp-test-cuda.log | sort | uniq -c | head -30
echo "test_cuda exit status: $test_status"
[ "$test_status" = 0 ] || tail -60 /tmp/odp-test-cuda.log

mkdir -p bench/results
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr -c 'A-Za-z0-9\n' '-' | tr -s '-')
result="bench/results/throughput-${gpu:-gpu}.md"
{
  echo "# odp-throughput on ${gpu:-unknown GPU}, $(date -u +%Y-%m-%d)"
  echo "Command: bench/throughput/run_gpu.sh $*  (= $build/bench/throughput/odp-throughput $*)"
  echo '```'
  "$build/bench/throughput/odp-throughput" "$@"
  echo '```'
} 2>&1 | tee "$result"
# Out at once: what follows may outlast the caller's time limit.
[ -n "${OUT:-}" ] && cp "$result" "$OUT/" || true

model=${ODP_MODEL:-model/weights/odp.safetensors}
if [ -x "$build/cli/odpenc" ] && [ -f "$model" ]; then
  # A Kodak-sized test image: smooth gradients plus a sharp-edged checker, made here (no data files needed).
  python3 - <<'PY'
w, h = 768, 512
rows = bytearray()
for y in range(h):
    for x in range(w):
        edge = 60 if ((x // 64) + (y // 64)) % 2 else 0
        rows += bytes(((x * 255 // w + edge) % 256, (y * 255 // h) % 256, ((x + y) * 255 // (w + h) + edge) % 256))
open("/tmp/odp-kodak-size.ppm", "wb").write(b"P6 %d %d 255\n" % (w, h) + bytes(rows))
PY
  for device in cuda cpu; do
    start=$(date +%s.%N)
    "$build/cli/odpenc" /tmp/odp-kodak-size.ppm -o "/tmp/odp-$device.odp" --model "$model" --device "$device" --quiet -v &&
      "$build/cli/odpdec" "/tmp/odp-$device.odp" -o "/tmp/odp-$device.png" --model "$model" --device "$device" --quiet &&
      echo "end to end 768x512 on $device: $(stat -c %s "/tmp/odp-$device.odp") bytes, $(awk "BEGIN{print $(date +%s.%N) - $start}") s" |
        tee -a "$result"
  done
else
  echo "end to end: skipped (needs $build/cli/odpenc and $model)" | tee -a "$result"
fi

# odp-bench on the GPU: the odp rows only (the anchors are CPU codecs, measured by scripts/bench.sh), for the
# CUDA encode/decode times per image and per megapixel. The evaluation crops are not in the repository: carry them.
if [ -n "${ODP_EVAL_DIR:-}" ] && [ -x "$build/bench/odp-bench" ] && [ -f "$model" ]; then
  bench_result="bench/results/summary-cuda-${gpu:-gpu}.md"
  if "$build/bench/odp-bench" --model "$model" --device cuda --anchors none --no-thumbhash --no-match \
      --target-psnr 17,19,21 --grid-images 0 --out /tmp/odp-bench-cuda "$ODP_EVAL_DIR"; then
    cp /tmp/odp-bench-cuda/summary.md "$bench_result"
    grep -A12 "^## Speed" "$bench_result" || true
    [ -n "${OUT:-}" ] && cp "$bench_result" "$OUT/" || true
  fi
fi
[ -n "${OUT:-}" ] && cp "$result" "$OUT/" || true  # again, with the end-to-end lines
