"""Runtime: file receiver -> file exporters (pprof, OTLP, OTLP/JSON) + debug, from YAML,
on the real binary. Checks outputs round-trip equal to the inputs, metrics, health,
SIGTERM drain, and that a restart does not read the same files again."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "roundtrip"))
import harness as H  # noqa: E402
import pprofcmp  # noqa: E402

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 100ms
processors:
  memory_limiter:
    limit_mib: 2048
    check_interval: 100ms
exporters:
  file/pprof:
    directory: {dir}/out-pprof
    format: pprof
  file/otlp:
    directory: {dir}/out-otlp
    format: otlp_proto
  file/json:
    directory: {dir}/out-json
    format: otlp_json
  debug:
    verbosity: normal
extensions:
  health_check:
    endpoint: 127.0.0.1:{health}
"""


def main():
    binary = sys.argv[1]
    c = H.Checks()
    health, mport = H.free_port(), H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    pg.write_config(CONFIG.format(dir=d, health=health) + H.service_yaml(
        mport, ["file"], ["file/pprof", "file/otlp", "file/json", "debug"],
        processors=["memory_limiter"], extensions=["health_check"]))
    os.makedirs(os.path.join(d, "in"))
    inputs = {"cpu.pb.gz": "pprof/go_cpu.pb.gz", "heap.pb.gz": "pprof/go_heap.pb.gz"}
    pg.start()
    H.wait_until(lambda: H.http_get("http://127.0.0.1:%d/" % health)[0] == 200, what="health 200")
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "http://127.0.0.1:%d/ready" % health], capture_output=True, timeout=30)
    c.check(r.stdout == b"200", "curl: /ready answers 200 after start (%r)" % r.stdout)
    for name, src in inputs.items():
        shutil.copy(os.path.join(H.DATA, src), os.path.join(d, "in", name))
    H.wait_until(lambda: len(glob.glob(d + "/out-pprof/*.pb.gz")) >= 2 and
                 len(glob.glob(d + "/out-otlp/*")) >= 2 and len(glob.glob(d + "/out-json/*")) >= 2,
                 what="exporter outputs")
    # pprof outputs equal the inputs (structural comparison of the round-trip suite)
    outs = sorted(glob.glob(d + "/out-pprof/*.pb.gz"))
    wanted = [pprofcmp.load(os.path.join(H.DATA, s)) for s in inputs.values()]
    for out in outs:
        got = pprofcmp.load(out)
        c.check(any(not pprofcmp.compare(w, got) for w in wanted), "pprof output %s equals an input" % out)
    # OTLP outputs convert back to the inputs
    for fmt in ("otlp", "json"):
        for out in sorted(glob.glob(d + "/out-%s/*" % fmt)):
            back = out + ".back.pb.gz"
            r = subprocess.run([binary, "convert", "--to", "pprof", out, back], capture_output=True)
            c.check(r.returncode == 0, "convert %s: %s" % (out, r.stderr))
            if r.returncode == 0:
                got = pprofcmp.load(back)
                c.check(any(not pprofcmp.compare(w, got) for w in wanted), "%s output equals an input" % fmt)
    # metrics, scraped with curl as a Prometheus server would. A file exporter counts a
    # profile sent after it renamed the file into place: wait for the count first
    try:
        H.wait_until(lambda: (H.metric(H.scrape(mport), "profgate_exporter_sent_profiles_total",
                                       exporter="file/pprof") or 0) >= 6, timeout=30, what="file/pprof sent count")
    except AssertionError:
        pass
    r = subprocess.run(["curl", "-sf", "-H", "Accept: text/plain", "http://127.0.0.1:%d/metrics" % mport],
                       capture_output=True, timeout=30)
    c.check(r.returncode == 0, "curl scrapes the metrics endpoint (exit %d)" % r.returncode)
    text = r.stdout.decode("utf-8", "replace")
    samples, types = H.parse_prometheus(text)
    acc = H.metric(samples, "profgate_receiver_accepted_profiles_total", receiver="file")
    c.check(acc is not None and acc >= 2 + 4, "receiver accepted profiles counted (%s)" % acc)
    sent = H.metric(samples, "profgate_exporter_sent_profiles_total", exporter="file/pprof")
    c.check(sent is not None and sent >= 6, "exporter sent profiles counted (%s)" % sent)
    c.check(H.metric(samples, "process_resident_memory_bytes") not in (None, 0.0), "process RSS reported")
    c.check(types.get("profgate_exporter_send_latency_seconds") == "histogram", "latency histogram typed")
    c.check("debug" in pg.logs() and "samples" in pg.logs(), "debug exporter logged profiles")
    # SIGTERM drains and exits 0
    t0 = time.time()
    rc = pg.stop(signal.SIGTERM)
    c.check(rc == 0, "exit code 0 after SIGTERM (got %s)" % rc)
    c.check(time.time() - t0 < 12, "stopped within the shutdown timeout")
    # restart: the same files are not read again
    before = len(glob.glob(d + "/out-pprof/*.pb.gz"))
    pg.start()
    H.wait_until(lambda: H.http_get("http://127.0.0.1:%d/" % health)[0] == 200, what="health after restart")
    time.sleep(0.6)
    c.check(len(glob.glob(d + "/out-pprof/*.pb.gz")) == before, "restart does not re-read files")
    shutil.copy(os.path.join(H.DATA, "otlp/go_heap.otlp"), os.path.join(d, "in", "heap.otlp"))
    H.wait_until(lambda: len(glob.glob(d + "/out-pprof/*.pb.gz")) > before, what="new file after restart")
    H.finish(c, pg, "second stop exits 0")


if __name__ == "__main__":
    main()
