#!/bin/bash
# format_check.sh ROOT — fails when a C file git tracks under ROOT (outside node_modules)
# differs from what clang-format makes of it with the repo's .clang-format; prints the
# files and the fix (`make format`).
# format_check.sh --selftest — checks that the check fails on a badly formatted file.
set -uo pipefail

check() {
    local root="$1"
    command -v clang-format >/dev/null || { echo "format_check: clang-format is not installed (make deps)"; return 2; }
    local files
    mapfile -t files < <(cd "$root" && git ls-files '*.c' '*.h' 2>/dev/null | grep -v node_modules)
    if [ ${#files[@]} -eq 0 ]; then
        mapfile -t files < <(cd "$root" && find . -name '*.[ch]' -not -path '*/node_modules/*' -not -path './build*' | sed 's|^\./||')
    fi
    [ ${#files[@]} -gt 0 ] || { echo "format_check: no C files under $root"; return 2; }
    # One clang-format process checks every file (--dry-run -Werror names each file that
    # differs); a loop of one process per file is too slow on a loaded machine.
    local out
    if ! out=$(cd "$root" && clang-format --style=file --dry-run -Werror "${files[@]}" 2>&1); then
        printf '%s\n' "$out" | grep -o '^[^:]*\.[ch]:' | sort -u | sed 's/:$//; s/^/not formatted: /'
        echo "format_check: files differ from clang-format; run 'make format'"
        return 1
    fi
    echo "format_check: ${#files[@]} files formatted"
    return 0
}

if [ "${1:-}" = "--selftest" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    cp "$(dirname "$0")/../../.clang-format" "$tmp/"
    printf 'int f(void) {\n    return 0;\n}\n' >"$tmp/good.c"
    clang-format --style=file -i "$tmp/good.c" 2>/dev/null
    check "$tmp" >/dev/null || { echo "selftest: a formatted file was flagged"; exit 1; }
    printf 'int   g( void ){return 1;}\n' >"$tmp/bad.c"
    if check "$tmp" >/dev/null; then echo "selftest: a badly formatted file passed"; exit 1; fi
    echo "1 passed, 0 failed"
    exit 0
fi
check "${1:?usage: format_check.sh ROOT | --selftest}"
