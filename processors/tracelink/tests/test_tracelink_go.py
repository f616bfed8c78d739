"""Runtime: a real Go CPU profile whose samples carry trace/span ids as pprof labels (set
with pprof.Do; tests/go/tracelabels) goes file receiver -> tracelink -> OTLP and pprof
files. Spans reach the span index over HTTP (curl, POST /v1/traces, protobuf built from the
pinned protos); the Datadog-style decimal span id gets its trace id from it. Checks the
OTLP links (decoded with the protobuf runtime), that the id labels are gone from linked
samples (remove_labels), that the pprof output has trace_id/span_id labels back (protoc
--decode), the counters, and that a malformed trace request is refused with 400."""
# ctest: TIMEOUT 300 SKIP_RETURN_CODE 77
import glob
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

import harness as H

T1, S1 = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
T2, S2 = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
T3, S3 = "5b8efff798038103d269b633813fc60c", "%016x" % 12345  # Datadog: span id 12345

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 100ms
processors:
  tracelink:
    remove_labels: true
    span_index:
      enabled: true
      endpoint: 127.0.0.1:{traces}
      wait: 2s
exporters:
  file/otlp:
    directory: {dir}/out-otlp
    format: otlp_proto
  file/pprof:
    directory: {dir}/out-pprof
    format: pprof
""" + H.service_yaml("{metrics}", ["file"], ["file/otlp", "file/pprof"], processors=["tracelink"])


def build_go(binary):
    """Builds tests/go/tracelabels offline; returns its path, or None without Go."""
    if not shutil.which("go"):
        return None
    cache = os.path.join(os.path.dirname(os.path.abspath(binary)), "go-tracelabels")
    out = os.path.join(cache, "tracelabels")
    env = dict(os.environ, GOCACHE=os.path.join(cache, "gocache"), GOPATH=os.path.join(cache, "gopath"),
               GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off", GOENV="off", GO111MODULE="on",
               CGO_ENABLED="0", GOTOOLCHAIN="local")
    subprocess.run(["go", "build", "-o", out, "."], cwd=os.path.join(H.SRC, "tests", "go", "tracelabels"),
                   env=env, check=True, timeout=240)
    return out


def main():
    binary = sys.argv[1]
    c = H.Checks()
    prog = build_go(binary)
    if not prog:
        print("skipped: no Go toolchain")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="pg-tracelink-")
    H.otlp_proto_modules(tmp)
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
    from opentelemetry.proto.profiles.v1development import profiles_pb2 as pp

    cpu = os.path.join(tmp, "cpu.pb.gz")
    subprocess.run([prog, cpu], check=True, timeout=60)
    traces = H.free_port()
    pg, mport = H.start_with_metrics(binary, CONFIG, traces=traces)
    d = pg.dir
    H.wait_until(lambda: H.metric(H.scrape(mport), "profgate_tracelink_spans_indexed_total") is not None,
                 what="tracelink metrics")

    req = ts.ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes.fromhex(T3), bytes.fromhex(S3), "dd request"
    body = os.path.join(tmp, "traces.pb")
    with open(body, "wb") as f:
        f.write(req.SerializeToString())
    url = "http://127.0.0.1:%d/v1/traces" % traces

    def post(path, ctype="application/x-protobuf"):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                            "Content-Type: " + ctype, "--data-binary", "@" + path, url],
                           capture_output=True, timeout=30)
        return r.stdout.decode()

    c.check(post(body) == "200", "curl POST /v1/traces: 200")
    bad = os.path.join(tmp, "bad.pb")
    with open(bad, "wb") as f:
        f.write(b"\x0a\x7f\x01")
    c.check(post(bad) == "400", "a truncated trace request: 400")
    c.check(post(body, "application/json") == "415", "JSON traces: 415")

    shutil.copy(cpu, os.path.join(d, "in", "cpu.pb.gz"))
    H.wait_until(lambda: glob.glob(os.path.join(d, "out-otlp", "*.otlp.pb")) and
                 glob.glob(os.path.join(d, "out-pprof", "*.pb.gz")), timeout=60, what="outputs")

    data = pp.ProfilesData()
    with open(sorted(glob.glob(os.path.join(d, "out-otlp", "*.otlp.pb")))[0], "rb") as f:
        data.ParseFromString(f.read())
    dic = data.dictionary
    links = {i: (l.trace_id.hex(), l.span_id.hex()) for i, l in enumerate(dic.link_table) if i}
    c.check(set(links.values()) == {(T1, S1), (T2, S2), (T3, S3)},
            "links from labels and from the span index: %s" % sorted(links.values()))
    used, leftover = set(), 0
    ids = {"trace_id", "span_id", "span id", "local root span id"}
    for rp in data.resource_profiles:
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                for s in p.samples:
                    if s.link_index:
                        used.add(links[s.link_index])
                        keys = {dic.string_table[dic.attribute_table[a].key_strindex]
                                for a in s.attribute_indices}
                        leftover += len(keys & ids)
    c.check(used == set(links.values()), "every link is used by samples (%s)" % sorted(used))
    c.check(leftover == 0, "linked samples keep no id labels (%d left)" % leftover)

    raw = gzip.open(sorted(glob.glob(os.path.join(d, "out-pprof", "*.pb.gz")))[0]).read()
    r = subprocess.run(["protoc", "--decode=perftools.profiles.Profile", "-I",
                        os.path.join(H.SRC, "proto", "pprof"), "profile.proto"],
                       input=raw, capture_output=True, timeout=60)
    text = r.stdout.decode()
    for want in ("trace_id", "span_id", T1, S1, T2, S2, T3, S3):
        c.check('string_table: "%s"' % want in text, "pprof output has %s back as a label string" % want)
    c.check('"span id"' not in text, "the Datadog label went (it is a link now)")

    s = H.scrape(mport)
    c.check((H.metric(s, "profgate_tracelink_samples_linked_total") or 0) > 0, "samples linked counted")
    c.check((H.metric(s, "profgate_tracelink_links_resolved_total") or 0) > 0,
            "links resolved from the index counted")
    c.check(H.metric(s, "profgate_tracelink_spans_indexed_total") == 1, "one span indexed")
    c.check(H.metric(s, "profgate_tracelink_bad_requests_total") == 2, "two bad requests counted")
    c.check(H.metric(s, "profgate_tracelink_span_index_entries") == 1, "index holds one span")
    H.finish(c, pg)


if __name__ == "__main__":
    main()
