"""Helpers for the Pyroscope-protocol tests (pprof_push receiver, pyroscope exporter):
push.v1 PushRequest encoding and decoding by hand (field numbers from
proto/pyroscope/push/v1/push.proto), pprof comparison through `go tool pprof -raw` (the
oracle), waiting for the file exporter's new files, and a recording HTTP server standing in
for Pyroscope. Stdlib only."""
import glob
import gzip
import http.server
import os
import shutil
import subprocess
import threading
import time

import harness as H

PUSH_PATH = "/push.v1.PusherService/Push"


def encode_push(series):
    """PushRequest bytes for [(labels [(name, value)], [raw_profile bytes])]."""
    out = b""
    for labels, samples in series:
        body = b"".join(H._field(1, H._field(1, n.encode()) + H._field(2, v.encode())) for n, v in labels)
        body += b"".join(H._field(2, H._field(1, raw) + H._field(2, b"id-%d" % i)) for i, raw in enumerate(samples))
        out += H._field(1, body)
    return out


def _varint(b, i):
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def ints(wt, v):
    """The integers of a repeated varint field as fields() gives it: packed (wire type 2,
    bytes) or one varint (wire type 0)."""
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def fields(b):
    """[(field number, wire type, value)] of one protobuf message (bytes for wire type 2)."""
    out, i = [], 0
    while i < len(b):
        tag, i = _varint(b, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def decode_push(b):
    """[(labels dict, [raw_profile bytes])] of a PushRequest."""
    out = []
    for num, _, ser in fields(b):
        if num != 1:
            continue
        labels, raws = {}, []
        for n2, _, v in fields(ser):
            if n2 == 1:
                lp = {k: x.decode() for k, _, x in fields(v)}
                labels[lp.get(1, "")] = lp.get(2, "")
            elif n2 == 2:
                raws += [x for k, _, x in fields(v) if k == 1]
        out.append((labels, raws))
    return out


def openssl(d, *args):
    subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)


def make_test_ca(d):
    """Writes ca.pem (a CA made here) and server.pem / server.key (signed by it, for
    127.0.0.1 and localhost) into folder d."""
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=profgate test CA")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=server")
    openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext")


def have_go():
    return shutil.which("go") is not None


def pprof_raw(path_or_bytes, tmpdir):
    """`go tool pprof -raw` of a pprof file (or bytes, written to tmpdir first)."""
    path = path_or_bytes
    if isinstance(path_or_bytes, (bytes, bytearray)):
        path = os.path.join(tmpdir, "raw-%d.pb" % time.monotonic_ns())
        with open(path, "wb") as f:
            f.write(path_or_bytes)
    r = subprocess.run(["go", "tool", "pprof", "-raw", path], capture_output=True, timeout=120,
                       env=dict(os.environ, GOFLAGS="-mod=mod", HOME=os.environ.get("HOME", tmpdir)))
    if r.returncode != 0:
        raise AssertionError("go tool pprof -raw %s: %s" % (path, r.stderr.decode()[-500:]))
    return r.stdout.decode()


def new_files(directory, before, count=1, timeout=20):
    """Waits until `directory` holds `count` files not in `before`; returns them sorted."""
    def fresh():
        now = set(glob.glob(os.path.join(directory, "*")))
        got = sorted(now - before)
        return got if len(got) >= count else None
    return H.wait_until(fresh, timeout=timeout, what="%d new files in %s" % (count, directory))


def files(directory):
    return set(glob.glob(os.path.join(directory, "*")))


def gunzip_maybe(b):
    return gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b


class Recorder(http.server.ThreadingHTTPServer):
    """A Pyroscope stand-in on a free loopback port (serve_forever in a thread): records
    every POST (path, lower-cased headers, body, monotonic time) and answers it from
    `script` [(status, extra headers)], 200 when the script is empty."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests, self.script, self.lock = [], [], threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        srv = self.server
        with srv.lock:
            srv.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": body, "t": time.monotonic()})
            status, extra = srv.script.pop(0) if srv.script else (200, {})
        out = b"{}" if status == 200 else b"refused by the test server"
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
