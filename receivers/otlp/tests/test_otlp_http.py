# ctest: TIMEOUT 600 RUN_SERIAL TRUE
"""Runtime: the otlp receiver's HTTP side (OTLP/HTTP on the shared listener stack) against curl
over HTTP/1.1, h2c with prior knowledge and TLS (h2 and HTTP/1.1 by ALPN, a CA made here by
openssl). Real Go profiles go otlp -> file exporter as protobuf and OTLP/JSON, plain, gzip
and zstd, and what the exporter writes equals what was sent. Then every refusal with its
status and body (400 with a google.rpc.Status naming the problem, 401, 404, 405, 413, 415,
503 + Retry-After), partial_success, metadata, CORS, a gzip bomb (413 without RSS growth), a
slowloris connection dropped while another client is served, and a loaded server whose
refused requests are retried until nothing the clients were told was accepted is missing."""
import glob
import gzip
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import harness as H
from otlp_common import inputs, make_pki, rss_kib

PATH = "/v1development/profiles"
PB, JS = "application/x-protobuf", "application/json"

BASE = """
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
        max_request_body_size: 8MiB
        read_timeout: 2s
{extra}
    include_metadata: true
    metadata_keys: [x-scope-orgid]
    max_metadata_value: 32
{processors}
exporters:
  file:
    directory: {dir}/out
    format: otlp_proto
{exp_extra}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    profiles:
      receivers: [otlp]
{pipe_processors}
      exporters: [file]
"""


def start(binary, extra="", ml=False):
    port = H.free_port()
    processors = pipe = exp_extra = ""
    if ml:
        exp_extra = ("    retry_on_failure:\n      initial_interval: 50ms\n      max_interval: 100ms\n"
                     "      max_elapsed_time: 0s")
        processors = ("processors:\n  memory_limiter:\n    limit_mib: 1\n    spike_limit_mib: 0\n"
                      "    check_interval: 50ms\n")
        pipe = "      processors: [memory_limiter]"
    pg, mport = H.start_with_metrics(binary, BASE, port=port, extra=extra, processors=processors,
                                     pipe_processors=pipe, exp_extra=exp_extra)
    H.wait_until(lambda: "HTTP listening" in pg.logs(), what="HTTP listener")
    return pg, port, mport


class Curl:
    """Runs curl; files for bodies and answers live in a temporary folder."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.n = 0

    def __call__(self, url, body=None, headers=(), args=(), method=None):
        """Returns (status, http version, {header: value} lower-cased, body bytes)."""
        self.n += 1
        base = os.path.join(self.tmp, "curl%d" % self.n)
        cmd = ["curl", "-sS", "--max-time", "30", "-o", base + ".out", "-D", base + ".hdr",
               "-w", "%{http_code} %{http_version}"] + list(args)
        if body is not None:
            with open(base + ".in", "wb") as f:
                f.write(body)
            cmd += ["--data-binary", "@" + base + ".in"]
        if method:
            cmd += ["-X", method]
        for h in headers:
            cmd += ["-H", h]
        p = subprocess.run(cmd + [url], capture_output=True, text=True)
        code, _, version = p.stdout.partition(" ")
        hdrs = {}
        if os.path.exists(base + ".hdr"):
            for line in open(base + ".hdr", errors="replace").read().splitlines():
                if line.startswith("HTTP/"):
                    hdrs = {}  # a 100 Continue comes first
                elif ":" in line:
                    k, _, v = line.partition(":")
                    hdrs[k.strip().lower()] = v.strip()
        out = open(base + ".out", "rb").read() if os.path.exists(base + ".out") else b""
        for suffix in (".in", ".out", ".hdr"):
            if os.path.exists(base + suffix):
                os.unlink(base + suffix)
        return int(code or 0), version, hdrs, out


def status_message(ctype, body):
    """(code, message) of a google.rpc.Status body in protobuf or JSON."""
    if ctype.startswith(JS):
        d = json.loads(body)
        return d.get("code", 0), d.get("message", "")
    code, msg, i = 0, "", 0
    while i < len(body):  # fields 1 (varint) and 2 (bytes) of google.rpc.Status
        key = body[i]
        i += 1
        if key == 0x08:
            v, shift = 0, 0
            while True:
                b = body[i]
                i += 1
                v |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            code = v
        elif key == 0x12:
            n, shift = 0, 0
            while True:
                b = body[i]
                i += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            msg = body[i:i + n].decode()
            i += n
        else:
            raise ValueError("unexpected field in Status: %r" % body)
    return code, msg


def out_files(pg):
    return sorted(glob.glob(pg.dir + "/out/*"), key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]))


def profile_count(pb2, data):
    d = pb2.ProfilesData.FromString(data)
    return sum(len(sp.profiles) for rp in d.resource_profiles for sp in rp.scope_profiles)


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


def test_roundtrip(c, binary, pb2, curl, reqs, jsons):
    """Every request in every encoding and protocol is written unchanged."""
    pg, port, mport = start(binary)
    url = "http://127.0.0.1:%d%s" % (port, PATH)
    try:
        variants = [  # (name, curl args, encoding, use JSON)
            ("HTTP/1.1 protobuf", ["--http1.1"], None, False),
            ("h2c protobuf", ["--http2-prior-knowledge"], None, False),
            ("HTTP/1.1 protobuf gzip", ["--http1.1"], "gzip", False),
            ("h2c protobuf zstd", ["--http2-prior-knowledge"], "zstd", False),
            ("HTTP/1.1 JSON", ["--http1.1"], None, True),
            ("h2c JSON gzip", ["--http2-prior-knowledge"], "gzip", True),
            ("HTTP/1.1 JSON zstd", ["--http1.1"], "zstd", True),
        ]
        sent, wire_total = [], 0
        for v, (name, args, enc, use_json) in enumerate(variants):
            for i, r in enumerate(reqs):
                body = jsons[i] if use_json else r
                hdrs = ["Content-Type: " + (JS if use_json else PB), "X-Scope-OrgID: tenant-%d" % i]
                if enc == "gzip":
                    body = gzip.compress(body)
                elif enc == "zstd":
                    body = zstd(body)
                if enc:
                    hdrs.append("Content-Encoding: " + enc)
                code, ver, rh, out = curl(url, body, hdrs, args)
                wire_total += len(body)
                want_ver = "2" if "h2c" in name else "1.1"
                c.check(code == 200 and ver == want_ver,
                        "%s request %d: 200 over HTTP/%s (%s %s %r)" % (name, i, want_ver, code, ver, out[:200]))
                c.check(rh.get("content-type") == (JS if use_json else PB), "%s: answered in the request's encoding (%s)"
                        % (name, rh.get("content-type")))
                c.check(out == (b"{}" if use_json else b""), "%s: empty response, no partial_success (%r)" % (name, out))
                sent.append(r)
                H.wait_until(lambda: len(out_files(pg)) >= len(sent), what="file written")
        for i, (r, o) in enumerate(zip(sent, out_files(pg))):
            want, got = pb2.ProfilesData(), pb2.ProfilesData()
            want.ParseFromString(r)
            got.ParseFromString(open(o, "rb").read())
            c.check(len(want.resource_profiles) > 0 and want == got, "request %d written unchanged (%s)" % (i, o))
        c.check(len(out_files(pg)) == len(sent), "one file per request (%d)" % len(out_files(pg)))
        s = H.scrape(mport)
        for proto in ("HTTP/1.1", "h2c"):
            n = H.metric(s, "profgate_http_server_requests_total", server="otlp", protocol=proto, code="200")
            c.check(n and n >= len(reqs) * 3, "%s answers counted (%s)" % (proto, n))
        ok = H.metric(s, "profgate_receiver_requests_total", receiver="otlp", status="ok")
        c.check(ok == len(sent), "receiver requests counted as ok (%s)" % ok)
        wire = H.metric(s, "profgate_receiver_accepted_bytes_total", receiver="otlp")
        c.check(wire == wire_total, "accepted bytes counted as received, compressed (%s of %d)" % (wire, wire_total))
    finally:
        c.check(pg.stop() == 0, "SIGTERM: clean exit")


def test_refusals(c, binary, pb2, curl, reqs):
    """Each refusal's status and body; partial_success; metadata; CORS; a gzip bomb."""
    origin = "https://app.example.com"
    extra = ("        cors:\n          allowed_origins: [\"https://*.example.com\"]\n"
             "          allowed_headers: [x-scope-orgid]\n          max_age: 600")
    pg, port, mport = start(binary, extra=extra)
    url = "http://127.0.0.1:%d%s" % (port, PATH)
    try:
        for ct in (PB, JS):
            code, _, rh, out = curl(url, b"\xff\xff\xff", ["Content-Type: " + ct])
            gcode, msg = status_message(rh.get("content-type", ""), out)
            c.check(code == 400 and rh.get("content-type") == ct and gcode == 3 and msg,
                    "malformed %s -> 400 with a Status (INVALID_ARGUMENT) naming it (%s %s %r)" % (ct, code, gcode, msg))
        for v, what in (("2", "not supported"), ("x", "not a positive integer")):
            code, _, rh, out = curl(url, reqs[0], ["Content-Type: " + PB, "OTLP-Profiles-Development-Version: " + v])
            gcode, msg = status_message(rh.get("content-type", ""), out)
            c.check(code == 400 and what in msg and "accepted: 1" in msg,
                    "version %s -> 400 naming the accepted versions (%s %r)" % (v, code, msg))
        code, _, _, _ = curl(url, reqs[0], ["Content-Type: " + PB, "OTLP-Profiles-Development-Version: 1"])
        c.check(code == 200, "version 1 accepted (%s)" % code)
        code, _, _, out = curl(url, reqs[0], ["Content-Type: text/plain"])
        c.check(code == 415 and b"application/x-protobuf" in out, "text/plain -> 415 (%s %r)" % (code, out))
        code, _, _, _ = curl(url, reqs[0])  # curl's default application/x-www-form-urlencoded
        c.check(code == 415, "form content type -> 415 (%s)" % code)
        code, _, _, _ = curl(url, None, args=["--http1.1"])
        c.check(code == 405, "GET -> 405 (%s)" % code)
        code, _, _, _ = curl(url.replace(PATH, "/v1/profiles"), reqs[0], ["Content-Type: " + PB])
        c.check(code == 404, "other path -> 404 (%s)" % code)
        code, _, _, _ = curl(url, b"\0" * (9 << 20), ["Content-Type: " + PB])
        c.check(code == 413, "9 MiB body over max_request_body_size (8 MiB) -> 413 (%s)" % code)
        code, _, rh, out = curl(url, reqs[0], ["Content-Type: " + PB, "X-Scope-OrgID: " + "t" * 40])
        gcode, msg = status_message(rh.get("content-type", ""), out)
        c.check(code == 413 and "x-scope-orgid" in msg, "metadata value over max_metadata_value -> 413 (%s %r)"
                % (code, msg))
        # partial_success: a profile without samples is dropped and reported
        req = pb2.ProfilesData()
        req.ParseFromString(reqs[0])
        req.resource_profiles[0].scope_profiles[0].profiles.add()
        for ct in (PB, JS):
            body = req.SerializeToString()
            if ct == JS:
                from google.protobuf import json_format
                body = json_format.MessageToJson(req).encode()
            code, _, rh, out = curl(url, body, ["Content-Type: " + ct])
            if ct == PB:
                from opentelemetry.proto.collector.profiles.v1development import profiles_service_pb2 as svc
                resp = svc.ExportProfilesServiceResponse()
                resp.ParseFromString(out)
                rejected, reason = resp.partial_success.rejected_profiles, resp.partial_success.error_message
            else:
                ps = json.loads(out or b"{}").get("partialSuccess", {})
                rejected, reason = int(ps.get("rejectedProfiles", 0)), ps.get("errorMessage", "")
            c.check(code == 200 and rejected == 1 and "without samples" in reason,
                    "%s: partial_success reports the empty profile (%s %s %r)" % (ct, code, rejected, reason))
        # CORS: preflight (no credentials needed), then the POST carries the allowed origin
        code, _, rh, _ = curl(url, None, ["Origin: " + origin, "Access-Control-Request-Method: POST",
                                          "Access-Control-Request-Headers: content-type, x-scope-orgid"],
                              method="OPTIONS")
        c.check(code == 204 and rh.get("access-control-allow-origin") == origin
                and rh.get("access-control-allow-methods") == "POST"
                and "x-scope-orgid" in rh.get("access-control-allow-headers", "")
                and rh.get("access-control-max-age") == "600", "CORS preflight allowed (%s %s)" % (code, rh))
        code, _, rh, _ = curl(url, None, ["Origin: https://evil.test", "Access-Control-Request-Method: POST"],
                              method="OPTIONS")
        c.check(code == 204 and "access-control-allow-origin" not in rh, "preflight from another origin: no CORS "
                "headers (%s %s)" % (code, rh))
        code, _, rh, _ = curl(url, None, ["Origin: " + origin, "Access-Control-Request-Method: POST",
                                          "Access-Control-Request-Headers: x-other"], method="OPTIONS")
        c.check(code == 204 and "access-control-allow-origin" not in rh, "preflight asking for a header not "
                "allowed: no CORS headers (%s)" % code)
        code, _, rh, _ = curl(url, reqs[0], ["Content-Type: " + PB, "Origin: " + origin])
        c.check(code == 200 and rh.get("access-control-allow-origin") == origin, "POST from an allowed origin "
                "carries Access-Control-Allow-Origin (%s %s)" % (code, rh))
        # gzip bomb: 256 MiB of zeros (about 256 KiB gzip) against the 8 MiB cap
        bomb = gzip.compress(b"\0" * (256 << 20), 1)
        before = rss_kib(pg.proc.pid)
        for proto in (["--http1.1"], ["--http2-prior-knowledge"]):
            code, _, _, _ = curl(url, bomb, ["Content-Type: " + PB, "Content-Encoding: gzip"], proto)
            c.check(code == 413, "gzip bomb %s -> 413 (%s)" % (proto[0], code))
        grown = rss_kib(pg.proc.pid) - before
        print("gzip bomb (256 MiB of zeros, %d KiB compressed, %d KiB RSS before): RSS +%d KiB"
              % (len(bomb) >> 10, before, grown))
        c.check(grown < 48 * 1024, "gzip bomb did not grow RSS (+%d KiB)" % grown)
        s = H.scrape(mport)
        c.check((H.metric(s, "profgate_http_server_limit_hits_total", server="otlp", kind="body_size") or 0) >= 3,
                "body limit hits counted")
        c.check((H.metric(s, "profgate_receiver_requests_total", receiver="otlp", status="invalid input") or 0) >= 4,
                "400s counted as invalid input")
    finally:
        c.check(pg.stop() == 0, "refusals instance stops cleanly")


def test_auth_tls(c, binary, curl, reqs):
    """Bearer auth (401) and TLS: h2 and HTTP/1.1 by ALPN, with a CA made by openssl."""
    d = tempfile.mkdtemp(prefix="pg-http-tls-")
    make_pki(d)
    with open(os.path.join(d, "token"), "w") as f:
        f.write("s3cret\n")
    extra = ("        tls:\n          cert_file: {d}/server.pem\n          key_file: {d}/server.key\n"
             "        auth:\n          bearer_token_file: {d}/token").format(d=d)
    pg, port, _ = start(binary, extra=extra)
    url = "https://127.0.0.1:%d%s" % (port, PATH)
    ca = ["--cacert", os.path.join(d, "ca.pem")]
    try:
        code, _, rh, _ = curl(url, reqs[0], ["Content-Type: " + PB], ca)
        c.check(code == 401 and "www-authenticate" in rh, "no token -> 401 (%s)" % code)
        code, _, _, _ = curl(url, reqs[0], ["Content-Type: " + PB, "Authorization: Bearer wrong"], ca)
        c.check(code == 401, "wrong token -> 401 (%s)" % code)
        for args, want in ((["--http2"], "2"), (["--http1.1"], "1.1")):
            code, ver, rh, _ = curl(url, gzip.compress(reqs[1]), ["Content-Type: " + PB, "Content-Encoding: gzip",
                                                                 "Authorization: Bearer s3cret"], ca + args)
            c.check(code == 200 and ver == want, "TLS %s with the token -> 200 over HTTP/%s (%s %s)"
                    % (args[0], want, code, ver))
        code, _, _, _ = curl(url, reqs[0], ["Content-Type: " + PB, "Authorization: Bearer s3cret"])
        c.check(code == 0, "a client without the CA refuses the certificate (%s)" % code)
        H.wait_until(lambda: len(out_files(pg)) >= 2, what="TLS requests written")
    finally:
        c.check(pg.stop() == 0, "TLS instance stops cleanly")


def test_slowloris(c, binary, curl, reqs):
    """A client trickling its headers is dropped at read_timeout (2 s); another is served meanwhile."""
    pg, port, mport = start(binary)
    url = "http://127.0.0.1:%d%s" % (port, PATH)
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        closed_at = None
        served = None
        s.settimeout(0.3)
        while time.time() - t0 < 8:
            try:
                s.sendall(b"X")  # one byte of a header name every 0.3 s
                if s.recv(1024) == b"":
                    closed_at = time.time() - t0
                    break
            except socket.timeout:
                pass
            except OSError:
                closed_at = time.time() - t0
                break
            if served is None and time.time() - t0 > 0.5:
                a = time.time()
                code, _, _, _ = curl(url, reqs[0], ["Content-Type: " + PB])
                served = (code, time.time() - a)
        s.close()
        c.check(served and served[0] == 200 and served[1] < 1.5,
                "another client served while the slow one trickles (%s)" % (served,))
        c.check(closed_at is not None and 1.5 < closed_at < 5, "slowloris dropped at read_timeout (%s s)" % closed_at)
        m = H.scrape(mport)
        c.check((H.metric(m, "profgate_http_server_limit_hits_total", server="otlp", kind="read_timeout") or 0) >= 1,
                "read timeout counted")
    finally:
        c.check(pg.stop() == 0, "slowloris instance stops cleanly")


def test_load(c, binary, pb2, reqs):
    """One worker, a queue of one, 8 clients: the busy server answers 503 + Retry-After; the
    clients retry, and every profile they were told was accepted is written."""
    pg, port, mport = start(binary, extra="        workers: 1\n        worker_queue: 1")
    counts = [profile_count(pb2, r) for r in reqs]
    lock = threading.Lock()
    stats = {"accepted": 0, "profiles": 0, "refused": 0, "no_retry_after": 0, "other": []}

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for j in range(12):
            i = (k + j) % len(reqs)
            body = gzip.compress(reqs[i])
            for _ in range(400):
                conn.request("POST", PATH, body, {"Content-Type": PB, "Content-Encoding": "gzip"})
                resp = conn.getresponse()
                resp.read()
                with lock:
                    if resp.status == 200:
                        stats["accepted"] += 1
                        stats["profiles"] += counts[i]
                    elif resp.status == 503:
                        stats["refused"] += 1
                        stats["no_retry_after"] += resp.getheader("Retry-After") is None
                    else:
                        stats["other"].append(resp.status)
                if resp.status != 503:
                    break
                time.sleep(0.01)  # Retry-After says 1 s; a short pause keeps the test quick
        conn.close()

    try:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("load: %(accepted)d accepted, %(refused)d refused with 503" % stats)
        c.check(stats["accepted"] == 8 * 12 and not stats["other"], "every request accepted in the end (%s)" % stats)
        c.check(stats["refused"] > 0 and stats["no_retry_after"] == 0, "busy server refused with 503 + Retry-After")

        def written():
            return sum(profile_count(pb2, open(p, "rb").read()) for p in out_files(pg))
        H.wait_until(lambda: written() >= stats["profiles"], what="accepted profiles written")
        c.check(written() == stats["profiles"], "profiles written == profiles accepted (%d)" % stats["profiles"])
        s = H.scrape(mport)
        c.check((H.metric(s, "profgate_http_server_limit_hits_total", server="otlp", kind="workers") or 0)
                == stats["refused"], "busy refusals counted as kind workers")
    finally:
        c.check(pg.stop() == 0, "load instance stops cleanly")


def test_pipeline_refuses(c, binary, curl, reqs):
    """The memory limiter refusing: 503, Retry-After, Status UNAVAILABLE (14)."""
    pg, port, mport = start(binary, ml=True)
    url = "http://127.0.0.1:%d%s" % (port, PATH)
    try:
        out = os.path.join(pg.dir, "out")  # the exporter's target goes away: data piles up
        for p in glob.glob(out + "/*"):
            os.unlink(p)
        os.rmdir(out)
        with open(out, "w") as f:
            f.write("not a folder")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        accepted, status, end = 0, 200, time.time() + 60
        while status == 200 and time.time() < end and accepted < 2000:
            conn.request("POST", PATH, reqs[accepted % len(reqs)], {"Content-Type": PB})
            resp = conn.getresponse()
            body, status = resp.read(), resp.status
            accepted += status == 200
            time.sleep(0.02)
        conn.close()
        gcode, msg = status_message(resp.getheader("Content-Type") or "", body)
        c.check(accepted > 0, "requests accepted before the limit (%d)" % accepted)
        c.check(status == 503 and resp.getheader("Retry-After") == "1" and gcode == 14,
                "memory_limiter refusing -> 503, Retry-After, UNAVAILABLE (%s %s %r)" % (status, gcode, msg))
        code, _, rh, out = curl(url, b"{}", ["Content-Type: " + JS])
        c.check(code == 200, "an empty request still answers 200 (nothing to refuse) (%s)" % code)
        s = H.scrape(mport)
        c.check((H.metric(s, "profgate_receiver_requests_total", receiver="otlp", status="try again") or 0) >= 1,
                "refusal counted as try again")
    finally:
        c.check(pg.stop() == 0, "refusing instance stops cleanly")


def test_both_protocols(c, binary, curl, reqs):
    """grpc and http in one receiver: both listen (the gRPC side is tested in test_otlp_grpc)."""
    gport = H.free_port()
    extra = "      grpc:\n        endpoint: 127.0.0.1:%d" % gport
    pg, port, _ = start(binary, extra=extra)
    try:
        H.wait_until(lambda: "gRPC listening" in pg.logs(), what="gRPC listener")
        code, _, _, _ = curl("http://127.0.0.1:%d%s" % (port, PATH), reqs[0], ["Content-Type: " + PB])
        c.check(code == 200, "HTTP served next to gRPC (%s)" % code)
        socket.create_connection(("127.0.0.1", gport)).close()
    finally:
        c.check(pg.stop() == 0, "grpc+http instance stops cleanly")


def main():
    binary = sys.argv[1]
    c = H.Checks()
    tmp = tempfile.mkdtemp(prefix="pg-otlp-http-")
    H.otlp_proto_modules(tmp)
    from opentelemetry.proto.profiles.v1development import profiles_pb2 as pb2
    reqs = inputs(binary, tmp)
    c.check(len(reqs) >= 4, "real Go profiles found (%d)" % len(reqs))
    jsons = []
    for i, r in enumerate(reqs):
        src, dst = os.path.join(tmp, "r%d.otlp" % i), os.path.join(tmp, "r%d.json" % i)
        with open(src, "wb") as f:
            f.write(r)
        subprocess.run([binary, "convert", "--to", "otlp_json", src, dst], check=True, capture_output=True)
        jsons.append(open(dst, "rb").read())
    curl = Curl(tmp)
    test_roundtrip(c, binary, pb2, curl, reqs, jsons)
    test_refusals(c, binary, pb2, curl, reqs)
    test_auth_tls(c, binary, curl, reqs)
    test_slowloris(c, binary, curl, reqs)
    test_load(c, binary, pb2, reqs)
    test_pipeline_refuses(c, binary, curl, reqs)
    test_both_protocols(c, binary, curl, reqs)
    c.finish()


if __name__ == "__main__":
    main()
