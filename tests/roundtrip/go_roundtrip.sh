#!/bin/bash
# go_roundtrip.sh PROFGATE WORKDIR — real runtime/pprof profiles (cpu, heap, allocs, goroutine,
# mutex, block, threadcreate) generated now by tests/go/profgen, round-tripped by roundtrip.py.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PROFGATE WORKDIR" >&2; exit 2; }
source "$(dirname "$0")/lib.sh"
profgate="$(realpath "$1")" work="$2"
rm -rf "$work" && mkdir -p "$work"
pg_build_profgen "$(dirname "$work")" "$work/profgen"
"$work/profgen" real "$work/profiles"
pg_go_tool_env
export PPROF_TMPDIR="$work"
exec "$PYTHON" -B "$PG_RT_DIR/roundtrip.py" "$profgate" "$work/rt" "$work"/profiles/*
