#!/bin/bash
# no_bare_minus_one.sh ROOT — fails when a `return -1;` appears in the C sources of
# pipeline/, receivers/, processors/, exporters/ or extensions/ under ROOT, unless the line
# is in tests/lint/return_minus_one.allow ("path: statement", the statement as written,
# leading blanks dropped). -1 is not a status code (pipeline/core/err.h): a status is one of
# the PG_E* codes, a "none" result gets a named constant. An allow-list entry that matches
# nothing fails too, so the list stays exact.
# no_bare_minus_one.sh --selftest — checks that the check finds a planted `return -1;`.
set -uo pipefail

dirs=(pipeline receivers processors exporters extensions)
pattern='return[[:space:]]*[(]?[[:space:]]*-[[:space:]]*1[[:space:]]*[)]?[[:space:]]*;'

check() {
    local root="$1" allow="$2" bad=0
    declare -A allowed=() used=()
    if [ -f "$allow" ]; then
        while IFS= read -r line; do
            case "$line" in '' | '#'*) continue ;; esac
            allowed["$line"]=1
        done <"$allow"
    fi
    local present=()
    for d in "${dirs[@]}"; do [ -d "$root/$d" ] && present+=("$d"); done
    [ ${#present[@]} -gt 0 ] || { echo "no_bare_minus_one: no source folders under $root"; return 2; }
    while IFS= read -r hit; do
        [ -n "$hit" ] || continue
        local path="${hit%%:*}" rest="${hit#*:}"
        local lineno="${rest%%:*}" text="${rest#*:}"
        text="${text#"${text%%[![:space:]]*}"}"
        local key="$path: $text"
        if [ -n "${allowed[$key]:-}" ]; then
            used["$key"]=1
        else
            echo "$path:$lineno: bare 'return -1;' (return a PG_E* status, or a named constant): $text"
            bad=1
        fi
    done < <(cd "$root" && grep -rnE --include='*.c' --include='*.h' "$pattern" "${present[@]}")
    for key in "${!allowed[@]}"; do
        if [ -z "${used[$key]:-}" ]; then
            echo "$allow: entry matches nothing (remove it): $key"
            bad=1
        fi
    done
    return $bad
}

if [ "${1:-}" = "--selftest" ]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/pipeline/core" "$tmp/receivers/x"
    printf 'static int f(void)\n{\n    return PG_EINVAL;\n}\n' >"$tmp/pipeline/core/ok.c"
    check "$tmp" /dev/null >/dev/null || { echo "selftest: a clean tree was refused"; exit 1; }
    printf 'int g(int x)\n{\n    if (x) return -1;\n    return ( -1 ) ;\n}\n' >"$tmp/receivers/x/bad.c"
    out="$(check "$tmp" /dev/null)" && { echo "selftest: planted return -1 not found"; exit 1; }
    [ "$(grep -c 'bare' <<<"$out")" = 2 ] || { echo "selftest: expected 2 findings, got: $out"; exit 1; }
    printf 'receivers/x/bad.c: if (x) return -1;\nreceivers/x/bad.c: return ( -1 ) ;\n' >"$tmp/allow"
    check "$tmp" "$tmp/allow" >/dev/null || { echo "selftest: allow-list not honoured"; exit 1; }
    printf 'receivers/x/bad.c: return -1;\n' >>"$tmp/allow"
    check "$tmp" "$tmp/allow" >/dev/null && { echo "selftest: stale allow-list entry not reported"; exit 1; }
    echo "selftest: ok"
    exit 0
fi

root="${1:?usage: no_bare_minus_one.sh ROOT | --selftest}"
check "$root" "$root/tests/lint/return_minus_one.allow" && echo "no bare return -1 outside the allow-list"
