#!/usr/bin/env bash
# Installs what odp needs (Debian packages where apt can reach them) and builds it in Release into build/.
# Idempotent: a second run only rebuilds what changed. Usage: scripts/setup.sh [extra cmake -D options]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

packages=(build-essential cmake ninja-build pkg-config zlib1g-dev libpng-dev libjpeg62-turbo-dev libwebp-dev
          libavif-dev libjxl-dev libzstd-dev liblcms2-dev catch2 nlohmann-json3-dev libtorch-dev libopenblas0-pthread
          libtiff-dev libgif-dev clang libclang-rt-14-dev clang-format)

have_torch_python() { python3 -c 'import torch' >/dev/null 2>&1; }

if command -v apt-get >/dev/null && grep -qi debian /etc/os-release 2>/dev/null; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
# A PyTorch 2.x with CUDA (the GPU machine) wins over Debian's CPU-only LibTorch 1.13.
if have_torch_python; then
  prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  cmake_args+=("-DCMAKE_PREFIX_PATH=$prefix")
  echo "setup: using LibTorch from PyTorch at $prefix"
fi
command -v ninja >/dev/null || cmake_args=(-DCMAKE_BUILD_TYPE=Release "${cmake_args[@]:2}")

build=${ODP_BUILD_DIR:-build}
cmake -S . -B "$build" "${cmake_args[@]}" "$@" >/dev/null
jobs=${ODP_JOBS:-$(nproc)}
time cmake --build "$build" -j "$jobs"
