# ctest: TIMEOUT 300
"""Runtime: the pprof_push receiver with the listener stack's TLS and bearer auth, driven
by curl over a CA made here by openssl: /ingest and Connect push.v1 over h2 and HTTP/1.1 on
TLS, a missing or wrong token answered 401, a gzip Content-Encoding Connect body (how
Connect clients compress unary requests) accepted, and what the file exporter writes
equals the pushed pprof (`go tool pprof -raw`)."""
import gzip
import os
import subprocess
import sys

import harness as H
import pyro_helpers as P

CPU = os.path.join(H.DATA, "pprof", "go_cpu.pb.gz")

CONFIG = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{port}
    tls:
      cert_file: {dir}/server.pem
      key_file: {dir}/server.key
    auth:
      bearer_token_file: {dir}/token
exporters:
  file:
    directory: {dir}/out
    format: pprof
""" + H.service_yaml("{metrics}", ["pprof_push"], ["file"])


def main():
    binary = sys.argv[1]
    c = H.Checks()
    port, mport = H.free_port(), H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    P.make_test_ca(d)
    with open(os.path.join(d, "token"), "w") as f:
        f.write("t0ken\n")
    pg.write_config(CONFIG.format(dir=d, port=port, metrics=mport))
    pg.start()
    H.wait_until(lambda: H.scrape(mport), what="metrics endpoint")
    base = "https://127.0.0.1:%d" % port
    out = os.path.join(d, "out")

    def curl(args, url):
        r = subprocess.run(["curl", "-sS", "--cacert", os.path.join(d, "ca.pem"), "-o", "-", "-w", "\n%{http_code} %{http_version}"]
                           + args + [url], capture_output=True, timeout=60)
        body, _, tail = r.stdout.decode("utf-8", "replace").rpartition("\n")
        code, _, ver = tail.partition(" ")
        return int(code or 0), ver, body

    auth = ["-H", "Authorization: Bearer t0ken"]
    with open(CPU, "rb") as f:
        cpu = f.read()
    push = os.path.join(d, "push.bin")
    with open(push, "wb") as f:
        f.write(P.encode_push([([("service_name", "tls")], [cpu])]))
    pushgz = os.path.join(d, "push.bin.gz")
    with open(pushgz, "wb") as f:
        f.write(gzip.compress(open(push, "rb").read()))
    proto = ["-H", "Content-Type: application/proto"]

    code, ver, body = curl(["--http2", "--data-binary", "@" + CPU], base + "/ingest?name=a&format=pprof")
    c.check(code == 401, "no token: 401 (%s %s)" % (code, body))
    code, ver, body = curl(["-H", "Authorization: Bearer nope", "--data-binary", "@" + CPU],
                           base + "/ingest?name=a&format=pprof")
    c.check(code == 401, "wrong token: 401 (%s)" % code)
    code, ver, body = curl(proto + ["--data-binary", "@" + push], base + P.PUSH_PATH)
    c.check(code == 401, "connect without token: 401 (%s)" % code)
    n = 0
    for what, args, url, want_ver in [
            ("ingest h2", auth + ["--http2", "--data-binary", "@" + CPU], base + "/ingest?name=a&format=pprof", "2"),
            ("ingest h1", auth + ["--http1.1", "--data-binary", "@" + CPU], base + "/ingest?name=a&format=pprof", "1.1"),
            ("connect h2", auth + proto + ["--http2", "--data-binary", "@" + push], base + P.PUSH_PATH, "2"),
            ("connect gzip", auth + proto + ["-H", "Content-Encoding: gzip", "--data-binary", "@" + pushgz],
             base + P.PUSH_PATH, "2")]:
        code, ver, body = curl(args, url)
        c.check(code == 200 and ver == want_ver, "%s: %s over HTTP/%s (%s)" % (what, code, ver, body[:200]))
        n += 1
    got = P.new_files(out, set(), n)
    if P.have_go():
        want = P.pprof_raw(CPU, d)
        for f in got:
            c.check(P.pprof_raw(f, d) == want, "%s equals the pushed pprof" % f)
    H.finish(c, pg)


if __name__ == "__main__":
    main()
