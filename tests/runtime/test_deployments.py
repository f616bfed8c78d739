"""Runtime: the ready configurations (configs/sidecar.yaml, gateway.yaml, bridge.yaml) start
as shipped, with only their documented environment variables set (loopback ports, backends),
answer their health check and stop cleanly; the bridge carries a Pyroscope /ingest push to
an OTLP backend and an OTLP/HTTP request to a Pyroscope backend (a second profgate with the
otlp and pprof_push receivers stands in for both backends), the tenant header with them."""
# ctest: TIMEOUT 300
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import harness as H

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))

SINK = """receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
    include_metadata: true
    metadata_keys: [x-scope-orgid]
  pprof_push:
    endpoint: 127.0.0.1:{push}
    include_metadata: true
    metadata_keys: [x-scope-orgid]
exporters:
  file/from_otlp:
    directory: {dir}/from_otlp
    format: otlp_proto
  file/from_pyroscope:
    directory: {dir}/from_pyroscope
    format: pprof
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    profiles/a:
      receivers: [otlp]
      exporters: [file/from_otlp]
    profiles/b:
      receivers: [pprof_push]
      exporters: [file/from_pyroscope]
"""


def listen_env():
    ports = {k: H.free_port() for k in ("grpc", "http", "push", "spans", "health", "metrics")}
    env = {
        "PROFGATE_OTLP_GRPC_ENDPOINT": "127.0.0.1:%d" % ports["grpc"],
        "PROFGATE_OTLP_HTTP_ENDPOINT": "127.0.0.1:%d" % ports["http"],
        "PROFGATE_PUSH_ENDPOINT": "127.0.0.1:%d" % ports["push"],
        "PROFGATE_SPANS_ENDPOINT": "127.0.0.1:%d" % ports["spans"],
        "PROFGATE_HEALTH_ENDPOINT": "127.0.0.1:%d" % ports["health"],
        "PROFGATE_METRICS_ADDRESS": "127.0.0.1:%d" % ports["metrics"],
    }
    return ports, env


def start_config(binary, name, env):
    os.environ.update(env)
    pg = H.Profgate(binary, open(os.path.join(ROOT, "configs", name + ".yaml")).read())
    return pg.start()


def healthy(port):
    return H.http_get("http://127.0.0.1:%d/" % port)[0] == 200


def files_holding(folder, needle):
    for f in glob.glob(os.path.join(folder, "*")):
        data = open(f, "rb").read()
        if f.endswith(".gz"):
            import gzip
            data = gzip.decompress(data)
        if needle in data:
            return True
    return False


def check_starts(c, binary, name, extra_env):
    ports, env = listen_env()
    env.update(extra_env)
    pg = start_config(binary, name, env)
    try:
        H.wait_until(lambda: healthy(ports["health"]) or not pg.alive(), timeout=30,
                     what=name + " health")
        c.check(pg.alive() and healthy(ports["health"]), name + ".yaml starts and is healthy")
        c.check(H.scrape(ports["metrics"]) != {}, name + ".yaml serves its metrics")
    finally:
        c.check(pg.stop() == 0, name + ".yaml stops with exit 0")
        if c.failed:
            print(pg.logs()[-2000:])
    return pg


def check_bridge(c, binary, work):
    sink_ports = {"grpc": H.free_port(), "push": H.free_port()}
    sink = H.Profgate(binary, SINK.format(dir=work, **sink_ports)).start()
    ports, env = listen_env()
    env.update({"PROFGATE_OTLP_BACKEND": "127.0.0.1:%d" % sink_ports["grpc"],
                "PROFGATE_PYROSCOPE": "http://127.0.0.1:%d" % sink_ports["push"]})
    bridge = start_config(binary, "bridge", env)
    try:
        H.wait_until(lambda: healthy(ports["health"]), timeout=30, what="bridge health")
        # Pyroscope /ingest in -> OTLP out
        pprof = os.path.join(work, "push.pb")
        open(pprof, "wb").write(H.tiny_pprof("bridge_pushed_fn", 7))
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Scope-OrgID: t1",
                            "--data-binary", "@" + pprof,
                            "http://127.0.0.1:%d/ingest?name=bridged.app{env=test}&format=pprof" % ports["push"]],
                           capture_output=True, text=True, timeout=30)
        c.check(r.stdout == "200", "bridge accepts a Pyroscope /ingest push (%s %s)" % (r.stdout, r.stderr))
        H.wait_until(lambda: files_holding(os.path.join(work, "from_otlp"), b"bridge_pushed_fn"), timeout=30,
                     what="the push to reach the OTLP backend")
        c.check(files_holding(os.path.join(work, "from_otlp"), b"bridged.app"),
                "the OTLP backend got the push with its service name (resource attribute)")
        # OTLP/HTTP in -> Pyroscope out
        src = os.path.join(work, "otlp_src.pb")
        open(src, "wb").write(H.tiny_pprof("bridge_otlp_fn", 5))
        otlp = os.path.join(work, "req.otlp")
        cv = subprocess.run([binary, "convert", "--to", "otlp_proto", src, otlp], capture_output=True, timeout=30)
        c.check(cv.returncode == 0, "convert to OTLP for the request")
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                            "Content-Type: application/x-protobuf", "-H", "X-Scope-OrgID: t1",
                            "--data-binary", "@" + otlp,
                            "http://127.0.0.1:%d/v1development/profiles" % ports["http"]],
                           capture_output=True, text=True, timeout=30)
        c.check(r.stdout == "200", "bridge accepts OTLP/HTTP (%s %s)" % (r.stdout, r.stderr))
        H.wait_until(lambda: files_holding(os.path.join(work, "from_pyroscope"), b"bridge_otlp_fn"), timeout=30,
                     what="the OTLP request to reach the Pyroscope backend")
        c.check(not files_holding(os.path.join(work, "from_pyroscope"), b"bridge_pushed_fn"),
                "the push did not loop back to the Pyroscope side")
    finally:
        c.check(bridge.stop() == 0, "bridge stops with exit 0")
        c.check(sink.stop() == 0, "sink stops with exit 0")
        if c.failed:
            print(bridge.logs()[-3000:])
            print(sink.logs()[-3000:])


def main():
    binary = os.path.realpath(sys.argv[1])
    c = H.Checks()
    work = tempfile.mkdtemp(prefix="pg-deploy-")
    try:
        queue = os.path.join(work, "queue")
        check_starts(c, binary, "sidecar", {"PROFGATE_TARGET": "127.0.0.1:%d" % H.free_port(),
                                            "PROFGATE_GATEWAY": "127.0.0.1:%d" % H.free_port()})
        check_starts(c, binary, "gateway", {"PROFGATE_OTLP_BACKEND": "127.0.0.1:%d" % H.free_port(),
                                            "PROFGATE_PYROSCOPE": "http://127.0.0.1:%d" % H.free_port(),
                                            "PROFGATE_QUEUE": queue})
        check_starts(c, binary, "bridge", {})
        check_bridge(c, binary, work)
    finally:
        if not c.failed:
            shutil.rmtree(work, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
