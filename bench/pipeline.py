"""Pipeline benchmark (make bench): files in -> memory_limiter -> file (OTLP) + debug out.
Prints profiles/s and samples/s end to end, peak RSS under load, and the idle RSS of
profgate on configs/default.yaml (target: under 10 MB). A benchmark, not a test."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "runtime"))
import harness as H  # noqa: E402

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 50ms
    delete_after_read: true
processors:
  memory_limiter:
    limit_mib: 4096
exporters:
  file:
    directory: {dir}/out
    format: otlp_proto
  debug:
    verbosity: basic
    sampling_initial: 1
    sampling_thereafter: 1000
""" + H.service_yaml("{metrics}", ["file"], ["file", "debug"], processors=["memory_limiter"],
                     log_level="warn")


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def idle_rss(binary, src_root):
    d = tempfile.mkdtemp(prefix="pg-idle-")
    p = subprocess.Popen([binary, "--config", os.path.join(src_root, "configs", "default.yaml")],
                         cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        H.wait_until(lambda: H.http_get("http://127.0.0.1:13133/")[0] == 200, what="default config up")
        time.sleep(1.0)
        return status_kb(p.pid, "VmRSS")
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    binary = os.path.abspath(sys.argv[1])
    src_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    mport = H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    pg.write_config(CONFIG.format(dir=d, metrics=mport))
    os.makedirs(os.path.join(d, "stage"))
    os.makedirs(os.path.join(d, "in"))
    inputs = [os.path.join(H.DATA, "pprof/go_heap.pb.gz"), os.path.join(H.DATA, "pprof/go_cpu.pb.gz")]
    for i in range(n):
        shutil.copy(inputs[i % 2], os.path.join(d, "stage", "p%05d.pb.gz" % i))
    pg.start()
    H.wait_until(lambda: H.http_get("http://127.0.0.1:%d/metrics" % mport)[0] == 200, what="up")
    time.sleep(0.3)
    rss_idle = status_kb(pg.proc.pid, "VmRSS")
    t0 = time.time()
    for f in sorted(os.listdir(os.path.join(d, "stage"))):
        os.rename(os.path.join(d, "stage", f), os.path.join(d, "in", f))

    def sent():
        s, _ = H.parse_prometheus(H.http_get("http://127.0.0.1:%d/metrics" % mport)[1])
        return (H.metric(s, "profgate_exporter_sent_profiles_total", exporter="file") or 0,
                H.metric(s, "profgate_receiver_accepted_profiles_total", receiver="file") or 0,
                H.metric(s, "profgate_receiver_accepted_samples_total", receiver="file") or 0)
    expected = None
    while time.time() - t0 < 300:
        s, acc, samples = sent()
        if not os.listdir(os.path.join(d, "in")) and acc and s >= acc:
            break
        time.sleep(0.05)
    dt = time.time() - t0
    peak = status_kb(pg.proc.pid, "VmHWM")
    s, acc, samples = sent()
    pg.stop()
    print("pipeline: %d files (%d profiles, %d samples) in %.2f s: %.0f profiles/s, %.0f samples/s"
          % (n, acc, samples, dt, acc / dt, samples / dt))
    print("pipeline: RSS idle %.1f MB, peak under load %.1f MB" % (rss_idle / 1024, peak / 1024))
    idle = idle_rss(binary, src_root)
    print("default config idle RSS: %.1f MB (target < 10 MB): %s"
          % (idle / 1024, "met" if idle < 10 * 1024 else "NOT MET"))
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
