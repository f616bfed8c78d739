#!/bin/bash
# compare_selftest.sh WORKDIR — tests the test: profgen pairs writes eq-* pairs (same meaning,
# different bytes) and ne-* pairs (one semantic change each); pprofcmp must call them equal and
# different, and the go tool pprof oracle must call every eq-* pair equal. Finally roundtrip.py
# itself is run with fake_profgate.py (which returns a chosen file) and must pass an eq-* pair
# and fail ne-* pairs.
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
"$PYTHON" -B "$PG_RT_DIR/pprofcmp.py" selftest "$work/pairs" || status=1
for a in "$work"/pairs/eq-*.a.pb.gz; do
  n="$(basename "$a" .a.pb.gz)"
  if out="$("$PYTHON" -B "$PG_RT_DIR/gooracle.py" compare "$a" "$work/pairs/$n.b.pb.gz")"; then
    echo "PASS go-oracle $n: equal"
  else
    echo "FAIL go-oracle $n: expected equal"; echo "$out" | sed 's/^/    /'; status=1
  fi
done
fake="$work/fake-profgate"
printf '#!/bin/bash\nexec %q -B %q "$@"\n' "$PYTHON" "$PG_RT_DIR/fake_profgate.py" > "$fake" && chmod +x "$fake"
for n in eq-encoding ne-column ne-doc-url ne-label-unit ne-sample-order; do
  rc=0
  FAKE_BACK="$work/pairs/$n.b.pb.gz" "$PYTHON" -B "$PG_RT_DIR/roundtrip.py" "$fake" "$work/rt-$n" \
    "$work/pairs/$n.a.pb.gz" > "$work/rt-$n.log" 2>&1 || rc=$?
  # ne-*: must fail by a structural difference, not by a crash of the harness
  if { [ "${n%%-*}" = eq ] && [ $rc -eq 0 ]; } ||
     { [ "${n%%-*}" = ne ] && [ $rc -eq 1 ] && grep -q '\[A structural\]' "$work/rt-$n.log"; }; then
    echo "PASS harness $n: roundtrip.py exit $rc"
  else
    echo "FAIL harness $n: roundtrip.py exit $rc"; sed 's/^/    /' "$work/rt-$n.log"; status=1
  fi
done
exit $status
