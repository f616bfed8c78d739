"""Runtime: memory_limiter measures what the process holds. While the exporter's target
is down, batches pile up in its in-memory queue; once they hold more than limit_mib, the
limiter refuses new data (the file receiver holds its files back, health_check reports
not ready with the reason), and so does tracelink's own span listener (503 with
Retry-After, counted); after a reload with a sane limit and the target fixed, every file
is exported, spans are indexed again and health is back to 200. An idle process is far below a 2 MiB limit
(the resident size, which the limiter no longer reads, is not)."""
import glob
import os
import shutil
import signal
import sys
import time
import urllib.error
import urllib.request

import harness as H

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 50ms
processors:
  memory_limiter:
    limit_mib: {limit}
    spike_limit_mib: 0
    check_interval: 50ms
  tracelink:
    span_index:
      enabled: true
      endpoint: 127.0.0.1:{spans}
      max_entries: 1000
exporters:
  file:
    directory: {dir}/out
    sending_queue:
      num_consumers: 1
""" + H.FAST_RETRY + """extensions:
  health_check:
    endpoint: 127.0.0.1:{health}
"""


def config(d, health, metrics, limit, spans):
    return CONFIG.format(dir=d, health=health, limit=limit, spans=spans) + H.service_yaml(
        metrics, ["file"], ["file"], processors=["memory_limiter", "tracelink"],
        extensions=["health_check"])


def post_spans(port):
    """(status, Retry-After) of a POST /v1/traces of one span to tracelink's listener."""
    span = (b"\x0a\x10" + bytes(range(1, 17)) + b"\x12\x08" + bytes(range(1, 9)) +
            b"\x2a\x01s")                                     # trace_id, span_id, name
    body = b"\x0a" + bytes([len(span) + 4]) + b"\x12" + bytes([len(span) + 2]) + \
        b"\x12" + bytes([len(span)]) + span                    # resource_spans.scope_spans.spans
    req = urllib.request.Request("http://127.0.0.1:%d/v1/traces" % port, data=body, method="POST",
                                 headers={"Content-Type": "application/x-protobuf"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Retry-After")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Retry-After")


def gauge(mport, name, **labels):
    status, body = H.http_get("http://127.0.0.1:%d/metrics" % mport)
    if status != 200:
        return None
    samples, _ = H.parse_prometheus(body)
    return H.metric(samples, name, **labels)


def main():
    binary = sys.argv[1]
    c = H.Checks()
    health, mport, spans = H.free_port(), H.free_port(), H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    os.makedirs(os.path.join(d, "in"))
    pg.write_config(config(d, health, mport, 2, spans))
    pg.start()
    ready = lambda: H.http_get("http://127.0.0.1:%d/ready" % health)
    H.wait_until(lambda: ready()[0] == 200, what="ready while idle")
    rss = gauge(mport, "process_resident_memory_bytes") or 0
    heap = gauge(mport, "profgate_process_heap_in_use_bytes") or 0
    print("idle: rss %d, heap in use %d" % (rss, heap))
    # the target goes down: batches stay queued in memory
    shutil.rmtree(os.path.join(d, "out"), ignore_errors=True)
    with open(os.path.join(d, "out"), "w") as f:
        f.write("not a folder")
    written = 0
    end = time.time() + 30
    while ready()[0] != 503 and time.time() < end:
        with open(os.path.join(d, "in", "big%d.pb" % written), "wb") as f:
            f.write(H.tiny_pprof("ballast%d" % written, 1, n=1000))
        written += 1
        time.sleep(0.15)
    c.check(ready()[0] == 503, "503 once queued batches hold more than the limit")
    c.check("memory" in ready()[1], "the 503 body says why: %s" % ready()[1])
    heap = gauge(mport, "profgate_process_heap_in_use_bytes") or 0
    held = gauge(mport, "profgate_batch_bytes") or 0
    c.check(heap >= (2 << 20) * 8 // 10, "still refusing: memory in use at least limit - spike (%d)" % heap)
    c.check(held > 1 << 20, "most of it is queued batches (%d bytes)" % held)
    queued = gauge(mport, "profgate_exporter_queue_size", exporter="file")
    with open(os.path.join(d, "in", "late.pb"), "wb") as f:
        f.write(H.tiny_pprof("late_fn", 7))
    time.sleep(0.5)
    c.check(gauge(mport, "profgate_exporter_queue_size", exporter="file") == queued,
            "nothing accepted while refusing")
    c.check(post_spans(spans) == (503, "1"), "tracelink's listener refuses spans: 503, Retry-After 1")
    c.check(gauge(mport, "profgate_tracelink_refused_requests_total") == 1, "the refusal counted")
    c.check(not gauge(mport, "profgate_tracelink_spans_indexed_total"), "nothing indexed while refusing")
    # the target is back and the limit sane
    os.unlink(os.path.join(d, "out"))
    pg.write_config(config(d, health, mport, 4096, spans))
    pg.send_signal(signal.SIGHUP)
    H.wait_until(lambda: ready()[0] == 200, what="ready after raising the limit")
    H.wait_until(lambda: len(glob.glob(d + "/out/*")) >= written + 1, timeout=30,
                 what="every file exported (%d)" % (written + 1))
    late = False
    for p in glob.glob(d + "/out/*"):
        with open(p, "rb") as f:
            late = late or b"late_fn" in f.read()
    c.check(late, "the held-back file was exported")
    c.check(post_spans(spans)[0] == 200, "spans accepted again below the limit")
    c.check(gauge(mport, "profgate_tracelink_spans_indexed_total") == 1, "and indexed")
    H.finish(c, pg)


if __name__ == "__main__":
    main()
