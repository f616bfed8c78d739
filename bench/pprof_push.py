"""pprof_push receiver benchmark (make bench, not a test): h2load posts one ~50 KB gzip
pprof (profgen busy small) to profgate `pprof_push` -> `nop` as Pyroscope /ingest
(HTTP/1.1 and h2c) and as Connect push.v1 (protobuf, h2c), 8 connections x 8 streams, and
prints requests/s, MB/s of request bodies, profgate CPU seconds and requests per CPU-second
(= per core), and the status codes. Usage: pprof_push.py PROFGATE PPROF [REQUESTS]"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime"))
import harness as H  # noqa: E402
import pyro_helpers as P  # noqa: E402

CONFIG = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{port}
    workers: 2
    worker_queue: 256
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
      receivers: [pprof_push]
      exporters: [nop]
"""


def cpu_seconds(mport):
    return H.metric(H.scrape(mport), "process_cpu_seconds_total") or 0.0


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return
    binary, pprof = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
    if not shutil.which("h2load"):
        print("bench pprof_push: h2load missing (nghttp2-client)")
        return
    tmp = tempfile.mkdtemp(prefix="pg-bench-push-")
    with open(pprof, "rb") as f:
        raw = f.read()
    push = os.path.join(tmp, "push.bin")
    with open(push, "wb") as f:
        f.write(P.encode_push([([("__name__", "process_cpu"), ("service_name", "bench")], [raw])]))
    port = H.free_port()
    pg, mport = H.start_with_metrics(binary, CONFIG, port=port)
    base = "http://127.0.0.1:%d" % port
    cases = [
        ("ingest h1", pprof, ["--h1"], base + "/ingest?name=bench.cpu%7Benv%3Dprod%7D&format=pprof",
         "application/octet-stream"),
        ("ingest h2c", pprof, [], base + "/ingest?name=bench.cpu%7Benv%3Dprod%7D&format=pprof",
         "application/octet-stream"),
        ("connect h2c", push, [], base + P.PUSH_PATH, "application/proto"),
        ("connect h1", push, ["--h1"], base + P.PUSH_PATH, "application/proto"),
    ]
    print("bench pprof_push: body %d bytes (gzip pprof), %d requests per case, 8 conns x 8 streams"
          % (len(raw), n))
    try:
        for name, body, extra, url, ct in cases:
            c0 = cpu_seconds(mport)
            r = subprocess.run(["h2load", "-n", str(n), "-c", "8", "-m", "8", "-d", body,
                                "-H", "content-type: " + ct] + extra + [url],
                               capture_output=True, timeout=600)
            out = r.stdout.decode()
            cpu = cpu_seconds(mport) - c0
            fin = re.search(r"finished in ([0-9.]+)(m?s), ([0-9.]+) req/s", out)
            codes = re.search(r"status codes: (.*)", out)
            if not fin:
                print("  %-12s h2load failed: %s" % (name, out[-300:]))
                continue
            secs = float(fin.group(1)) / (1000 if fin.group(2) == "ms" else 1)
            rps = float(fin.group(3))
            mbs = rps * os.path.getsize(body) / 1e6
            per_core = n / cpu if cpu > 0 else float("nan")
            print("  %-12s %8.0f req/s  %6.1f MB/s  %.2fs  profgate CPU %.2fs = %6.0f req/s per core  [%s]"
                  % (name, rps, mbs, secs, cpu, per_core, codes.group(1) if codes else "?"))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
