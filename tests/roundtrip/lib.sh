# lib.sh — shared helpers for the round-trip scripts and the benchmark (sourced, not run).
# Builds tests/go/profgen offline with the Go cache under the build tree.

PG_SRC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_RT_DIR="$PG_SRC_ROOT/tests/roundtrip"
# Debian's python3 (stdlib only); PYTHON overrides.
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

# pg_build_profgen CACHE_ROOT OUT: builds profgen into OUT, Go caches under CACHE_ROOT.
pg_build_profgen() {
  local cache out
  cache="$(realpath -m "$1")" out="$(realpath -m "$2")"
  command -v go >/dev/null || { echo "error: 'go' not found (Debian package golang-go)" >&2; return 1; }
  mkdir -p "$cache/gocache" "$cache/gopath" "$(dirname "$out")"
  (cd "$PG_SRC_ROOT/tests/go/profgen" &&
    GOCACHE="$cache/gocache" GOPATH="$cache/gopath" GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off \
    GOENV=off GO111MODULE=on CGO_ENABLED=0 GOTOOLCHAIN=local go build -o "$out" .)
}

# pg_go_tool_env: the environment `go tool pprof` runs in (no network, UTC times).
pg_go_tool_env() {
  export GOPROXY=off GOENV=off GOTOOLCHAIN=local TZ=UTC
  export PPROF_TMPDIR="${PPROF_TMPDIR:-${TMPDIR:-/tmp}}"
}
