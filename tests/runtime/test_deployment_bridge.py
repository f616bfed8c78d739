# ctest: TIMEOUT 400 SKIP_RETURN_CODE 77
"""Runtime: configs/bridge.yaml as shipped (only its documented environment variables set)
between real clients and recording backends, both ways.

- Pyroscope -> OTLP: a real Node.js process profiled by @pyroscope/nodejs (installed as the
  pprof_push Node test does; skipped with 77 without npm/node) pushes wall profiles to the
  bridge's /ingest; the bridge exports OTLP to a grpcio gRPC sink written for the tests
  (tests/runtime/grpc_sink.py, a generic handler for ProfilesService/Export). Every push is
  answered 200; each request the sink got decodes (protobuf code generated from proto/) with
  service.name = the SDK's appName and its tags as resource attributes, carries the SDK's
  tenant as x-scope-orgid metadata, and converted back to pprof equals what the SDK sent
  (`go tool pprof -raw`).
- OTLP -> Pyroscope: a grpcio client sends a Go CPU profile (tests/fuzz corpus, converted
  to an ExportProfilesServiceRequest, service.name set) with x-scope-orgid metadata to the
  bridge's OTLP gRPC port; a recording HTTP server (tests/runtime/pyro_helpers.Recorder)
  stands in for Pyroscope: the push.v1 request carries service_name, __name__ and the
  tenant header, and its pprof equals the source (`go tool pprof -raw`).
- Nothing crosses over: the sink gets no OTLP-side profile, the recorder no Node profile."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import grpc

import harness as H
import pyro_helpers as P
from grpc_sink import METHOD, Backend
from test_deployments import healthy, listen_env, start_config

NODE_TESTS = os.path.join(H.SRC, "receivers", "pprof_push", "tests")
sys.path.insert(0, NODE_TESTS)
from test_pprof_push_node import sdk_or_skip  # noqa: E402

CPU = os.path.join(H.DATA, "pprof", "go_cpu.pb.gz")


def resource_attrs(req):
    """[{key: string value}] of every resource in an ExportProfilesServiceRequest."""
    return [{a.key: a.value.string_value for a in rp.resource.attributes} for rp in req.resource_profiles]


def pyroscope_to_otlp(c, profgate, node_dir, bridge_port, sink, work):
    """The Node SDK pushes; returns after the sink holds a request per push."""
    from opentelemetry.proto.collector.profiles.v1development import profiles_service_pb2 as svc
    sent = os.path.join(work, "sent")
    os.makedirs(sent)
    r = subprocess.run(["node", os.path.join(NODE_TESTS, "push_node.js"), node_dir,
                        "http://127.0.0.1:%d" % bridge_port, sent], capture_output=True, timeout=120)
    c.check(r.returncode == 0, "node exit 0: %s" % r.stderr.decode()[-800:])
    statuses = json.load(open(os.path.join(sent, "statuses.json"))) if r.returncode == 0 else []
    c.check(len(statuses) >= 2 and all(s == 200 for s in statuses), "every push answered 200: %r" % statuses)
    bodies = sorted(os.path.join(sent, f) for f in os.listdir(sent) if f.startswith("sent-"))
    H.wait_until(lambda: len(sink.requests()) >= len(bodies), timeout=60,
                 what="%d requests at the gRPC sink" % len(bodies))
    got = sink.requests()
    c.check(len(got) == len(bodies), "one OTLP request per push (%d for %d)" % (len(got), len(bodies)))
    back = []
    for i, (_, md, raw) in enumerate(got):
        req = svc.ExportProfilesServiceRequest()
        req.ParseFromString(raw)
        attrs = resource_attrs(req)
        c.check(attrs and all(a.get("service.name") == "nodeapp" and a.get("region") == "eu-west" and
                              a.get("team") == "profiling" for a in attrs),
                "request %d: service.name and the SDK's tags as resource attributes: %r" % (i, attrs))
        c.check(md.get("x-scope-orgid") == "tenant-node", "request %d: the tenant as metadata: %r" % (i, md))
        path = os.path.join(work, "got-%d.otlp" % i)
        with open(path, "wb") as f:
            f.write(raw)
        cv = subprocess.run([profgate, "convert", "--to", "pprof", path, path + ".pb.gz"], capture_output=True,
                            timeout=60)
        c.check(cv.returncode == 0, "request %d converts back to pprof: %s" % (i, cv.stderr.decode()[-300:]))
        if cv.returncode == 0:
            back.append(P.pprof_raw(path + ".pb.gz", work))
    want = sorted(P.pprof_raw(b, work) for b in bodies)
    c.check(sorted(back) == want and want, "what the sink got equals what the SDK sent (%d pushes, pprof -raw)"
            % len(want))


def otlp_to_pyroscope(c, profgate, grpc_port, rec, work):
    """A grpcio client sends a Go CPU profile; checks what the recorder got."""
    from opentelemetry.proto.collector.profiles.v1development import profiles_service_pb2 as svc
    path = os.path.join(work, "cpu.otlp")
    subprocess.run([profgate, "convert", "--to", "otlp_proto", CPU, path], check=True, timeout=60)
    req = svc.ExportProfilesServiceRequest()
    with open(path, "rb") as f:
        req.ParseFromString(f.read())
    for rp in req.resource_profiles:
        kv = rp.resource.attributes.add()
        kv.key, kv.value.string_value = "service.name", "otlp-client"
    with grpc.insecure_channel("127.0.0.1:%d" % grpc_port) as ch:
        call = ch.unary_unary(METHOD)
        try:
            call(req.SerializeToString(), metadata=[("x-scope-orgid", "tenant-otlp")], timeout=30)
            c.check(True, "the bridge accepts the gRPC Export")
        except grpc.RpcError as e:
            c.check(False, "the bridge accepts the gRPC Export: %s %s" % (e.code(), e.details()))
    H.wait_until(lambda: rec.requests, timeout=60, what="the push at the Pyroscope stand-in")
    with rec.lock:
        got = list(rec.requests)
    c.check(len(got) == 1, "one push.v1 request (%d)" % len(got))
    rq = got[0]
    c.check(rq["path"] == P.PUSH_PATH, "path %s" % rq["path"])
    c.check(rq["headers"].get("x-scope-orgid") == "tenant-otlp", "tenant header %r" % rq["headers"])
    series = P.decode_push(rq["body"])
    c.check(len(series) == 1 and len(series[0][1]) == 1, "one series with one profile")
    labels, raws = series[0] if series else ({}, [b""])
    c.check(labels.get("service_name") == "otlp-client" and labels.get("__name__") == "process_cpu",
            "labels %r" % labels)
    c.check(P.pprof_raw(raws[0], work) == P.pprof_raw(CPU, work), "the pushed pprof equals the source (pprof -raw)")


def main():
    profgate = os.path.realpath(sys.argv[1])
    node_dir = sdk_or_skip(profgate)
    c = H.Checks()
    work = tempfile.mkdtemp(prefix="pg-bridge-")
    H.otlp_proto_modules(os.path.join(work, "pb"))
    sink = Backend()
    rec = P.Recorder()
    threading.Thread(target=rec.serve_forever, daemon=True).start()
    ports, env = listen_env()
    env.update({"PROFGATE_OTLP_BACKEND": "127.0.0.1:%d" % sink.port,
                "PROFGATE_PYROSCOPE": "http://127.0.0.1:%d" % rec.server_address[1]})
    bridge = start_config(profgate, "bridge", env)
    try:
        H.wait_until(lambda: healthy(ports["health"]), timeout=30, what="bridge health")
        pyroscope_to_otlp(c, profgate, node_dir, ports["push"], sink, work)
        n_sink = len(sink.requests())
        otlp_to_pyroscope(c, profgate, ports["grpc"], rec, work)
        c.check(len(sink.requests()) == n_sink, "the OTLP-side profile did not loop back to the OTLP sink")
    except AssertionError as e:
        c.check(False, str(e))
    finally:
        c.check(bridge.stop() == 0, "bridge stops with exit 0")
        sink.close()
        rec.shutdown()
    if c.failed:
        print(bridge.logs()[-3000:])
    else:
        shutil.rmtree(work, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
