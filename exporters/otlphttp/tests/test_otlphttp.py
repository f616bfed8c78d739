# ctest: TIMEOUT 300 RUN_SERIAL TRUE
"""Runtime: the otlphttp exporter against a Python http.server backend scripted per
request. Go profiles (the OTLP corpus) go file receiver -> otlphttp; the backend parses
what it gets with modules generated from proto/ and compares it with the source.
- proto + gzip: every profile arrives equal to its source, with the version header;
- 429 + Retry-After: 1, then 503, then 200: retried, the server's delay honoured;
- 400, 401, 403, 413: dropped after one request, counted by reason, logged once with the
  server's message;
- a 200 with partial_success: rejected profiles counted and logged;
- a 400 naming the version header: logged as a version refusal;
- json + zstd: the JSON body parses to the source;
- a persistent queue survives a backend outage and a kill -9 of profgate;
- headers_from_metadata: X-Scope-OrgID kept by the otlp receiver (gRPC in from grpcio) goes
  out with its batch, and batching never mixes two tenants in one request."""
import glob
import gzip
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import harness as H

CORPUS = sorted(glob.glob(os.path.join(H.DATA, "otlp", "go_*.otlp")))
PATH = "/v1development/profiles"


class Backend:
    """An OTLP/HTTP server on a free port: answers from `plan` (a list of (status, headers,
    body) consumed one per request; 200 with an empty response when empty) and records every
    request as (time, headers {lower: value}, body after Content-Encoding)."""

    def __init__(self, port=None):
        self.plan, self.got, self.lock = [], [], threading.Lock()
        self.port = port or H.free_port()
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                enc = self.headers.get("Content-Encoding", "")
                if enc == "gzip":
                    raw = gzip.decompress(raw)
                elif enc == "zstd":
                    raw = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                with backend.lock:
                    backend.got.append((time.time(), self.path, hdrs, raw))
                    st, extra, body = backend.plan.pop(0) if backend.plan else (200, {}, b"")
                self.send_response(st)
                ctype = extra.pop("Content-Type", "application/x-protobuf")
                self.send_header("Content-Type", ctype)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests(self):
        with self.lock:
            return list(self.got)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 50ms
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:{port}
{extra}
    sending_queue:
      num_consumers: 1
{queue}
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 100ms
      max_elapsed_time: 0s
""" + H.service_yaml("{metrics}", ["file"], ["otlphttp"])


def proto_modules():
    tmp = tempfile.mkdtemp(prefix="pg-otlphttp-pb-")
    H.otlp_proto_modules(tmp)
    from opentelemetry.proto.profiles.v1development import profiles_pb2
    from opentelemetry.proto.collector.profiles.v1development import profiles_service_pb2
    return profiles_pb2, profiles_service_pb2


def source(pb, path):
    d = pb.ProfilesData()
    d.ParseFromString(open(path, "rb").read())
    return d


def as_data(pb, svc, raw):
    """A request's bytes as ProfilesData (the two messages share field numbers 1 and 2)."""
    r = svc.ExportProfilesServiceRequest()
    r.ParseFromString(raw)
    d = pb.ProfilesData()
    d.ParseFromString(r.SerializeToString())
    return d


def drop(pg, name, src):
    tmp = os.path.join(pg.dir, name + ".part")
    shutil.copy(src, tmp)
    os.rename(tmp, os.path.join(pg.dir, "in", name))


def wait_requests(be, n, what):
    return H.wait_until(lambda: len(be.requests()) >= n and be.requests(), what=what)


def test_rules(c, binary, pb, svc):
    be = Backend()
    pg, mport = H.start_with_metrics(binary, CONFIG, port=be.port, extra="", queue="")
    try:
        # 1. delivered as sent, with the version header
        drop(pg, "a.otlp", CORPUS[0])
        got = wait_requests(be, 1, "first request")
        t, path, hdrs, raw = got[0]
        c.check(path == PATH, "POST to %s (%s)" % (PATH, path))
        c.check(hdrs.get("content-type") == "application/x-protobuf", "content type (%s)" % hdrs.get("content-type"))
        c.check(hdrs.get("content-encoding") == "gzip", "gzip (%s)" % hdrs.get("content-encoding"))
        c.check(hdrs.get("otlp-profiles-development-version") == "1", "version header sent")
        c.check(as_data(pb, svc, raw) == source(pb, CORPUS[0]), "profile arrives equal to its source")
        # 2. 429 + Retry-After 1, 503, then 200
        be.plan = [(429, {"Retry-After": "1"}, b"slow down"), (503, {}, b"busy"), (200, {}, b"")]
        drop(pg, "b.otlp", CORPUS[1])
        got = wait_requests(be, 4, "retries")
        time.sleep(0.3)
        got = be.requests()
        c.check(len(got) == 4, "429, 503, then delivered: 3 requests (%d)" % (len(got) - 1))
        c.check(got[2][0] - got[1][0] >= 0.9, "Retry-After 1 honoured (%.3fs)" % (got[2][0] - got[1][0]))
        c.check(as_data(pb, svc, got[3][3]) == source(pb, CORPUS[1]), "retried profile equal to its source")
        # 3. permanent refusals: one request each, never retried
        n = len(got)
        for st in (400, 401, 403, 413):
            be.plan = [(st, {"Content-Type": "text/plain"}, b"refused-%d: bad profile" % st)]
            drop(pg, "p%d.otlp" % st, CORPUS[0])
            wait_requests(be, n + 1, "request answered %d" % st)
            time.sleep(0.5)
            c.check(len(be.requests()) == n + 1, "%d not retried (%d requests)" % (st, len(be.requests()) - n))
            n = len(be.requests())
        # a second 400 with the same message: counted, not logged again
        be.plan = [(400, {"Content-Type": "text/plain"}, b"refused-400: bad profile")]
        drop(pg, "p400b.otlp", CORPUS[0])
        wait_requests(be, n + 1, "second 400")
        n += 1
        # 4. partial success
        resp = svc.ExportProfilesServiceResponse()
        resp.partial_success.rejected_profiles = 2
        resp.partial_success.error_message = "two profiles too old"
        be.plan = [(200, {}, resp.SerializeToString())]
        drop(pg, "partial.otlp", CORPUS[1])
        wait_requests(be, n + 1, "partial")
        n += 1
        # 5. version refusal
        be.plan = [(400, {"Content-Type": "text/plain"},
                    b"OTLP-Profiles-Development-Version 1 is not supported; accepted: 2")]
        drop(pg, "version.otlp", CORPUS[0])
        wait_requests(be, n + 1, "version refusal")

        def settled():
            s = H.scrape(mport)
            return s if H.metric(s, "profgate_exporter_partial_rejected_profiles_total", exporter="otlphttp") == 2 \
                and H.metric(s, "profgate_exporter_otlp_rejected_batches_total", exporter="otlphttp", reason="version") == 1 \
                else None
        s = H.wait_until(settled, what="counters")
        m = lambda name, **kw: H.metric(s, name, exporter="otlphttp", **kw)
        c.check(m("profgate_exporter_otlp_retryable_answers_total", reason="http_429") == 1, "429 counted retryable")
        c.check(m("profgate_exporter_otlp_retryable_answers_total", reason="http_503") == 1, "503 counted retryable")
        c.check(m("profgate_exporter_otlp_rejected_batches_total", reason="http_400") == 2, "400 counted twice")
        for st in (401, 403, 413):
            c.check(m("profgate_exporter_otlp_rejected_batches_total", reason="http_%d" % st) == 1, "%d counted" % st)
        c.check(m("profgate_exporter_otlp_rejected_profiles_total", reason="http_413") > 0, "rejected profiles counted")
        c.check(m("profgate_exporter_retries_total") == 2, "two retries (%s)" % m("profgate_exporter_retries_total"))
        sent = m("profgate_exporter_sent_profiles_total")
        c.check(sent and sent >= 3, "sent profiles counted (%s)" % sent)
        logs = pg.logs()
        c.check(logs.count("refused-400: bad profile") >= 1, "400 message logged")
        c.check(sum(1 for l in logs.splitlines() if "server refuses with http_400" in l) == 1,
                "400 refusal logged once")
        c.check("refused-413: bad profile" in logs, "413 message logged")
        c.check("rejected 2 profiles: two profiles too old" in logs, "partial success logged")
        c.check("server refused format version 1" in logs and "accepted: 2" in logs,
                "version refusal logged with the version the server wants")
    finally:
        c.check(pg.stop() == 0, "rules instance: clean exit")
        if c.failed:
            print(pg.logs()[-4000:])
        be.close()


def test_json_zstd(c, binary, pb):
    from google.protobuf import json_format
    be = Backend()
    pg, _ = H.start_with_metrics(binary, CONFIG, port=be.port,
                                 extra="    encoding: json\n    compression: zstd", queue="")
    try:
        drop(pg, "a.otlp", CORPUS[0])
        got = wait_requests(be, 1, "json request")
        hdrs, raw = got[0][2], got[0][3]
        c.check(hdrs.get("content-type") == "application/json", "json content type")
        c.check(hdrs.get("content-encoding") == "zstd", "zstd encoding")
        d = pb.ProfilesData()
        json_format.Parse(raw.decode(), d)
        c.check(d == source(pb, CORPUS[0]), "JSON body parses to the source profile")
    finally:
        c.check(pg.stop() == 0, "json instance: clean exit")
        be.close()


def test_persistent(c, binary, pb, svc):
    port = H.free_port()  # nobody listens yet
    qdir = tempfile.mkdtemp(prefix="pg-otlphttp-q-")
    queue = "      directory: %s" % qdir
    pg, mport = H.start_with_metrics(binary, CONFIG, port=port, extra="", queue=queue)
    for i, p in enumerate(CORPUS * 2):
        drop(pg, "f%d.otlp" % i, p)
    H.wait_until(lambda: H.metric(H.scrape(mport), "profgate_exporter_queue_size", exporter="otlphttp") == 4
                 and "retrying" in pg.logs(), what="4 batches queued on disk, sends failing")
    c.check("unreachable" in pg.logs(), "the refused connection is logged")
    pg.kill9()
    be = Backend(port)
    pg2 = H.Profgate(binary, open(pg.config).read(), workdir=pg.dir)
    pg2.start()
    try:
        H.wait_until(lambda: len(be.requests()) >= 4, timeout=30, what="queued batches delivered after restart")
        got = [as_data(pb, svc, r[3]) for r in be.requests()]
        want = [source(pb, p) for p in CORPUS]
        c.check(all(g in want for g in got) and sum(1 for g in got if g == want[0]) >= 2 and
                sum(1 for g in got if g == want[1]) >= 2, "every queued profile delivered after kill -9")
    finally:
        c.check(pg2.stop() == 0, "persistent instance: clean exit")
        if c.failed:
            print(pg2.logs()[-3000:])
        be.close()
        shutil.rmtree(qdir, ignore_errors=True)


GRPC_IN = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{gport}
    include_metadata: true
    metadata_keys: [x-scope-orgid]
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:{port}
    headers_from_metadata: [X-Scope-OrgID]
    headers:
      X-Static: fixed
    batch:
      enabled: true
      flush_timeout: 300ms
      min_size: 100000000
""" + H.service_yaml("{metrics}", ["otlp"], ["otlphttp"])


def test_metadata(c, binary, pb, svc):
    import grpc
    be = Backend()
    gport = H.free_port()
    pg, _ = H.start_with_metrics(binary, GRPC_IN, port=be.port, gport=gport)
    method = "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
    try:
        H.wait_until(lambda: "gRPC listening" in pg.logs(), what="gRPC listener")
        ch = grpc.insecure_channel("127.0.0.1:%d" % gport)
        call = ch.unary_unary(method)
        reqs = {"tenant-a": open(CORPUS[0], "rb").read(), "tenant-b": open(CORPUS[1], "rb").read()}
        for _ in range(3):
            for t, body in reqs.items():
                call(body, timeout=10, metadata=[("x-scope-orgid", t)])
        ch.close()
        H.wait_until(lambda: sum(len(as_data(pb, svc, r[3]).resource_profiles) for r in be.requests()) >= 6,
                     what="both tenants delivered")
        by = {}
        for _, _, hdrs, raw in be.requests():
            d = as_data(pb, svc, raw)
            types = {d.dictionary.string_table[p.sample_type.type_strindex]
                     for rp in d.resource_profiles for sp in rp.scope_profiles for p in sp.profiles}
            by.setdefault(hdrs.get("x-scope-orgid"), set()).update(types)
            c.check(hdrs.get("x-static") == "fixed", "static header sent")
        src_types = {}
        for t, p in zip(reqs, CORPUS):
            d = source(pb, p)
            src_types[t] = {d.dictionary.string_table[p.sample_type.type_strindex]
                            for rp in d.resource_profiles for sp in rp.scope_profiles for p in sp.profiles}
        c.check(set(by) == {"tenant-a", "tenant-b"}, "every request carries its tenant (%s)" % sorted(map(str, by)))
        c.check(by.get("tenant-a") == src_types["tenant-a"] and by.get("tenant-b") == src_types["tenant-b"],
                "batching never mixed tenants (%s)" % by)
        c.check(len(be.requests()) < 6, "batches were merged per tenant (%d requests)" % len(be.requests()))
    finally:
        c.check(pg.stop() == 0, "metadata instance: clean exit")
        if c.failed:
            print(pg.logs()[-3000:])
        be.close()


def main():
    binary = sys.argv[1]
    c = H.Checks()
    pb, svc = proto_modules()
    test_rules(c, binary, pb, svc)
    test_json_zstd(c, binary, pb)
    test_persistent(c, binary, pb, svc)
    test_metadata(c, binary, pb, svc)
    c.finish()


if __name__ == "__main__":
    main()
