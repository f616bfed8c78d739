# ctest: TIMEOUT 400 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
"""Runtime: the sidecar -> gateway chain with the shipped configs, end to end.

A real Go service (tests/go/scrapetarget: net/http/pprof, a CPU burner running under
pprof.Do with trace_id/span_id labels, allocations, mutex and block contention; it saves
every allocs, mutex and block profile it serves) is scraped by profgate running
configs/sidecar.yaml as shipped (only its documented environment variables set: the
target, the gateway, a 3 s scrape interval (2 s timeout), OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
loopback listening ports), which exports OTLP to profgate running configs/gateway.yaml as
shipped (memory_limiter, tracelink, downscale, persistent queues), which fans out to a
backend profgate (otlp receiver -> pprof and OTLP files; pprof_push receiver -> pprof
files) standing in for the OTLP backend and Pyroscope.

Checks, on what reaches the backend:
- every allocs, mutex and block delta equals Go's own `go tool pprof -raw -base prev cur`
  of the two profiles the target served for it (tests/runtime/scrape_oracle.py), at least
  two of each kind;
- the resource attributes the sidecar adds from the environment (service.name,
  OTEL_RESOURCE_ATTRIBUTES, host.name) are on every profile;
- the gateway's tracelink turned the burner's trace_id/span_id labels into an OTLP link
  that the burner's samples use, and the pprof output has them back as labels;
- the Pyroscope side of the gateway's fan-out received the profiles too;
- all three stop with exit 0."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import harness as H
import pprofcmp
from scrape_oracle import check_deltas
from test_deployments import healthy, listen_env, start_config

TRACE, SPAN = "5d2c9d4e3b1a4f6e8a7b6c5d4e3f2a1b", "1a2b3c4d5e6f7081"

BACKEND = """receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
  pprof_push:
    endpoint: 127.0.0.1:{push}
exporters:
  file/pprof:
    directory: {dir}/out
    format: pprof
  file/otlp:
    directory: {dir}/otlp
    format: otlp_proto
  file/pyroscope:
    directory: {dir}/pyroscope
    format: pprof
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    profiles/otlp:
      receivers: [otlp]
      exporters: [file/pprof, file/otlp]
    profiles/pyroscope:
      receivers: [pprof_push]
      exporters: [file/pyroscope]
"""


def start_target(binary, port, save):
    """The Go service on port, saving what it serves into save."""
    p = subprocess.Popen([binary, "-addr", "127.0.0.1:%d" % port, "-save", save, "-trace", TRACE + ":" + SPAN],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if p.stdout.readline().strip() != b"ready":
        raise AssertionError("the Go scrape target did not start")
    return p


def otlp_profiles(folder):
    """[(resource attributes {key: string}, links {(trace, span)} used by samples, stacks
    of linked samples as function-name sets)] of every profile in the OTLP files."""
    from opentelemetry.proto.profiles.v1development import profiles_pb2 as pp
    out = []
    for f in sorted(glob.glob(os.path.join(folder, "*.otlp.pb"))):
        data = pp.ProfilesData()
        with open(f, "rb") as fh:
            data.ParseFromString(fh.read())
        dic = data.dictionary
        links = [(lk.trace_id.hex(), lk.span_id.hex()) for lk in dic.link_table]
        for rp in data.resource_profiles:
            attrs = {a.key: a.value.string_value for a in rp.resource.attributes}
            for sp in rp.scope_profiles:
                for p in sp.profiles:
                    used, funcs = set(), set()
                    for s in p.samples:
                        if s.link_index:
                            used.add(links[s.link_index])
                            for li in dic.stack_table[s.stack_index].location_indices:
                                for line in dic.location_table[li].lines:
                                    fn = dic.function_table[line.function_index]
                                    funcs.add(dic.string_table[fn.name_strindex])
                    out.append((attrs, used, funcs))
    return out


def pprof_label_values(path, key):
    """The string values of label `key` on the samples of one pprof file."""
    p = pprofcmp.decode(pprofcmp.raw_bytes(path))
    st = p["string_table"]
    return {st[lb["str"]] for s in p["sample"] for lb in s.get("label", []) if st[lb["key"]] == key}


def run(c, profgate, work, target_bin):
    save = os.path.join(work, "save")
    os.makedirs(save)
    tport = H.free_port()
    target = start_target(target_bin, tport, save)
    procs = []
    try:
        bports = {"grpc": H.free_port(), "push": H.free_port(), "metrics": H.free_port()}
        backend = H.Profgate(profgate, "")
        backend.write_config(BACKEND.format(dir=backend.dir, **bports))
        procs.append(("backend", backend.start()))
        gports, genv = listen_env()
        genv.update({"PROFGATE_OTLP_BACKEND": "127.0.0.1:%d" % bports["grpc"],
                     "PROFGATE_PYROSCOPE": "http://127.0.0.1:%d" % bports["push"],
                     "PROFGATE_QUEUE": os.path.join(work, "queue")})
        procs.append(("gateway", start_config(profgate, "gateway", genv)))
        H.wait_until(lambda: healthy(gports["health"]), timeout=30, what="gateway health")
        sports, senv = listen_env()
        senv.update({"PROFGATE_TARGET": "127.0.0.1:%d" % tport,
                     "PROFGATE_GATEWAY": "127.0.0.1:%d" % gports["grpc"],
                     "PROFGATE_SCRAPE_INTERVAL": "3s", "PROFGATE_SCRAPE_TIMEOUT": "2s",
                     "OTEL_SERVICE_NAME": "chain-svc",
                     "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=chain-test,team=profiling"})
        procs.append(("sidecar", start_config(profgate, "sidecar", senv)))
        H.wait_until(lambda: healthy(sports["health"]), timeout=30, what="sidecar health")
        # four delta rounds of allocs, mutex and block from the sidecar, all of them sent
        H.wait_until(lambda: (H.metric(H.scrape(sports["metrics"]), "profgate_delta_emitted_profiles_total")
                              or 0) >= 12, timeout=90, what="the sidecar's deltas")
        H.wait_until(lambda: H.metric(H.scrape(sports["metrics"]), "profgate_exporter_queue_size",
                                      exporter="otlp") == 0, timeout=60, what="the sidecar's queue drained")
        # everything the sidecar sent has reached the backend through the gateway
        sent = H.metric(H.scrape(sports["metrics"]), "profgate_exporter_sent_profiles_total", exporter="otlp")
        H.wait_until(lambda: (H.metric(H.scrape(bports["metrics"]), "profgate_receiver_accepted_profiles_total",
                                       receiver="otlp") or 0) >= sent, timeout=60,
                     what="the backend to receive the %d profiles the sidecar sent" % sent)
        H.wait_until(lambda: glob.glob(os.path.join(backend.dir, "pyroscope", "*")), timeout=60,
                     what="the Pyroscope side of the fan-out")
    except AssertionError as e:
        c.check(False, str(e))
    finally:
        for name, pg in reversed(procs):
            c.check(pg.stop() == 0, name + " stops with exit 0")
        target.kill()
        target.wait()
    if c.failed:
        for name, pg in procs:
            print("---- %s log\n%s" % (name, pg.logs()[-2500:]))
        return
    checked = check_deltas(c, save, os.path.join(backend.dir, "out"), tport)
    print("deltas checked against go tool pprof -base: %s" % checked)

    profiles = otlp_profiles(os.path.join(backend.dir, "otlp"))
    c.check(len(profiles) > 0, "OTLP profiles at the backend")
    bad = [a for a, _, _ in profiles if a.get("service.name") != "chain-svc" or a.get("team") != "profiling" or
           a.get("deployment.environment.name") != "chain-test" or not a.get("host.name")]
    c.check(not bad, "every profile has the sidecar's resource attributes (%d without; first %s)"
            % (len(bad), bad[:1]))
    linked = [(used, funcs) for _, used, funcs in profiles if used]
    c.check(linked and all(used == {(TRACE, SPAN)} for used, _ in linked),
            "the burner's samples carry the link the gateway made from its labels: %s"
            % sorted({u for used, _ in linked for u in used}))
    c.check(linked and all(any("cpuBurn" in f for f in funcs) for _, funcs in linked),
            "the linked samples are the burner's")
    cpu = [f for f in glob.glob(os.path.join(backend.dir, "out", "*.pb.gz")) if TRACE.encode() in
           pprofcmp.raw_bytes(f)]
    c.check(cpu and all(pprof_label_values(f, "trace_id") == {TRACE} and pprof_label_values(f, "span_id") == {SPAN}
                        for f in cpu), "the pprof output has trace_id and span_id back as labels")


def main():
    profgate = os.path.realpath(sys.argv[1])
    if not shutil.which("go"):
        print("skipped: no Go toolchain")
        sys.exit(77)
    c = H.Checks()
    work = tempfile.mkdtemp(prefix="pg-chain-")
    H.otlp_proto_modules(os.path.join(work, "pb"))
    run(c, profgate, work, H.build_go(profgate, "scrapetarget"))
    if not c.failed:
        shutil.rmtree(work, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
