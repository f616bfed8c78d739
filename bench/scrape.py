"""Benchmark: the pprof_scrape receiver scraping N targets x 5 profile types at a short
interval (one Go scrapetarget process listening on N ports, without its CPU burner; memory, goroutine, mutex and
block plus a custom `heap` type: Go serves one CPU profile at a time, so process_cpu is
off). Reports profgate's CPU (% of one core) and RSS over the measuring window, and the
scrapes done and failed. With TYPES 2, only memory and mutex are scraped.
Usage: scrape.py PROFGATE [TARGETS [INTERVAL_S [SECONDS [TYPES]]]]."""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "runtime"))
import harness as H  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICK


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def free_ports(n):
    """n distinct free loopback ports (held open together while choosing)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def main():
    profgate = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    types = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    target_bin = H.build_go(profgate, "scrapetarget")
    ports = free_ports(n)
    target = subprocess.Popen([target_bin, "-burn=false", "-gc", "1s", "-cache", "1s",
                               "-addr", ",".join("127.0.0.1:%d" % p for p in ports)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if target.stdout.readline().strip() != b"ready":
        raise SystemExit("bench: the scrape target did not start")
    mport = H.free_port()
    targets = "".join("      - endpoint: 127.0.0.1:%d\n        labels: {service_name: svc%d}\n" % (p, i)
                      for i, p in enumerate(ports))
    cfg = ("receivers:\n  pprof_scrape:\n    scrape_interval: %dms\n    scrape_timeout: %dms\n"
           "    targets:\n%s"
           "    profiling_config:\n      process_cpu: {enabled: false}\n%s"
           "exporters:\n  nop:\n" % (interval * 1000, interval * 900, targets,
                                     "      custom: [{name: heap, path: /debug/pprof/heap}]\n" if types == 5 else
                                     "      goroutine: {enabled: false}\n      block: {enabled: false}\n"))
    pg = H.Profgate(profgate, cfg + H.service_yaml(mport, ["pprof_scrape"], ["nop"]))
    try:
        pg.start()
        H.wait_until(lambda: H.scrape(mport), what="metrics endpoint")
        time.sleep(2 * interval + 1)  # every target primed
        m0 = H.scrape(mport)
        c0, t0, peak = cpu_seconds(pg.proc.pid), time.time(), 0.0
        while time.time() - t0 < seconds:
            time.sleep(0.5)
            peak = max(peak, rss_mb(pg.proc.pid))
        c1, t1 = cpu_seconds(pg.proc.pid), time.time()
        m1 = H.scrape(mport)

        def d(name, **kw):
            return (H.metric(m1, name, **kw) or 0) - (H.metric(m0, name, **kw) or 0)

        scrapes = d("profgate_receiver_accepted_bytes_total")
        print("scrape: %d targets x %d types every %.1fs for %.0fs: profgate CPU %.1f%% of a core, "
              "RSS %.1f MB peak; %d profiles passed on, %.1f MB scraped, %d scrape errors, %d overruns, "
              "%d delta series" % (
                  n, types, interval, t1 - t0, 100.0 * (c1 - c0) / (t1 - t0), peak,
                  d("profgate_receiver_accepted_profiles_total"), scrapes / 1e6,
                  d("profgate_scrape_errors_total"), d("profgate_scrape_overruns_total"),
                  H.metric(m1, "profgate_delta_series") or 0))
    finally:
        pg.stop()
        target.kill()
        target.wait()


if __name__ == "__main__":
    main()
