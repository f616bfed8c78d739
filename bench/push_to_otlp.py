"""End-to-end benchmark (make bench, not a test): Pyroscope /ingest pushes of a busy Go
profile (profgen busy: ~50 KB and ~1 MB uncompressed, sent gzipped as SDKs do, raw pprof
body) into profgate A (`pprof_push` -> `otlp` exporter, gzip) -> a grpcio OTLP sink in this
process (tests/runtime/grpc_sink.py). Each push carries a sequence number in its labels,
which becomes a resource attribute the sink finds in the request it receives, so the added
latency is measured per profile: push sent (client clock) -> request received by the sink
(same clock), i.e. receive + decode + queue + encode + gzip + gRPC send.

Per size, two phases: `load` (INFLIGHT clients pushing back to back for SECONDS: throughput;
a push is answered once accepted, so its latency there is mostly time in A's sending queue
at saturation) and `serial` (one push at a time, the next sent once the sink has the
previous one, for SECONDS / 2: the added latency of an unloaded A). Prints
profiles/s delivered, A's CPU per profile and profiles/s per core of A (delivered / A's
CPU seconds: the client and the sink run on the same machine, so wall-clock throughput is
shared with them), p50/p99 added latency, and A's peak RSS (VmHWM).
Usage: push_to_otlp.py PROFGATE PPROF_50KB PPROF_1MB [SECONDS [INFLIGHT]]"""
import gzip
import http.client
import os
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime"))
sys.path.insert(0, HERE)
import harness as H  # noqa: E402
from grpc_sink import Backend  # noqa: E402
from otlp_grpc import cpu_seconds  # noqa: E402
from pipeline import status_kb  # noqa: E402

A = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{port}
exporters:
  otlp:
    endpoint: 127.0.0.1:{sink}
    tls:
      insecure: true
    sending_queue:
      num_consumers: 4
""" + H.service_yaml("{metrics}", ["pprof_push"], ["otlp"], log_level="warn")

SEQ = re.compile(rb"pgseq(\d{9})")


class Latencies:
    """Push send times by sequence number, matched with the sink's receive times."""

    def __init__(self):
        self.sent, self.got, self.lock = {}, {}, threading.Lock()

    def record(self, now, md, request):
        m = SEQ.search(request)
        if m:
            with self.lock:
                self.got[int(m.group(1))] = now

    def added(self, seqs):
        with self.lock:
            return sorted(self.got[s] - self.sent[s] for s in seqs if s in self.got)

    def count(self, seqs):
        with self.lock:
            return sum(1 for s in seqs if s in self.got)


def pusher(port, body, lat, seqs, end, errors, paced):
    """Pushes body with fresh sequence numbers from seqs (an iterator) until time end; when
    paced, each push waits for the previous one to reach the sink."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while time.time() < end:
        with lat.lock:
            seq = next(seqs)
            lat.sent[seq] = time.time()
        try:
            conn.request("POST", "/ingest?format=pprof&name=bench.app%%7Bseq%%3Dpgseq%09d%%7D" % seq, body=body,
                         headers={"Content-Type": "application/octet-stream"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                errors.append(r.status)
            elif paced:
                H.wait_until(lambda: lat.count([seq]), timeout=60, step=0.0005, what="push %d at the sink" % seq)
        except (OSError, http.client.HTTPException, AssertionError) as e:
            errors.append(str(e))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.close()


def phase(a, port, body, lat, counter, seconds, inflight, paced):
    """One measured phase; returns (delivered, wall s, A CPU s, added latencies, errors)."""
    first = next(counter)
    c0, t0 = cpu_seconds(a.proc.pid), time.time()
    errors = []
    threads = [threading.Thread(target=pusher, args=(port, body, lat, counter, t0 + seconds, errors, paced))
               for _ in range(inflight)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with lat.lock:
        seqs = [s for s in lat.sent if s > first]
    try:
        H.wait_until(lambda: lat.count(seqs) >= len(seqs), timeout=120, step=0.02, what="every push at the sink")
    except AssertionError:
        pass
    wall = max(lat.got.get(s, 0) for s in seqs) - t0 if seqs else seconds
    return len(seqs), lat.count(seqs), wall, cpu_seconds(a.proc.pid) - c0, lat.added(seqs), errors


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1e3 if xs else float("nan")


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return
    binary = os.path.abspath(sys.argv[1])
    files = [("50 KB", sys.argv[2]), ("1 MB", sys.argv[3])]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10
    inflight = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    lat = Latencies()
    sink = Backend(record=lat.record)
    port = H.free_port()
    a, am = H.start_with_metrics(binary, A, port=port, sink=sink.port)
    counter = iter(range(1, 10 ** 9))
    print("pprof_push /ingest -> otlp exporter (gzip) -> grpcio sink; %d pushes in flight for %.0f s, "
          "then one at a time for %.0f s" % (inflight, seconds, seconds / 2))
    try:
        for label, path in files:
            with open(path, "rb") as f:
                body = f.read()
            raw = len(gzip.decompress(body)) if body[:2] == b"\x1f\x8b" else len(body)
            phase(a, port, body, lat, counter, 1, 1, True)  # warm-up
            for name, secs, n, paced in (("load", seconds, inflight, False), ("serial", seconds / 2, 1, True)):
                pushed, got, wall, cpu, added, errs = phase(a, port, body, lat, counter, secs, n, paced)
                print("%-6s %-6s (%d B pprof, %d B gzip): %d pushed, %d at the sink: %.0f profiles/s; "
                      "A CPU %.2f ms/profile = %.0f profiles/s per core; added latency p50 %.1f ms, "
                      "p99 %.1f ms; push errors %d%s"
                      % (label, name, raw, len(body), pushed, got, got / wall if wall > 0 else 0,
                         cpu / got * 1e3 if got else 0, got / cpu if cpu > 0 else 0, pct(added, 0.5),
                         pct(added, 0.99), len(errs), (" (%s)" % errs[:3]) if errs else ""))
        print("A peak RSS %.1f MB; A's send failures %d; machine load average %.1f (%d cores)" % (
            status_kb(a.proc.pid, "VmHWM") / 1024,
            H.metric(H.scrape(am), "profgate_exporter_send_failed_profiles_total") or 0,
            os.getloadavg()[0], os.cpu_count()))
    finally:
        a.stop()
        sink.close()


if __name__ == "__main__":
    main()
