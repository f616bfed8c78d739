# ctest: TIMEOUT 300
"""Runtime: push.v1.PusherService/Push over gRPC on the pprof_push listener, driven by
Debian's grpcio (a generic unary call with bytes in and out): over h2c (insecure channel)
and over TLS with a CA made here by openssl, plain and gzip-compressed messages, each
pushed pprof coming out of the file exporter unchanged (`go tool pprof -raw`); a bad body
is INVALID_ARGUMENT, a message over max_request_body_size (on the wire, or once inflated)
RESOURCE_EXHAUSTED, a missing or wrong token UNAUTHENTICATED, an unknown method
UNIMPLEMENTED; gRPC over HTTP/1.1 is answered 505; a Connect push on the same port still
works; the x-scope-orgid metadata of a call is kept (a pyroscope exporter sends it on as
the tenant to a recording server here); the calls are counted by grpc-status."""
import http.server
import os
import subprocess
import sys
import threading

import grpc

import harness as H
import pyro_helpers as P

CPU = os.path.join(H.DATA, "pprof", "go_cpu.pb.gz")
HEAP = os.path.join(H.DATA, "pprof", "go_heap.pb.gz")

CONFIG = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{port}
    max_request_body_size: 64KiB
    include_metadata: true
    metadata_keys: [x-scope-orgid]
    auth:
      bearer_token_file: {dir}/token
  pprof_push/tls:
    endpoint: 127.0.0.1:{tport}
    max_request_body_size: 64KiB
    tls:
      cert_file: {dir}/server.pem
      key_file: {dir}/server.key
exporters:
  file:
    directory: {dir}/out
    format: pprof
  pyroscope:
    endpoint: http://127.0.0.1:{rec}/
    tenant_from_metadata: x-scope-orgid
""" + H.service_yaml("{metrics}", ["pprof_push", "pprof_push/tls"], ["file", "pyroscope"])

OPTS = [("grpc.enable_http_proxy", 0)]


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 200 to every POST and keeps (headers, body) in server.got."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def call(channel, body, metadata=(), compression=None, method=P.PUSH_PATH):
    """(grpc.StatusCode, details, response bytes) of one unary call."""
    fn = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        resp = fn(body, metadata=list(metadata), compression=compression, timeout=30)
        return grpc.StatusCode.OK, "", resp
    except grpc.RpcError as e:
        return e.code(), e.details() or "", None


def main():
    binary = sys.argv[1]
    c = H.Checks()
    port, tport, mport = H.free_port(), H.free_port(), H.free_port()
    rec = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    rec.daemon_threads = True
    rec.got = []
    threading.Thread(target=rec.serve_forever, daemon=True).start()
    pg = H.Profgate(binary, "")
    d = pg.dir
    P.make_test_ca(d)
    with open(os.path.join(d, "token"), "w") as f:
        f.write("t0ken\n")
    pg.write_config(CONFIG.format(dir=d, port=port, tport=tport, metrics=mport, rec=rec.server_address[1]))
    pg.start()
    H.wait_until(lambda: H.scrape(mport), what="metrics endpoint")
    out = os.path.join(d, "out")
    with open(CPU, "rb") as f:
        cpu = f.read()
    with open(HEAP, "rb") as f:
        heap = f.read()
    auth = [("authorization", "Bearer t0ken"), ("x-scope-orgid", "tenant-1")]

    h2c = grpc.insecure_channel("127.0.0.1:%d" % port, options=OPTS)
    with open(os.path.join(d, "ca.pem"), "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    tls = grpc.secure_channel("127.0.0.1:%d" % tport, creds, options=OPTS)

    # successful pushes: (what, channel, body, metadata, compression, pprofs carried)
    pushes = [
        ("h2c", h2c, P.encode_push([([("service_name", "g1")], [cpu])]), auth, None, [CPU]),
        ("h2c gzip", h2c, P.encode_push([([("service_name", "g2"), ("env", "x")], [heap])]), auth,
         grpc.Compression.Gzip, [HEAP]),
        ("tls", tls, P.encode_push([([("service_name", "g3")], [heap])]), (), None, [HEAP]),
        ("tls gzip", tls, P.encode_push([([("service_name", "g4")], [cpu])]), (), grpc.Compression.Gzip, [CPU]),
    ]
    want_files = []
    for what, ch, body, md, comp, pprofs in pushes:
        before = P.files(out)
        code, details, resp = call(ch, body, md, comp)
        c.check(code == grpc.StatusCode.OK and resp == b"", "%s: OK with an empty PushResponse (%s %s)"
                % (what, code, details))
        if code == grpc.StatusCode.OK:
            want_files.append((what, P.new_files(out, before, 1), pprofs))

    # errors, each with the status a gRPC client sees
    big = os.urandom(80 << 10)
    bomb = P.encode_push([([("service_name", "z")], [b"\0" * (200 << 10)])])
    bad_pprof = P.encode_push([([("service_name", "b")], [b"not a pprof at all"])])
    errors = [
        ("bad body", h2c, b"\xff\xff\xff\xff", auth, None, P.PUSH_PATH, grpc.StatusCode.INVALID_ARGUMENT),
        ("bad pprof", tls, bad_pprof, (), None, P.PUSH_PATH, grpc.StatusCode.INVALID_ARGUMENT),
        ("empty request", h2c, b"", auth, None, P.PUSH_PATH, grpc.StatusCode.INVALID_ARGUMENT),
        ("too large", h2c, big, auth, None, P.PUSH_PATH, grpc.StatusCode.RESOURCE_EXHAUSTED),
        ("too large tls", tls, big, (), None, P.PUSH_PATH, grpc.StatusCode.RESOURCE_EXHAUSTED),
        ("too large inflated", h2c, bomb, auth, grpc.Compression.Gzip, P.PUSH_PATH,
         grpc.StatusCode.RESOURCE_EXHAUSTED),
        ("no token", h2c, P.encode_push([([("service_name", "n")], [cpu])]), (), None, P.PUSH_PATH,
         grpc.StatusCode.UNAUTHENTICATED),
        ("wrong token", h2c, P.encode_push([([("service_name", "n")], [cpu])]),
         [("authorization", "Bearer nope")], None, P.PUSH_PATH, grpc.StatusCode.UNAUTHENTICATED),
        ("unknown method", tls, b"", (), None, "/push.v1.PusherService/Nope", grpc.StatusCode.UNIMPLEMENTED),
        ("HTTP-only route", h2c, b"x", auth, None, "/ingest", grpc.StatusCode.UNIMPLEMENTED),
    ]
    for what, ch, body, md, comp, method, want in errors:
        code, details, _ = call(ch, body, md, comp, method)
        c.check(code == want, "%s: %s (got %s: %s)" % (what, want, code, details))
        c.check(details != "", "%s: a grpc-message (%r)" % (what, details))

    # gRPC over HTTP/1.1: refused with 505; Connect still served on the same port
    r = subprocess.run(["curl", "-sS", "--http1.1", "-o", "-", "-w", "\n%{http_code}", "-H",
                        "Authorization: Bearer t0ken", "-H", "Content-Type: application/grpc",
                        "--data-binary", "@" + CPU, "http://127.0.0.1:%d%s" % (port, P.PUSH_PATH)],
                       capture_output=True, timeout=60)
    body, _, code = r.stdout.decode("utf-8", "replace").rpartition("\n")
    c.check(code == "505" and "HTTP/2" in body, "gRPC over HTTP/1.1: 505 (%s %s)" % (code, body.strip()))
    before = P.files(out)
    push_bin = os.path.join(d, "push.bin")
    with open(push_bin, "wb") as f:
        f.write(P.encode_push([([("service_name", "connect")], [cpu])]))
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                        "-H", "Authorization: Bearer t0ken", "-H", "Content-Type: application/proto",
                        "--data-binary", "@" + push_bin, "http://127.0.0.1:%d%s" % (port, P.PUSH_PATH)],
                       capture_output=True, timeout=60)
    c.check(r.stdout.decode() == "200", "Connect on the same port: 200 (%s)" % r.stdout.decode())
    want_files.append(("connect", P.new_files(out, before, 1), [CPU]))

    # every received profile equals what was pushed
    if P.have_go():
        raw = {}
        for what, got, pprofs in want_files:
            wants = sorted(raw.setdefault(p, P.pprof_raw(p, d)) for p in pprofs)
            gots = sorted(P.pprof_raw(f, d) for f in got)
            c.check(gots == wants, "%s: received equals pushed" % what)

    # metadata: the tenant of the h2c calls (x-scope-orgid) reaches the exporter
    H.wait_until(lambda: len(rec.got) >= 5, timeout=30, what="5 pushes at the recording server")
    tenants = {}
    for headers, body in rec.got:
        for labels, _ in P.decode_push(body):
            tenants[labels.get("service_name")] = headers.get("x-scope-orgid")
    c.check(tenants.get("g1") == "tenant-1" and tenants.get("g2") == "tenant-1",
            "x-scope-orgid metadata of gRPC calls kept: %r" % tenants)
    c.check(tenants.get("g3") is None and tenants.get("connect") is None, "no tenant where none was sent: %r"
            % tenants)

    samples = H.scrape(mport)
    ok = H.metric(samples, "profgate_http_server_grpc_calls_total", server="pprof_push", grpc_status="0")
    unauth = H.metric(samples, "profgate_http_server_grpc_calls_total", server="pprof_push", grpc_status="16")
    c.check(ok == 2 and unauth == 2, "grpc calls counted by status (ok %s, unauthenticated %s)" % (ok, unauth))
    h2c.close()
    tls.close()
    H.finish(c, pg)


if __name__ == "__main__":
    main()
