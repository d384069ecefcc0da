#!/usr/bin/env bash
# Checks that every #include points down the layers: a folder includes only from itself and the folders listed
# before it (the order of the top-level CMakeLists.txt). Prints each violation; exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
layers=(base format cuda imageio model codec api cli train bench)
rank() {
  local i
  for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done
  [ "$1" = include ] && { rank api; return; }  # the public headers belong to the API layer
  echo -1
}
status=0
while IFS= read -r file; do
  from=$(rank "${file%%/*}")
  [ "$from" -ge 0 ] || continue
  while IFS= read -r included; do
    to=$(rank "${included%%/*}")
    if [ "$to" -gt "$from" ]; then
      echo "$file includes $included: ${file%%/*}/ is below ${included%%/*}/"
      status=1
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\/[^"]*\)".*/\1/p' "$file")
done < <(git ls-files '*.h' '*.hpp' '*.c' '*.cc' '*.cpp' '*.cu' '*.cuh')
if [ "$status" = 0 ]; then echo "check_layers: every include points down (${layers[*]})"; fi
exit "$status"
