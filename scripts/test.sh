#!/usr/bin/env bash
# The README's test command: set up, build, run the test suite (ctest), check the include layers and the
# formatting, build a C program against an installed odp, and run a short fuzz.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
build=${ODP_BUILD_DIR:-build}
time ctest --test-dir "$build" --output-on-failure -j "${ODP_JOBS:-$(nproc)}"
bash scripts/check_layers.sh
bash scripts/format.sh --check

# The library as another program sees it: install into a temporary prefix, build examples/odp_roundtrip.c with
# pkg-config alone, run it with a tiny random model, and check that the installed tools find the installed model.
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(dirname "$(find "$prefix" -name odp.pc | head -n 1)")
libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir odp)
cc -std=c99 -Wall -Wextra -Werror examples/odp_roundtrip.c $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs odp) \
   -Wl,-rpath,"$libdir" -o "$prefix/odp_roundtrip"
"$build/tests/cli/odp_make_test_model" "$prefix/tiny.safetensors" 1
"$prefix/odp_roundtrip" "$prefix/tiny.safetensors"
if [ -f model/weights/odp.safetensors ]; then
  { printf 'P6\n8 8\n255\n'; head -c 192 /dev/zero; } > "$prefix/black.ppm"
  used=$(env -u ODP_MODEL "$prefix/bin/odpenc" -v --device cpu -o "$prefix/black.odp" "$prefix/black.ppm" 2>&1 |
         sed -n 's/^odpenc: model //p' | head -n 1)  # the path line; the next says the id, device and time
  if [ "$used" != "$prefix/bin/../share/odp/odp.safetensors" ]; then
    echo "test.sh: the installed odpenc used the model '$used', not the installed one" >&2
    exit 1
  fi
  echo "test.sh: the installed tools use the installed model ($used)"
fi

if [ -x scripts/fuzz.sh ]; then bash scripts/fuzz.sh 30; fi
