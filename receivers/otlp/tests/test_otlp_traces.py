# ctest: TIMEOUT 300 RUN_SERIAL TRUE
"""Runtime: OTLP traces into the otlp receiver, routed by a traces pipeline to tracelink's
span index. Spans go in over gRPC (Python grpcio, a generic unary call of
TraceService/Export with ExportTraceServiceRequest bytes built from the pinned protos) and
over POST /v1/traces with curl (protobuf, protobuf gzip-encoded, OTLP/JSON); then a pprof
whose samples carry only a span_id label goes file receiver -> tracelink -> OTLP file, and
each sample's link has the trace id of its span (decoded with the generated modules).
Refusals: malformed protobuf (INVALID_ARGUMENT / 400), bad JSON (400), unsupported type
(415), a missing bearer token (UNAUTHENTICATED); counters. Then a config without a traces
pipeline: gRPC traces get UNIMPLEMENTED and POST /v1/traces 404."""
import glob
import gzip
import json
import os
import subprocess
import sys
import tempfile

import grpc

import harness as H

METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SPANS = [("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"),   # gRPC
         ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),   # HTTP protobuf
         ("5b8efff798038103d269b633813fc60c", "1111222233334444"),   # HTTP gzip
         ("a3ce929d0e0e47364bf92f3577b34da6", "aaaabbbbccccdddd")]   # HTTP JSON
UNKNOWN_SPAN = "0102030405060708"

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 100ms
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
{auth}
      http:
        endpoint: 127.0.0.1:{http}
processors:
  tracelink:
    span_index:
      enabled: true
exporters:
  file:
    directory: {dir}/out
    format: otlp_proto
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    profiles:
      receivers: [file, otlp]
      processors: [tracelink]
      exporters: [file]
    traces:
      receivers: [otlp]
      processors: [tracelink]
"""

NO_TRACES = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
      http:
        endpoint: 127.0.0.1:{http}
exporters:
  file:
    directory: {dir}/out
    format: otlp_proto
""" + H.service_yaml("{metrics}", ["otlp"], ["file"])


def pprof_with_span_labels(span_ids):
    """An uncompressed pprof: one sample per span id, each labelled span_id=<hex> only."""
    strings = [b"", b"samples", b"count", b"work", b"span_id"] + [s.encode() for s in span_ids]
    parts = [H._field(1, H._vfield(1, 1) + H._vfield(2, 2))]
    for i in range(len(span_ids)):
        label = H._vfield(1, 4) + H._vfield(2, 5 + i)
        parts.append(H._field(2, H._field(1, H._varint(1)) + H._field(2, H._varint(10 + i)) +
                              H._field(3, label)))
    parts.append(H._field(4, H._vfield(1, 1) + H._field(4, H._vfield(1, 1))))
    parts.append(H._field(5, H._vfield(1, 1) + H._vfield(2, 3)))
    parts += [H._field(6, x) for x in strings]
    return b"".join(parts)


def curl(url, path, ctype, encoding=None):
    """POSTs the file at path; returns (HTTP status, body)."""
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-H", "Content-Type: " + ctype,
           "--data-binary", "@" + path, url]
    if encoding:
        cmd[-3:-3] = ["-H", "Content-Encoding: " + encoding]
    out = subprocess.run(cmd, capture_output=True, timeout=30).stdout
    body, _, code = out.rpartition(b"\n")
    return code.decode(), body


def write(tmp, name, data):
    p = os.path.join(tmp, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def grpc_code(target, data, md=None):
    """Status code of a TraceService/Export call with data, and the response bytes."""
    with grpc.insecure_channel(target) as ch:
        try:
            resp = ch.unary_unary(METHOD)(data, timeout=20, metadata=md)
            return grpc.StatusCode.OK, resp
        except grpc.RpcError as e:
            return e.code(), None


def main():
    binary = sys.argv[1]
    c = H.Checks()
    tmp = tempfile.mkdtemp(prefix="pg-otlp-traces-")
    H.otlp_proto_modules(tmp)
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
    from opentelemetry.proto.profiles.v1development import profiles_pb2 as pp

    def request(pairs):
        req = ts.ExportTraceServiceRequest()
        spans = req.resource_spans.add().scope_spans.add()
        for t, s in pairs:
            sp = spans.spans.add()
            sp.trace_id, sp.span_id, sp.name = bytes.fromhex(t), bytes.fromhex(s), "op"
        return req.SerializeToString()

    token = write(tmp, "token", b"s3cret\n")
    gport, hport = H.free_port(), H.free_port()
    pg, mport = H.start_with_metrics(binary, CONFIG, grpc=gport, http=hport,
                                     auth="        auth:\n          bearer_token_file: " + token)
    target = "127.0.0.1:%d" % gport
    H.wait_until(lambda: H.metric(H.scrape(mport), "profgate_receiver_accepted_spans_total") is not None,
                 what="span counters")
    auth = [("authorization", "Bearer s3cret")]

    code, resp = grpc_code(target, request([SPANS[0]]), auth)
    c.check(code == grpc.StatusCode.OK and resp == b"", "gRPC TraceService/Export: OK, empty response (%s)" % code)
    code, _ = grpc_code(target, request([SPANS[0]]))
    c.check(code == grpc.StatusCode.UNAUTHENTICATED, "gRPC traces without the token: UNAUTHENTICATED (%s)" % code)
    code, _ = grpc_code(target, b"\x0a\x7f\x01", auth)
    c.check(code == grpc.StatusCode.INVALID_ARGUMENT, "gRPC malformed traces: INVALID_ARGUMENT (%s)" % code)

    url = "http://127.0.0.1:%d/v1/traces" % hport
    st, body = curl(url, write(tmp, "t.pb", request([SPANS[1]])), "application/x-protobuf")
    c.check(st == "200" and body == b"", "POST /v1/traces protobuf: 200, empty response (%s)" % st)
    st, _ = curl(url, write(tmp, "t.pb.gz", gzip.compress(request([SPANS[2]]))), "application/x-protobuf",
                 "gzip")
    c.check(st == "200", "POST /v1/traces protobuf, gzip: 200 (%s)" % st)
    js = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [
        {"traceId": SPANS[3][0].upper(), "spanId": SPANS[3][1], "name": "op"},
        {"traceId": "", "spanId": "", "name": "no ids"}]}]}]}
    st, body = curl(url, write(tmp, "t.json", json.dumps(js).encode()), "application/json")
    c.check(st == "200" and json.loads(body or b"null") == {}, "POST /v1/traces JSON: 200, {} (%s %r)" % (st, body))
    st, _ = curl(url, write(tmp, "bad.pb", b"\x0a\x7f\x01"), "application/x-protobuf")
    c.check(st == "400", "POST /v1/traces malformed protobuf: 400 (%s)" % st)
    st, body = curl(url, write(tmp, "bad.json", b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz'
                                                  + b"0" * 30 + b'","spanId":"00f067aa0ba902b7"}]}]}]}'),
                    "application/json")
    c.check(st == "400" and b"hex" in body, "POST /v1/traces non-hex JSON id: 400 naming hex (%s %r)" % (st, body))
    st, _ = curl(url, write(tmp, "t.txt", b"x"), "text/plain")
    c.check(st == "415", "POST /v1/traces text/plain: 415 (%s)" % st)

    span_ids = [s for _, s in SPANS] + [UNKNOWN_SPAN]
    write(os.path.join(pg.dir, "in"), "spans.pb", pprof_with_span_labels(span_ids))
    out = os.path.join(pg.dir, "out")
    H.wait_until(lambda: glob.glob(os.path.join(out, "*.otlp.pb")), timeout=60, what="the OTLP output")
    data = pp.ProfilesData()
    with open(sorted(glob.glob(os.path.join(out, "*.otlp.pb")))[0], "rb") as f:
        data.ParseFromString(f.read())
    dic = data.dictionary
    strs = dic.string_table
    got, unlinked = {}, []
    for rp in data.resource_profiles:
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                for s in p.samples:
                    span = [dic.attribute_table[a].value.string_value for a in s.attribute_indices
                            if strs[dic.attribute_table[a].key_strindex] == "span_id"]
                    if s.link_index:
                        link = dic.link_table[s.link_index]
                        got[link.span_id.hex()] = link.trace_id.hex()
                    else:
                        unlinked += span
    want = {s: t for t, s in SPANS}
    c.check(got == want, "each span-only sample linked to its trace: %s" % got)
    c.check(unlinked == [UNKNOWN_SPAN], "the sample of an unknown span stays unlinked (%s)" % unlinked)

    m = H.scrape(mport)
    c.check(H.metric(m, "profgate_receiver_accepted_spans_total", receiver="otlp") == 4, "4 spans accepted")
    c.check(H.metric(m, "profgate_receiver_refused_spans_total", receiver="otlp") == 1,
            "1 span refused (ids of the wrong size)")
    c.check(H.metric(m, "profgate_tracelink_spans_indexed_total") == 4, "4 spans indexed")
    c.check(H.metric(m, "profgate_tracelink_span_index_entries") == 4, "the index holds 4 spans")
    c.check((H.metric(m, "profgate_tracelink_links_resolved_total") or 0) == 4, "4 links resolved")
    c.check((H.metric(m, "profgate_receiver_requests_total", receiver="otlp") or 0) >= 8,
            "trace requests counted by status")
    c.check(pg.stop() == 0, "exit 0")
    if c.failed:
        print(pg.logs()[-3000:])

    gport, hport = H.free_port(), H.free_port()
    pg2, _ = H.start_with_metrics(binary, NO_TRACES, grpc=gport, http=hport)
    H.wait_until(lambda: curl("http://127.0.0.1:%d/v1development/profiles" % hport, write(tmp, "e", b""),
                              "application/x-protobuf")[0] == "200", what="the HTTP listener")
    code, _ = grpc_code("127.0.0.1:%d" % gport, request([SPANS[0]]))
    c.check(code == grpc.StatusCode.UNIMPLEMENTED, "no traces pipeline: gRPC traces UNIMPLEMENTED (%s)" % code)
    st, _ = curl("http://127.0.0.1:%d/v1/traces" % hport, write(tmp, "t2.pb", request([SPANS[1]])),
                 "application/x-protobuf")
    c.check(st == "404", "no traces pipeline: POST /v1/traces 404 (%s)" % st)
    H.finish(c, pg2)


if __name__ == "__main__":
    main()
