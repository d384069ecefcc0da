#!/usr/bin/env bash
# Steps of a training lease on the GPU machine (see model/TRAINING.md). Run from the repository root there.
#   gpu_train.sh unpack BUNDLE.tar   extract carried training photos into /root/data
#   gpu_train.sh build               configure + build odp-train (and what run_gpu.sh runs) in the background
#   gpu_train.sh start ARGS...       start training detached (setsid), logging to /root/run/train.log
#   gpu_train.sh status [RUN_DIR...] last log lines and evaluations; the latest checkpoint's parts in $OUT
#                                    (and the trainer's --trace file, gzipped, once it exists); the log
#                                    lines of further runs (a paired A/B), whose checkpoints a call has no room for
#   gpu_train.sh pick RUN_DIR...     prints the run whose final evaluation has the best mean PSNR at 16, 64,
#                                    128 and 256 tokens (the targets' lengths)
#   gpu_train.sh wait-trainer        returns when odp-train is built (or the build has failed, with its errors)
#   gpu_train.sh wait-build          returns when the background build has finished
#   gpu_train.sh wait                returns when the trainer has exited (then export)
#   gpu_train.sh export [CHECKPOINT] fit entropy tables, split the fp16 model into <= 15 MiB parts in $OUT
#   gpu_train.sh finish RUN_DIR...   the lease's last call in one: wait for every run, pick the best, export
#                                    it, and bring every run's log out (train-<name>.log)
#   gpu_train.sh state I             part group I (0, 1, 2, ...) of the train state (--resume): at most 4 parts
#                                    of 15.9 MB a call, within the 64 MiB a call brings back; prints how many
# RUN=DIR selects the run directory (default /root/run), so that two runs can train side by side.
set -euo pipefail
data=/root/data run=${RUN:-/root/run} build=/root/build-train source=/root/src
case "${1:-}" in
  unpack)
    mkdir -p "$data" && tar -xf "$2" -C "$data" && echo "$(find "$data" -type f | wc -l) files in $data" ;;
  build)
    prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
    # The background build outlives this call, and every later call replaces the working tree it runs in
    # (run 8's build failed on headers that had vanished under it): build from a copy that stays put.
    rm -rf "$source" && mkdir -p "$source" && tar --exclude=./.carry -cf - . | tar -xf - -C "$source"
    # Little CMS comes in .deps (Debian's liblcms2-dev and liblcms2-2 unpacked): its pkg-config file names /usr.
    pc=$source/.deps/usr/lib/x86_64-linux-gnu/pkgconfig
    if [ -f "$pc/lcms2.pc" ]; then
      sed -i "s|^prefix=.*|prefix=$source/.deps/usr|" "$pc/lcms2.pc" && export PKG_CONFIG_PATH="$pc"
    fi
    # The same configuration as bench/throughput/run_gpu.sh, so that ODP_BUILD_DIR=$build ODP_SOURCE_DIR=$source
    # reuses this build.
    cmake -S "$source" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DODP_WITH_WEBP=OFF \
      -DODP_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc > /root/configure.log 2>&1 ||
      { tail -20 /root/configure.log; exit 1; }
    # odp-train first, so that training can start as soon as its tool exists; then the GPU benchmark's targets,
    # odp-bench on its own (it needs more libraries, and a failure there must not stop the others).
    rm -f /root/odp-train.built
    (setsid nohup bash -c "cmake --build '$build' -j $(nproc) --target odp-train && touch /root/odp-train.built &&
      cmake --build '$build' -j $(nproc) --target test_cuda test_model odp-throughput odpenc odpdec;
      cmake --build '$build' -j $(nproc) --target odp-bench" > /root/build.log 2>&1 &)
    echo "building in the background: tail /root/build.log" ;;
  start)
    shift
    mkdir -p "$run"
    [ -x "$build/train/odp-train" ] || { echo "odp-train not built yet"; tail -3 /root/build.log; exit 1; }
    (cd "$run" && setsid nohup "$build/train/odp-train" train --data "$data" --out "$run" --device cuda "$@" \
      > "$run/train.log" 2>&1 &)
    echo "training started: $run/train.log" ;;
  status)
    shift
    for other in "$@"; do
      echo "== $other"; grep -E "^#|^eval" "$other/train.log" | tail -4; tail -n 1 "$other/train.log"
    done
    echo "== $run"; grep -E "^#|^eval" "$run/train.log" | tail -8; tail -n 2 "$run/train.log"
    # Every poll also brings the latest checkpoint out: if the machine is given back before `export`, the
    # training up to that checkpoint is not lost (run 4 was saved this way).
    if [ -n "${OUT:-}" ] && [ -f "$run/checkpoint-fp16.safetensors" ]; then
      split -b 15M -d "$run/checkpoint-fp16.safetensors" "$OUT/checkpoint-fp16.safetensors.part"
      md5sum "$run/checkpoint-fp16.safetensors"
    fi
    for trace in "$run"/*.json; do
      [ -f "$trace" ] && [ -n "${OUT:-}" ] && [ ! -f "$trace.sent" ] && gzip -c "$trace" > "$OUT/$(basename "$trace").gz" &&
        touch "$trace.sent" && echo "trace $(basename "$trace").gz"
    done
    true ;;  # a trace already sent is no failure of the poll
  state)
    # Split once per saved state (the trainer replaces the file at every checkpoint: split what is there now).
    [ -f "$run/train-state.safetensors" ] || { echo "no train state yet"; exit 1; }
    if [ ! -f "$run/state-parts/md5" ] || [ "$run/train-state.safetensors" -nt "$run/state-parts/md5" ]; then
      rm -rf "$run/state-parts" && mkdir -p "$run/state-parts"
      split -b 15900000 -d "$run/train-state.safetensors" "$run/state-parts/train-state.safetensors.part"
      md5sum "$run/train-state.safetensors" > "$run/state-parts/md5"
    fi
    parts=("$run"/state-parts/train-state.safetensors.part*)
    for ((i = ${2:?group} * 4; i < ${2} * 4 + 4 && i < ${#parts[@]}; ++i)); do cp "${parts[$i]}" "${OUT:?}/"; done
    echo "${#parts[@]} parts in all; $(cat "$run/state-parts/md5")" ;;
  pick)
    shift
    best="" best_score=""
    for dir in "$@"; do
      # The final evaluation's markdown table: "| tokens | PSNR | MS-SSIM |".
      score=$(awk '/^# final evaluation/ { f = 1 } f && /^\| *(16|64|128|256) *\|/ { split($0, c, "|"); s += c[3]; n++ }
                   END { if (n == 4) printf "%.4f", s / n }' "$dir/train.log")
      echo "$dir: mean PSNR at 16, 64, 128, 256 tokens: ${score:-no final evaluation}" >&2
      if [ -n "$score" ] && { [ -z "$best" ] || awk -v a="$score" -v b="$best_score" 'BEGIN { exit !(a > b) }'; }; then
        best=$dir best_score=$score
      fi
    done
    [ -n "$best" ] || { echo "no finished run among: $*" >&2; exit 1; }
    echo "$best" ;;
  wait-trainer)
    # Training can start while the rest of the build goes on.
    while [ ! -f /root/odp-train.built ] && { pgrep -x ninja > /dev/null || pgrep -x cmake > /dev/null; }; do sleep 3; done
    [ -f /root/odp-train.built ] || { echo "odp-train failed to build:"; grep -B2 -A12 -m3 "error" /root/build.log; exit 1; }
    echo "odp-train built" ;;
  wait-build)
    while pgrep -x ninja > /dev/null || pgrep -x cmake > /dev/null; do sleep 5; done
    tail -n 1 /root/build.log ;;
  wait)
    # -x matches the process name only: `pgrep -f "odp-train train"` also matches the shell running this line.
    while pgrep -x odp-train > /dev/null; do sleep 5; done
    grep -E "^# (final|saved)" "$run/train.log" | tail -2 ;;
  export)
    mkdir -p "$run"
    "$build/train/odp-train" tables --model "${2:-$run/checkpoint-fp16.safetensors}" --data "$data" \
      --out "$run/odp.safetensors" --samples 16000 --device cuda | tail -2
    split -b 15M -d "$run/odp.safetensors" "${OUT:?}/odp.safetensors.part"
    [ ! -f "$run/train.log" ] || cp "$run/train.log" "$OUT/"
    md5sum "$run/odp.safetensors" ;;
  finish)
    # One call instead of three: every 30 s between calls is a chance to lose the machine (run 7 lost its end so).
    shift
    while pgrep -x odp-train > /dev/null; do sleep 5; done
    best=$(bash "$0" pick "$@")
    echo "picked $best"
    for dir in "$@"; do
      [ ! -f "$dir/train.log" ] || { cp "$dir/train.log" "${OUT:?}/train-$(basename "$dir").log"; echo "$dir $(grep '^eval' "$dir/train.log" | tail -1)"; }
    done
    RUN=$best bash "$0" export ;;
  *) sed -n '2,12p' "$0"; exit 1 ;;
esac
