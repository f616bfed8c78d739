# ctest: TIMEOUT 300
"""Runtime: the pyroscope exporter against a recording HTTP server written here, which
checks the exact requests: path, Content-Type, Connect-Protocol-Version, X-Scope-OrgID
from the batch metadata, basic auth, extra headers; the push.v1 body decoded by hand
(labels: service_name, __name__ derived from the sample types, the resource labels,
external_labels, pyroscope_spy) and its pprof equal to what was pushed in (`go tool pprof
-raw`); for `protocol: ingest` the query (name=service{labels}, from, until, spyName) and
the multipart `profile` part; OTLP links -> span_id / trace_id labels; 429 with
Retry-After retried after the wait, 400 dropped without retry."""
import base64
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

import harness as H
import pyro_helpers as P

HERE = os.path.dirname(os.path.abspath(__file__))
CPU = os.path.join(H.DATA, "pprof", "go_cpu.pb.gz")

CONFIG = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{port}
    include_metadata: true
    metadata_keys: [x-scope-orgid]
  file:
    include: ["{dir}/in/*.json"]
    format: otlp_json
    poll_interval: 100ms
    storage_directory: {dir}/state
exporters:
  pyroscope:
    endpoint: http://127.0.0.1:{server}/
    protocol: {protocol}
    tenant_from_metadata: x-scope-orgid
    external_labels: {{cluster: c1}}
    headers: {{X-Extra: yes}}
    auth:
      basic:
        username: alice
        password_file: {dir}/pw
    timeout: 5s
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 200ms
      max_elapsed_time: 20s
""" + H.service_yaml("{metrics}", ["pprof_push", "file"], ["pyroscope"])


def multipart_parts(body, ctype):
    """{name: bytes} of a multipart/form-data body."""
    bnd = ctype.split("boundary=", 1)[1].strip('"').encode()
    out = {}
    for chunk in body.split(b"--" + bnd)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        out[name] = data[:-2] if data.endswith(b"\r\n") else data
    return out


def run(binary, c, protocol):
    srv = P.Recorder()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = H.free_port()
    mport = H.free_port()
    pg = H.Profgate(binary, "")
    with open(os.path.join(pg.dir, "pw"), "w") as f:
        f.write("s3cret\n")
    os.makedirs(os.path.join(pg.dir, "in"))
    pg.write_config(CONFIG.format(dir=pg.dir, metrics=mport, port=port, server=srv.server_address[1],
                                  protocol=protocol))
    pg.start()
    H.wait_until(lambda: H.scrape(mport), what="metrics endpoint")
    tmp = pg.dir
    what = "[%s] " % protocol

    def send_cpu(name):
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Scope-OrgID: t-42",
                            "--data-binary", "@" + CPU,
                            "http://127.0.0.1:%d/ingest?format=pprof&spyName=gospy&name=%s" % (port, name)],
                           capture_output=True, timeout=30)
        return r.stdout.decode()

    # 1. one push: the exact request
    c.check(send_cpu("shop.cpu%7Benv%3Dprod%7D") == "200", what + "push accepted")
    H.wait_until(lambda: len(srv.requests) >= 1, what="the first request")
    rq = srv.requests[0]
    h = rq["headers"]
    c.check(h.get("x-scope-orgid") == "t-42", what + "tenant from metadata: %r" % h)
    c.check(h.get("authorization") == "Basic " + base64.b64encode(b"alice:s3cret").decode(), what + "basic auth")
    c.check(h.get("x-extra") == "yes", what + "extra header")
    src = P.pprof_raw(CPU, tmp) if P.have_go() else None
    if protocol == "push":
        c.check(rq["path"] == P.PUSH_PATH, what + "path %s" % rq["path"])
        c.check(h.get("content-type") == "application/proto", what + "content type %r" % h.get("content-type"))
        c.check(h.get("connect-protocol-version") == "1", what + "connect version")
        series = P.decode_push(rq["body"])
        c.check(len(series) == 1 and len(series[0][1]) == 1, what + "one series, one sample: %r" % len(series))
        labels, raws = series[0] if series else ({}, [b""])
        want = {"service_name": "shop", "__name__": "process_cpu", "env": "prod", "cluster": "c1",
                "pyroscope_spy": "gospy"}
        c.check(labels == want, what + "labels %r" % labels)
        got = raws[0]
    else:
        u = urllib.parse.urlsplit(rq["path"])
        q = dict(urllib.parse.parse_qsl(u.query))
        c.check(u.path == "/ingest", what + "path %s" % u.path)
        c.check(q.get("name") in ("shop{env=prod,cluster=c1}", "shop{cluster=c1,env=prod}"), what + "name %r" % q)
        c.check(q.get("spyName") == "gospy", what + "spyName %r" % q)
        c.check(q.get("from", "").isdigit() and int(q["until"]) >= int(q["from"]) > 1500000000, what + "from/until %r" % q)
        ct = h.get("content-type", "")
        c.check(ct.startswith("multipart/form-data; boundary="), what + "content type %r" % ct)
        parts = multipart_parts(rq["body"], ct) if "boundary=" in ct else {}
        c.check(set(parts) == {"profile"}, what + "parts %r" % list(parts))
        got = parts.get("profile", b"")
    c.check(got[:2] == b"\x1f\x8b", what + "pprof gzip'd")
    if src is not None:
        c.check(P.pprof_raw(got, tmp) == src, what + "the sent pprof equals the pushed one (pprof -raw)")

    # 2. links -> span_id / trace_id labels (OTLP/JSON through the file receiver)
    n0 = len(srv.requests)
    shutil.copy(os.path.join(HERE, "link.otlp.json"), os.path.join(pg.dir, "in", "link.json"))
    H.wait_until(lambda: len(srv.requests) > n0, what="the linked profile's request")
    rq = srv.requests[n0]
    if protocol == "push":
        labels, raws = P.decode_push(rq["body"])[0]
        c.check(labels.get("service_name") == "linked" and labels.get("__name__") == "process_cpu",
                what + "linked labels %r" % labels)
        got = raws[0]
    else:
        got = multipart_parts(rq["body"], rq["headers"]["content-type"]).get("profile", b"")
    if P.have_go():
        text = P.pprof_raw(got, tmp)
        c.check("span_id:[1112131415161718] trace_id:[0102030405060708090a0b0c0d0e0f10]" in text,
                what + "link as labels: %s" % text[:600])

    # 3. 429 + Retry-After: retried after the wait; 400: dropped, not retried
    n0 = len(srv.requests)
    with srv.lock:
        srv.script = [(429, {"Retry-After": "1"}), (200, {})]
    c.check(send_cpu("again") == "200", what + "second push accepted")
    H.wait_until(lambda: len(srv.requests) >= n0 + 2, what="the retry")
    gap = srv.requests[n0 + 1]["t"] - srv.requests[n0]["t"]
    c.check(gap >= 0.9, what + "Retry-After honoured: %.2fs" % gap)
    n0 = len(srv.requests)
    with srv.lock:
        srv.script = [(400, {})]
    c.check(send_cpu("bad") == "200", what + "third push accepted")
    H.wait_until(lambda: len(srv.requests) >= n0 + 1, what="the refused request")
    time.sleep(1.0)
    c.check(len(srv.requests) == n0 + 1, what + "400 not retried: %d requests" % (len(srv.requests) - n0))

    # the server records a request before answering it; profgate counts the drop only once
    # the 400 arrives: wait for it rather than trust the pause above
    def dropped():
        s = H.scrape(mport)
        return s if (H.metric(s, "profgate_exporter_send_failed_profiles_total", exporter="pyroscope") or 0) > 0 \
            else None
    try:
        s = H.wait_until(dropped, timeout=30, what="the dropped profiles counted")
    except AssertionError:
        s = H.scrape(mport)
    c.check((H.metric(s, "profgate_exporter_send_failed_profiles_total", exporter="pyroscope") or 0) > 0,
            what + "the dropped profiles counted")
    c.check((H.metric(s, "profgate_exporter_sent_profiles_total", exporter="pyroscope") or 0) > 0,
            what + "sent profiles counted")
    c.check(pg.stop() == 0, what + "exit 0")
    if c.failed:
        print(pg.logs()[-3000:])
    srv.shutdown()


def main():
    binary = sys.argv[1]
    c = H.Checks()
    for protocol in ("push", "ingest"):
        run(binary, c, protocol)
    c.finish()


if __name__ == "__main__":
    main()
