#!/bin/bash
# edge_roundtrip.sh PROFGATE WORKDIR — hand-encoded edge-case profiles (tests/go/profgen edge)
# plus the checked-in profiles of other producers (tests/data/roundtrip), round-tripped by
# roundtrip.py.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PROFGATE WORKDIR" >&2; exit 2; }
source "$(dirname "$0")/lib.sh"
profgate="$(realpath "$1")" work="$2"
rm -rf "$work" && mkdir -p "$work"
pg_build_profgen "$(dirname "$work")" "$work/profgen"
"$work/profgen" edge "$work/profiles"
pg_go_tool_env
export PPROF_TMPDIR="$work"
exec "$PYTHON" -B "$PG_RT_DIR/roundtrip.py" "$profgate" "$work/rt" "$work"/profiles/* \
  "$PG_SRC_ROOT"/tests/data/roundtrip/*.pb.gz
