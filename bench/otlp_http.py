"""OTLP/HTTP receiver benchmark (make bench, not a test): h2load (nghttp2-client) POSTs gzip
ExportProfilesServiceRequests of ~50 KB and ~1 MB (uncompressed; Go-shaped CPU profiles built
by otlp_grpc.build_request) to profgate `otlp` (protocols.http) -> `nop`, over HTTP/2 (h2c)
and HTTP/1.1, 8 requests in flight, and prints requests/s, MB/s (compressed as sent, and
uncompressed OTLP), p50/p99 latency from h2load's per-request log, profgate CPU seconds per
request and peak RSS, against the issue's targets (one core: >= 2,000 req/s of 50 KB,
>= 100 MB/s of uncompressed OTLP, p99 < 5 ms).
Usage: otlp_http.py PROFGATE [SECONDS_PER_RUN]"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime"))
import harness as H  # noqa: E402
from otlp_grpc import build_request, cpu_seconds, modules  # noqa: E402
from pipeline import status_kb  # noqa: E402

CONFIG = """
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
exporters:
  nop:
service:
  telemetry:
    logs:
      level: warn
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [nop]
"""
PATH = "/v1development/profiles"
RUNS = [("h2c", ["-c", "4", "-m", "2"]), ("HTTP/1.1", ["--h1", "-c", "8", "-m", "1"])]


def h2load(url, body_file, args, seconds, log):
    """Runs h2load for `seconds` (1 s warm-up); returns its stdout."""
    cmd = ["h2load", "-t", "1", "-D", str(seconds), "--warm-up-time", "1", "-d", body_file,
           "-H", "content-type: application/x-protobuf", "-H", "content-encoding: gzip",
           "--log-file", log] + args + [url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout


def latencies(log):
    """Per-request durations (s) of 2xx answers from h2load's log: start, status, microseconds."""
    out, bad = [], 0
    for line in open(log):
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        if parts[1].startswith("2"):
            out.append(int(parts[2]) / 1e6)
        else:
            bad += 1
    return sorted(out), bad


def main():
    binary = os.path.abspath(sys.argv[1])
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if not shutil.which("h2load"):
        print("bench otlp http: h2load missing (Debian nghttp2-client; make deps)")
        return
    tmp = tempfile.mkdtemp(prefix="pg-bench-otlp-http-")
    svc = modules(tmp)
    sizes = [("50 KB", 260), ("1 MB", 13600)]
    port = H.free_port()
    pg, _ = H.start_with_metrics(binary, CONFIG, port=port)
    url = "http://127.0.0.1:%d%s" % (port, PATH)
    results = {}
    try:
        H.wait_until(lambda: pg.alive(), what="profgate up")
        time.sleep(0.3)
        print("otlp HTTP receiver -> nop, h2load (1 thread), gzip bodies, 8 requests in flight, %d s per run"
              % seconds)
        print("idle RSS %.1f MB" % (status_kb(pg.proc.pid, "VmRSS") / 1024))
        for label, n in sizes:
            raw = build_request(svc, n)
            body = gzip.compress(raw, 6)
            bf = os.path.join(tmp, "body.gz")
            with open(bf, "wb") as f:
                f.write(body)
            for proto, args in RUNS:
                log = os.path.join(tmp, "h2load.log")
                if os.path.exists(log):
                    os.unlink(log)
                c0 = cpu_seconds(pg.proc.pid)
                out = h2load(url, bf, args, seconds, log)
                cpu = cpu_seconds(pg.proc.pid) - c0
                lat, bad = latencies(log) if os.path.exists(log) else ([], 0)
                m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", out)
                k = len(lat)
                if k == 0 or not m:
                    print("%-6s %-8s: no successful request\n%s" % (label, proto, out[-800:]))
                    continue
                wall, rps = float(m.group(1)), float(m.group(2))
                p50, p99 = lat[k // 2] * 1e3, lat[min(k - 1, int(k * 0.99))] * 1e3
                results[(label, proto)] = (rps, rps * len(raw) / 1e6, p99, k / cpu if cpu else 0)
                print("%-6s %-8s (%d B raw, %d B gzip): %d req in %.1f s: %.0f req/s, %.1f MB/s sent, "
                      "%.1f MB/s OTLP, p50 %.2f ms, p99 %.2f ms, profgate CPU %.3f ms/req, non-2xx %d"
                      % (label, proto, len(raw), len(body), k, wall, rps, rps * len(body) / 1e6,
                         rps * len(raw) / 1e6, p50, p99, cpu / k * 1e3, bad))
        print("peak RSS %.1f MB" % (status_kb(pg.proc.pid, "VmHWM") / 1024))
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("targets (one core; h2load and profgate share this machine's cores; 'CPU-bound' is\n"
          "requests per profgate CPU second):")
    for proto, _ in RUNS:
        small, big = results.get(("50 KB", proto)), results.get(("1 MB", proto))
        if small:
            print("  %-8s 50 KB: %.0f req/s (target >= 2000: %s; CPU-bound on one core: %.0f req/s), "
                  "p99 %.2f ms (target < 5: %s)"
                  % (proto, small[0], "met" if small[0] >= 2000 else "MISSED", small[3], small[2],
                     "met" if small[2] < 5 else "MISSED"))
        if big:
            print("  %-8s 1 MB: %.1f MB/s uncompressed OTLP (target >= 100: %s; CPU-bound on one core: "
                  "%.1f MB/s), p99 %.2f ms" % (proto, big[1], "met" if big[1] >= 100 else "MISSED",
                                              big[1] / big[0] * big[3], big[2]))


if __name__ == "__main__":
    main()
