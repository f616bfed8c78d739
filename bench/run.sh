#!/bin/bash
# run.sh BUILD_DIR — `make bench`: generates a large real Go heap profile (tests/go/profgen
# large) and measures gunzip vs `profgate convert` pprof->OTLP and OTLP->pprof (best of 5,
# MB/s on uncompressed pprof bytes, peak RSS), against the targets. Always exits 0.
set -uo pipefail
build="$(realpath -m "${1:-build}")"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../tests/roundtrip/lib.sh"
profgate="$build/profgate"
if [ ! -x "$profgate" ]; then
  echo "bench: $profgate not found; build first (make build)"; exit 0
fi
work="$build/bench/work"
mkdir -p "$work"
if ! pg_build_profgen "$build/bench" "$work/profgen"; then
  echo "bench: could not build tests/go/profgen"; exit 0
fi
echo "bench: generating a large real heap profile (runtime/pprof, MemProfileRate=1)"
if ! "$work/profgen" large "$work/large.pb.gz"; then
  echo "bench: profgen large failed"; exit 0
fi
"$PYTHON" -B "$here/measure.py" "$profgate" "$work" "$work/large.pb.gz" || echo "bench: measure.py failed"
echo
echo "bench: pipeline (file receiver -> memory_limiter -> file + debug exporters)"
"$PYTHON" -B "$here/pipeline.py" "$profgate" 2000 || echo "bench: pipeline.py failed"
echo
echo "bench: HTTP server stack (h2load, 50 KB POST bodies, 8 connections x 8 streams)"
bash "$here/http.sh" "$build"
exit 0
