# ctest: TIMEOUT 300
"""Runtime: the pprof_push receiver against curl. Go profiles pushed as Pyroscope /ingest
raw (gzip and plain), as the multipart body SDKs send (with an empty prev_profile, with a
sample_type_config; a non-empty one: test_pprof_push_prev.py), as Connect push.v1 (protobuf and JSON, HTTP/1.1
and h2c) and to /v1/pprof come out of the file exporter as the same pprof (`go tool pprof
-raw` is the oracle) with service.name, the {k=v} labels and the series labels as resource
attributes and from/until as time and duration; folded, jfr, broken and malformed bodies
are refused with 4xx naming what is accepted; X-Scope-OrgID is kept as metadata (seen by a
pyroscope exporter's tenant header at a recording server would be the exporter test's
job: here the debug exporter is not needed, the metrics count the requests)."""
import base64
import json
import os
import subprocess
import sys

import harness as H
import pyro_helpers as P

CONFIG = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{port}
    max_parts: 4
exporters:
  file:
    directory: {dir}/pprof
    format: pprof
  file/json:
    directory: {dir}/json
    format: otlp_json
""" + H.service_yaml("{metrics}", ["pprof_push"], ["file", "file/json"])

CPU = os.path.join(H.DATA, "pprof", "go_cpu.pb.gz")
HEAP = os.path.join(H.DATA, "pprof", "go_heap.pb.gz")
PLAIN = os.path.join(H.DATA, "pprof", "go_cpu_plain.pb")


def curl(args, url):
    """(status, body) of a curl request."""
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}"] + args + [url],
                       capture_output=True, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    body, _, code = out.rpartition("\n")
    return int(code or 0), body


def resources(path):
    with open(path) as f:
        doc = json.load(f)
    out = []
    for rp in doc["resourceProfiles"]:
        attrs = {a["key"]: a["value"].get("stringValue") for a in rp.get("resource", {}).get("attributes", [])}
        times = [(p.get("timeUnixNano"), p.get("durationNano"))
                 for sp in rp["scopeProfiles"] for p in sp["profiles"]]
        out.append((attrs, times))
    return out


def main():
    binary = sys.argv[1]
    c = H.Checks()
    port = H.free_port()
    pg, mport = H.start_with_metrics(binary, CONFIG, port=port)
    base = "http://127.0.0.1:%d" % port
    pdir, jdir = os.path.join(pg.dir, "pprof"), os.path.join(pg.dir, "json")
    tmp = pg.dir
    go = P.have_go()
    if not go:
        print("go not found: the pprof -raw oracle is skipped")

    def raw(x, keep_time):
        text = P.pprof_raw(x, tmp)
        if keep_time:
            return text
        return "\n".join(l for l in text.splitlines() if not l.startswith(("Time:", "Duration:")))

    def pushed(what, source, args, url, status=200, npprof=1, keep_time=True):
        """Sends, checks the status, waits for the outputs; returns the resources."""
        bp, bj = P.files(pdir), P.files(jdir)
        code, body = curl(args, url)
        c.check(code == status, "%s: status %s (%s)" % (what, code, body[:200]))
        if code != status:
            return []
        outp = P.new_files(pdir, bp, npprof)
        outj = P.new_files(jdir, bj, 1)
        if go:
            want = raw(source, keep_time)
            for f in outp:
                c.check(raw(f, keep_time) == want, "%s: %s differs from the source (pprof -raw)" % (what, f))
        return resources(outj[0])

    # /ingest raw gzip, labels and times from the query
    res = pushed("ingest gzip", CPU, ["--data-binary", "@" + CPU],
                 base + "/ingest?name=shop.cpu%7Benv%3Dprod%2Cregion%3Deu%7D&format=pprof&from=1700000000"
                 "&until=1700000010&spyName=gospy&sampleRate=100")
    c.check(res and res[0][0].get("service.name") == "shop", "service.name from the app name: %r" % res)
    c.check(res and res[0][0].get("env") == "prod" and res[0][0].get("region") == "eu", "labels: %r" % res)
    c.check(res and res[0][0].get("pyroscope_spy") == "gospy", "spy: %r" % res)
    # the Go CPU profile has its own time: kept
    c.check(res and all(t[0] != "1700000000000000000" for t in res[0][1]), "pprof time kept: %r" % res)

    # a pprof without a time gets from/until (the plain corpus file has time_nanos? make one)
    tiny = os.path.join(tmp, "tiny.pb")
    with open(tiny, "wb") as f:
        f.write(H.tiny_pprof("fn_tiny", 7, n=3))
    res = pushed("ingest plain, no format", tiny, ["--data-binary", "@" + tiny],
                 base + "/ingest?name=tiny%7Bservice_name%3Dsvc-x%7D&from=1700000000&until=1700000010",
                 keep_time=False)
    c.check(res and res[0][0].get("service.name") == "svc-x", "service_name label wins: %r" % res)
    c.check(res and ("1700000000000000000", "10000000000") in res[0][1], "from/until as time/duration: %r" % res)

    # multipart as SDKs send it, with and without prev_profile, with sample_type_config
    res = pushed("multipart", HEAP, ["-F", "profile=@%s;filename=profile.pprof" % HEAP],
                 base + "/ingest?name=shop.alloc_objects&spyName=gospy")
    c.check(res and res[0][0].get("service.name") == "shop", "multipart service.name: %r" % res)
    res = pushed("multipart empty prev_profile", HEAP,
                 ["-F", "profile=@%s" % HEAP, "-F", "prev_profile=;filename=profile.pprof"],
                 base + "/ingest?name=shop2")
    stc = os.path.join(tmp, "stc.json")
    with open(stc, "w") as f:
        json.dump({"contentions": {"display-name": "mutex_count", "units": "lock_samples", "cumulative": True},
                   "delay": {"display-name": "mutex_duration", "units": "lock_nanoseconds", "cumulative": True},
                   "alloc_objects": {}, "alloc_space": {}, "inuse_objects": {}, "inuse_space": {}}, f)
    res = pushed("multipart sample_type_config", HEAP,
                 ["-F", "profile=@%s" % HEAP, "-F", "sample_type_config=@%s;type=application/json" % stc],
                 base + "/ingest?name=locky")
    c.check(res and res[0][0].get("pyroscope.profile_name") == "mutex", "mutex told by display-name: %r" % res)
    # a sample_type_config naming two of the four heap types keeps those two
    bp = P.files(pdir)
    code, body = curl(["-F", "profile=@%s" % HEAP, "-F", 'sample_type_config={"alloc_space":{},"inuse_space":{}}'],
                      base + "/ingest?name=picky")
    c.check(code == 200, "selecting sample types: %s %s" % (code, body))
    if code == 200 and go:
        text = P.pprof_raw(P.new_files(pdir, bp, 1)[0], tmp)
        types = text.split("Samples:\n", 1)[1].splitlines()[0] if "Samples:\n" in text else ""
        c.check(sorted(t.split("/")[0] for t in types.split()) == ["alloc_space", "inuse_space"],
                "only the named sample types: %r" % types)
    s = H.scrape(mport)
    c.check(H.metric(s, "profgate_receiver_pprof_push_dropped_sample_types_total", receiver="pprof_push") == 2,
            "left-out sample types counted")
    code, body = curl(["-F", "other=@%s" % HEAP], base + "/ingest?name=x")
    c.check(code == 400 and "profile" in body, "multipart without profile: %s %s" % (code, body))
    code, body = curl(["-F", "profile=@%s" % HEAP, "-F", "sample_type_config=[1]"], base + "/ingest?name=x")
    c.check(code == 400 and "sample_type_config" in body, "bad sample_type_config: %s %s" % (code, body))
    code, body = curl(["-F", "a=1", "-F", "b=2", "-F", "c=3", "-F", "d=4", "-F", "profile=@" + HEAP], base + "/ingest?name=x")
    c.check(code == 413, "more parts than max_parts: %s %s" % (code, body))

    # other formats and broken bodies
    code, body = curl(["--data-binary", "foo;bar 1"], base + "/ingest?name=x")
    c.check(code == 415 and "format=pprof" in body, "folded refused naming pprof: %s %s" % (code, body))
    for fmt in ("jfr", "trie", "tree", "lines", "folded"):
        code, body = curl(["--data-binary", "@" + CPU], base + "/ingest?name=x&format=" + fmt)
        c.check(code == 415 and "accepted" in body, "format=%s refused: %s %s" % (fmt, code, body))
    code, body = curl(["--data-binary", "not a pprof at all"], base + "/ingest?name=x&format=pprof")
    c.check(code == 400, "malformed pprof: %s %s" % (code, body))
    code, body = curl(["--data-binary", "@" + CPU], base + "/ingest?name=x%7Benv&format=pprof")
    c.check(code == 400 and "name" in body, "bad name: %s %s" % (code, body))
    code, body = curl(["--data-binary", "@" + CPU], base + "/ingest?name=x&format=pprof&from=yesterday")
    c.check(code == 400 and "from" in body, "bad from: %s %s" % (code, body))
    code, body = curl(["-X", "GET"], base + "/ingest")
    c.check(code == 405, "GET /ingest: %s" % code)

    # /v1/pprof and the /pyroscope/ingest alias
    pushed("v1/pprof", CPU, ["--data-binary", "@" + CPU], base + "/v1/pprof", status=204)
    pushed("pyroscope/ingest", CPU, ["--data-binary", "@" + CPU], base + "/pyroscope/ingest?name=al&format=pprof")

    # Connect push.v1: protobuf over HTTP/1.1 and h2c, JSON
    with open(CPU, "rb") as f:
        cpu = f.read()
    with open(HEAP, "rb") as f:
        heap = f.read()
    req = os.path.join(tmp, "push.bin")
    with open(req, "wb") as f:
        f.write(P.encode_push([([("__name__", "process_cpu"), ("service_name", "pushed"), ("job", "j1"),
                                 ("__delta__", "false")], [cpu])]))
    ct = ["-H", "Content-Type: application/proto", "-H", "Connect-Protocol-Version: 1"]
    res = pushed("connect proto", CPU, ct + ["--data-binary", "@" + req], base + P.PUSH_PATH)
    c.check(res and res[0][0].get("service.name") == "pushed" and res[0][0].get("job") == "j1",
            "push labels: %r" % res)
    c.check(res and res[0][0].get("pyroscope.profile_name") == "process_cpu" and "__delta__" not in res[0][0],
            "__name__ kept, __delta__ dropped: %r" % res)
    pushed("connect proto h2c", CPU, ct + ["--http2-prior-knowledge", "--data-binary", "@" + req], base + P.PUSH_PATH)
    doc = {"series": [{"labels": [{"name": "service_name", "value": "js"}],
                       "samples": [{"rawProfile": base64.b64encode(heap).decode(), "ID": "u1"}]}]}
    jreq = os.path.join(tmp, "push.json")
    with open(jreq, "w") as f:
        json.dump(doc, f)
    res = pushed("connect json", HEAP, ["-H", "Content-Type: application/json", "--data-binary", "@" + jreq],
                 base + P.PUSH_PATH)
    c.check(res and res[0][0].get("service.name") == "js", "json push labels: %r" % res)
    bj = P.files(jdir)
    code, body = curl(["-H", "Content-Type: application/json", "--data-binary", "@" + jreq], base + P.PUSH_PATH)
    c.check(code == 200 and body.strip() == "{}", "json answer {}: %s %r" % (code, body))
    P.new_files(jdir, bj, 1)
    # two series in one request: two resources
    with open(req, "wb") as f:
        f.write(P.encode_push([([("service_name", "a")], [cpu]), ([("service_name", "b")], [heap])]))
    bj = P.files(jdir)
    code, _ = curl(ct + ["--data-binary", "@" + req], base + P.PUSH_PATH)
    c.check(code == 200, "two series: %s" % code)
    if code == 200:
        res = resources(P.new_files(jdir, bj, 1)[0])
        c.check(sorted(r[0].get("service.name") for r in res) == ["a", "b"], "two series, two resources: %r" % res)
    # Connect refusals
    code, body = curl(["-H", "Content-Type: text/plain", "--data-binary", "x"], base + P.PUSH_PATH)
    c.check(code == 415 and "application/proto" in body, "connect bad type: %s %s" % (code, body))
    with open(req, "wb") as f:
        f.write(P.encode_push([([("service_name", "bad")], [b"garbage!"])]))
    code, body = curl(ct + ["--data-binary", "@" + req], base + P.PUSH_PATH)
    err = json.loads(body) if body.startswith("{") else {}
    c.check(code == 400 and err.get("code") == "invalid_argument" and "series 0 sample 0" in err.get("message", ""),
            "connect malformed pprof: %s %s" % (code, body))
    code, body = curl(["-H", "Content-Type: application/json", "--data-binary", "{\"series\": 3}"], base + P.PUSH_PATH)
    c.check(code == 400 and "invalid_argument" in body, "connect bad json: %s %s" % (code, body))
    code, body = curl(ct + ["-H", "Connect-Protocol-Version: 2", "--data-binary", "@" + req], base + P.PUSH_PATH)
    c.check(code == 400, "connect version 2: %s %s" % (code, body))

    s = H.scrape(mport)
    ok = H.metric(s, "profgate_receiver_requests_total", receiver="pprof_push", status="ok")
    bad = H.metric(s, "profgate_receiver_requests_total", receiver="pprof_push", status="invalid input")
    c.check(ok and ok >= 12, "requests counted ok: %r" % ok)
    c.check(bad and bad >= 5, "requests counted invalid: %r" % bad)
    c.check((H.metric(s, "profgate_receiver_accepted_profiles_total", receiver="pprof_push") or 0) > 0,
            "accepted profiles counted")
    H.finish(c, pg)


if __name__ == "__main__":
    main()
