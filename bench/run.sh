#!/bin/bash
# run.sh BUILD_DIR — `make bench`: generates a large real Go heap profile (tests/go/profgen
# large) and label-heavy busy-service profiles of about 50 KB, 1 MB and 5 MB (profgen busy)
# and measures gunzip vs `profgate convert` pprof->OTLP and OTLP->pprof on each (best of 5,
# MB/s on uncompressed pprof bytes, peak RSS), against the targets, then the same
# conversions in-process (bench_translate: conversions per second both ways, no process
# start-up, as a gateway converts); then the component benchmarks, and the deployments end
# to end (pprof push -> OTLP gRPC sink: profiles/s per core, added latency p50/p99, RSS;
# configs/sidecar.yaml at its default load against its budget, PG_BENCH_SIDECAR_SECONDS
# long, 120 by default). Always exits 0.
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
profiles=("$work/large.pb.gz")
for size in small medium large; do
  if "$work/profgen" busy "$size" "$work/busy_$size.pb.gz"; then profiles+=("$work/busy_$size.pb.gz")
  else echo "bench: profgen busy $size failed"; fi
done
"$PYTHON" -B "$here/measure.py" "$profgate" "$work" "${profiles[@]}" || echo "bench: measure.py failed"
echo
echo "bench: pipeline (file receiver -> memory_limiter -> file + debug exporters)"
"$PYTHON" -B "$here/pipeline.py" "$profgate" 2000 || echo "bench: pipeline.py failed"
echo
echo "bench: otlp gRPC receiver (Python grpcio load client -> otlp -> nop)"
"$PYTHON" -B "$here/otlp_grpc.py" "$profgate" 10 || echo "bench: otlp_grpc.py failed"
echo "bench: HTTP server stack (h2load, 50 KB POST bodies, 8 connections x 8 streams)"
bash "$here/http.sh" "$build"
echo
echo "bench: processors resource, filter, tracelink (ns/sample on the 5 MB busy profile)"
if [ -x "$build/bench/bench_processors" ] && [ -f "$work/busy_large.pb.gz" ]; then
  "$build/bench/bench_processors" "$work/busy_large.pb.gz" || echo "bench: bench_processors failed"
else echo "bench: bench_processors or busy_large.pb.gz missing"; fi
echo "bench: pprof_push receiver (h2load: /ingest and Connect push.v1, ~50 KB pprof -> nop)"
if [ -f "$work/busy_small.pb.gz" ]; then
  "$PYTHON" -B "$here/pprof_push.py" "$profgate" "$work/busy_small.pb.gz" \
    || echo "bench: pprof_push.py failed"
else echo "bench: pprof_push skipped (no busy_small profile)"; fi
echo "bench: otlp exporter (grpcio client -> otlp -> otlp exporter -> profgate B -> nop), gzip then none"
"$PYTHON" -B "$here/otlp_exporter.py" "$profgate" 10 || echo "bench: otlp_exporter.py failed"
PG_BENCH_COMPRESSION=none "$PYTHON" -B "$here/otlp_exporter.py" "$profgate" 10 || echo "bench: otlp_exporter.py failed"
echo
echo "bench: loadbalancing exporter (file receiver -> loadbalancing over 4 nop backends vs -> nop)"
"$PYTHON" -B "$here/loadbalancing.py" "$profgate" 200 100 || echo "bench: loadbalancing.py failed"
echo "bench: otlp HTTP receiver (h2load, h2c and HTTP/1.1, 50 KB and 1 MB gzip OTLP -> otlp -> nop)"
"$PYTHON" -B "$here/otlp_http.py" "$profgate" 5 || echo "bench: otlp_http.py failed"
echo "bench: pprof_scrape (one Go scrapetarget on N ports -> pprof_scrape -> nop)"
"$PYTHON" -B "$here/scrape.py" "$profgate" 100 2 20 || echo "bench: scrape.py failed"
"$PYTHON" -B "$here/scrape.py" "$profgate" 1000 15 40 2 || echo "bench: scrape.py failed"
echo "bench: processors (downscale, aggregate: ns/sample on the 5 MB busy profile; aggregate RSS for 1,000 services)"
if [ -x "$build/bench/bench_processors_volume" ] && [ -f "$work/busy_large.pb.gz" ]; then
  "$build/bench/bench_processors_volume" "$work/busy_large.pb.gz" "$work/busy_small.pb.gz" || echo "bench: bench_processors_volume failed"
else
  echo "bench: bench_processors_volume or the busy profiles missing"
fi
echo
echo "bench: deployment end to end (pprof push /ingest -> pprof_push -> otlp exporter -> grpcio sink; 50 KB and 1 MB busy profiles)"
if [ -f "$work/busy_small.pb.gz" ] && [ -f "$work/busy_medium.pb.gz" ]; then
  "$PYTHON" -B "$here/push_to_otlp.py" "$profgate" "$work/busy_small.pb.gz" "$work/busy_medium.pb.gz" 10 \
    || echo "bench: push_to_otlp.py failed"
else echo "bench: push_to_otlp skipped (busy profiles missing)"; fi
echo "bench: sidecar budget (configs/sidecar.yaml, one Go target, ${PG_BENCH_SIDECAR_INTERVAL:-15s} x 5 profile types, ${PG_BENCH_SIDECAR_SECONDS:-120} s)"
"$PYTHON" -B "$here/sidecar.py" "$profgate" || echo "bench: sidecar.py failed"
exit 0
