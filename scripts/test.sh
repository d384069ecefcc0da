#!/usr/bin/env bash
# The README's test command: set up, build, run the test suite (ctest), check the include layers, and run a
# short fuzz.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
build=${ODP_BUILD_DIR:-build}
time ctest --test-dir "$build" --output-on-failure -j "${ODP_JOBS:-$(nproc)}"
bash scripts/check_layers.sh

if [ -x scripts/fuzz.sh ]; then bash scripts/fuzz.sh 30; fi
