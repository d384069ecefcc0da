#!/usr/bin/env bash
# Applies .clang-format to every C/C++/CUDA source in the repository; with --check, changes nothing and fails
# (listing what differs) where a file is not formatted. Uses clang-format 14 (Debian's clang-format package).
set -euo pipefail
cd "$(dirname "$0")/.."
format=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$format" ] || { echo "format.sh: clang-format not found (apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.h' '*.hpp' '*.c' '*.cc' '*.cpp' '*.cu' '*.cuh')
if [ "${1:-}" = --check ]; then
  "$format" --dry-run -Werror "${files[@]}"
  echo "format.sh: ${#files[@]} files follow .clang-format"
else
  "$format" -i "${files[@]}"
fi
