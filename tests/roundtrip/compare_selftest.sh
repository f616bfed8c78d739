#!/bin/bash
# compare_selftest.sh WORKDIR — tests the test: profgen pairs writes eq-* pairs (same meaning,
# different bytes) and ne-* pairs (one semantic change each); pprofcmp must call them equal and
# different, and the go tool pprof oracle must call every eq-* pair equal.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 WORKDIR" >&2; exit 2; }
source "$(dirname "$0")/lib.sh"
work="$1"
rm -rf "$work" && mkdir -p "$work"
pg_build_profgen "$(dirname "$work")" "$work/profgen"
"$work/profgen" pairs "$work/pairs"
pg_go_tool_env
export PPROF_TMPDIR="$work"
status=0
python3 -B "$PG_RT_DIR/pprofcmp.py" selftest "$work/pairs" || status=1
for a in "$work"/pairs/eq-*.a.pb.gz; do
  n="$(basename "$a" .a.pb.gz)"
  if out="$(python3 -B "$PG_RT_DIR/gooracle.py" compare "$a" "$work/pairs/$n.b.pb.gz")"; then
    echo "PASS go-oracle $n: equal"
  else
    echo "FAIL go-oracle $n: expected equal"; echo "$out" | sed 's/^/    /'; status=1
  fi
done
exit $status
