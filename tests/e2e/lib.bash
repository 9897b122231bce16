# Helpers for the end-to-end scripts: a fresh data directory, checks that print what failed,
# and a count of checks for the closing line.
set -uo pipefail

IF_BIN=${IF_BIN:?IF_BIN must name the directory holding the built binaries}
IF_SOURCE_DIR=${IF_SOURCE_DIR:?IF_SOURCE_DIR must name the source tree}
imagefactory="$IF_BIN/imagefactory"

work=$(mktemp -d "${TMPDIR:-/tmp}/if-e2e.XXXXXX")
data="$work/data"
passed=0
failed=0
trap 'rm -rf "$work"' EXIT

check() {
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $what" >&2
    fi
}

# json_field FILE EXPRESSION: evaluates a Python expression over the JSON document in FILE,
# bound to d, and prints the result.
json_field() {
    /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
