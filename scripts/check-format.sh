#!/bin/bash
# Fails when a C++ source under src/, apps/, tests/ or bench/ differs from what clang-format
# makes of it with the checked-in .clang-format.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
mapfile -t files < <(find src apps tests bench -name '*.cpp' -o -name '*.hpp' | sort)
status=0
for file in "${files[@]}"; do
    if ! clang-format --style=file --dry-run --Werror "$file" 2>/dev/null; then
        echo "not formatted: $file (run: clang-format -i $file)"
        status=1
    fi
done
echo "checked ${#files[@]} files"
exit $status
