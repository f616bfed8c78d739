#!/bin/bash
# node_roundtrip.sh PROFGATE WORKDIR — real Node.js wall and heap profiles written now with
# @datadog/pprof (tests/node), round-tripped by roundtrip.py. Exits 77 (skip) only when
# tests/node/node_modules is absent (`make deps` installs it).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PROFGATE WORKDIR" >&2; exit 2; }
source "$(dirname "$0")/lib.sh"
profgate="$(realpath "$1")" work="$2"
node_dir="$PG_SRC_ROOT/tests/node"
if [ ! -d "$node_dir/node_modules" ]; then
  echo "SKIP: $node_dir/node_modules is absent (run: npm install --no-audit --no-fund in tests/node)"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
node "$node_dir/write_profiles.js" "$work/profiles"
pg_go_tool_env
export PPROF_TMPDIR="$work"
exec "$PYTHON" -B "$PG_RT_DIR/roundtrip.py" "$profgate" "$work/rt" "$work"/profiles/*
