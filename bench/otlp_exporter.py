"""otlp exporter benchmark (make bench, not a test): a Python grpcio load client sends
Go-shaped ~50 KB and ~1 MB ExportProfilesServiceRequests to profgate A (`otlp` receiver ->
`otlp` exporter, gzip unless PG_BENCH_COMPRESSION=none), which exports them to profgate B
(`otlp` receiver -> `nop`), with 8 calls in flight. Prints, per size: profiles/s delivered
to B, MB/s, the client's latency into A (p50/p99), A's export latency (send_latency
histogram: mean), A's CPU milliseconds per profile exported (receive + decode + encode +
gzip + send), the client's errors by gRPC status and the batches A's queue refused, and
A's peak RSS. The exporter runs on A's consumer threads, so A's CPU per profile bounds
what one core can export.
A's sending queue waits for room when full (block_on_overflow), so the client is slowed
down instead of refused and the bench measures throughput; PG_BENCH_QUEUE=refuse keeps
the default (a full queue refuses with UNAVAILABLE, which the client would retry).
Usage: otlp_exporter.py PROFGATE [SECONDS_PER_SIZE]"""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime"))
sys.path.insert(0, HERE)
import harness as H  # noqa: E402
from otlp_grpc import build_request, cpu_seconds, load, modules  # noqa: E402
from pipeline import status_kb  # noqa: E402

A = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{port}
        max_recv_msg_size_mib: 8
exporters:
  otlp:
    endpoint: 127.0.0.1:{bport}
    tls:
      insecure: true
    sending_queue:
      num_consumers: 4
service:
  telemetry:
    logs:
      level: warn
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [otlp]
"""
B = A.replace("""  otlp:
    endpoint: 127.0.0.1:{bport}
    tls:
      insecure: true
    sending_queue:
      num_consumers: 4
""", "  nop:\n").replace("exporters: [otlp]", "exporters: [nop]")


def main():
    global A
    binary = os.path.abspath(sys.argv[1])
    compression = os.environ.get("PG_BENCH_COMPRESSION") or "gzip"
    A = A.replace("    tls:\n", "    compression: %s\n    tls:\n" % compression)
    refuse = os.environ.get("PG_BENCH_QUEUE") == "refuse"
    if not refuse:
        A = A.replace("      num_consumers: 4\n", "      num_consumers: 4\n      block_on_overflow: true\n")
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    tmp = tempfile.mkdtemp(prefix="pg-bench-otlpx-")
    svc = modules(tmp)
    reqs = [(label, build_request(svc, n)) for label, n in [("50 KB", 260), ("1 MB", 13600)]]
    bport, aport = H.free_port(), H.free_port()
    b, bm = H.start_with_metrics(binary, B, port=bport, bport=0)
    a, am = H.start_with_metrics(binary, A, port=aport, bport=bport)
    time.sleep(0.5)
    target = "127.0.0.1:%d" % aport

    def counters():
        sa, sb = H.scrape(am), H.scrape(bm)
        return (H.metric(sb, "profgate_receiver_accepted_profiles_total", receiver="otlp") or 0,
                H.metric(sa, "profgate_exporter_send_latency_seconds_sum", exporter="otlp") or 0,
                H.metric(sa, "profgate_exporter_send_latency_seconds_count", exporter="otlp") or 0,
                H.metric(sa, "profgate_exporter_enqueue_failed_profiles_total", exporter="otlp") or 0)
    try:
        print("otlp receiver -> otlp exporter (%s, queue %s when full) -> profgate B (otlp -> nop); "
              "grpcio client, 8 calls in flight, %.0f s per size" %
              (compression, "refuses" if refuse else "blocks", seconds))
        for label, data in reqs:
            load(target, data, 1)  # warm-up
            H.wait_until(lambda: H.metric(H.scrape(am), "profgate_exporter_queue_size", exporter="otlp") == 0,
                         timeout=60, what="queue drained")
            d0, s0, n0, r0 = counters()
            c0 = cpu_seconds(a.proc.pid)
            t0 = time.time()
            lat, errs, codes = load(target, data, seconds)
            H.wait_until(lambda: H.metric(H.scrape(am), "profgate_exporter_queue_size", exporter="otlp") == 0,
                         timeout=120, what="queue drained")
            wall = time.time() - t0
            cpu = cpu_seconds(a.proc.pid) - c0
            d1, s1, n1, r1 = counters()
            got = d1 - d0
            lat.sort()
            n = len(lat)
            if n == 0 or got == 0:
                print("%s: nothing delivered (%d client errors %s)" % (label, errs, codes))
                continue
            print("%-6s (%d bytes): %d profiles delivered in %.1f s: %.0f profiles/s, %.1f MB/s; "
                  "client p50 %.2f ms, p99 %.2f ms; export mean %.2f ms; A CPU %.3f ms/profile "
                  "(%.0f profiles/s per core); client errors %d %s; queue refused %d profiles" %
                  (label, len(data), got, wall, got / wall, got * len(data) / wall / 1e6,
                   lat[n // 2] * 1e3, lat[min(n - 1, int(n * 0.99))] * 1e3,
                   (s1 - s0) / max(1, n1 - n0) * 1e3, cpu / got * 1e3, got / cpu if cpu else 0, errs,
                   codes or "", r1 - r0))
        print("A peak RSS %.1f MB" % (status_kb(a.proc.pid, "VmHWM") / 1024))
    finally:
        a.stop()
        b.stop()


if __name__ == "__main__":
    main()
