"""Sidecar budget benchmark (make bench, not a test): profgate on configs/sidecar.yaml as
shipped (default 15 s scrape interval, 5 profile types: process_cpu, memory, goroutine,
mutex, block; memory_limiter, resource detectors, otlp exporter), scraping one Go service
(tests/go/scrapetarget: allocations, mutex and block contention; its CPU burner only with
PG_BENCH_SIDECAR_BURN=1, since the burner takes a whole core of a shared machine) and
exporting to a grpcio OTLP sink in this process. After the first scrape, measures for
PG_BENCH_SIDECAR_SECONDS (default 120) profgate's CPU (% of one core, utime + stime from
/proc) and its peak RSS (VmHWM, since start), and checks them against the budget of a
profiling agent: under 1% of a core, under 50 MB RSS. PG_BENCH_SIDECAR_INTERVAL overrides
the scrape interval (PROFGATE_SCRAPE_INTERVAL; the scrape timeout follows it).
Usage: sidecar.py PROFGATE"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime"))
sys.path.insert(0, HERE)
import harness as H  # noqa: E402
from grpc_sink import Backend  # noqa: E402
from otlp_grpc import cpu_seconds  # noqa: E402
from pipeline import status_kb  # noqa: E402
from test_deployments import healthy, listen_env, start_config  # noqa: E402

CPU_BUDGET, RSS_BUDGET_MB = 1.0, 50.0


def seconds_of(text):
    """A Go-style duration of whole units (500ms, 15s, 1m) in seconds."""
    for unit, scale in (("ms", 1e-3), ("s", 1), ("m", 60)):
        if text.endswith(unit) and text[:-len(unit)].isdigit():
            return int(text[:-len(unit)]) * scale
    raise SystemExit("bench sidecar: bad interval %r" % text)


def main():
    binary = os.path.abspath(sys.argv[1])
    seconds = float(os.environ.get("PG_BENCH_SIDECAR_SECONDS", "120"))
    interval = os.environ.get("PG_BENCH_SIDECAR_INTERVAL", "15s")
    burn = os.environ.get("PG_BENCH_SIDECAR_BURN", "0") == "1"
    target_bin = H.build_go(binary, "scrapetarget")
    tport = H.free_port()
    target = subprocess.Popen([target_bin, "-addr", "127.0.0.1:%d" % tport, "-gc", "1s",
                               "-burn=%s" % ("true" if burn else "false")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if target.stdout.readline().strip() != b"ready":
        raise SystemExit("bench sidecar: the Go target did not start")
    sink = Backend(record=lambda now, md, req: None)  # accepts, keeps nothing
    ports, env = listen_env()
    env.update({"PROFGATE_TARGET": "127.0.0.1:%d" % tport, "PROFGATE_GATEWAY": "127.0.0.1:%d" % sink.port,
                "PROFGATE_SCRAPE_INTERVAL": interval,
                "PROFGATE_SCRAPE_TIMEOUT": "%dms" % (seconds_of(interval) * 900),
                "OTEL_SERVICE_NAME": "bench-svc"})
    pg = start_config(binary, "sidecar", env)
    try:
        H.wait_until(lambda: healthy(ports["health"]), timeout=30, what="sidecar health")
        mport = ports["metrics"]
        H.wait_until(lambda: (H.metric(H.scrape(mport), "profgate_exporter_sent_profiles_total") or 0) > 0,
                     timeout=seconds_of(interval) + 30, what="the first scrape exported")
        m0 = H.scrape(mport)
        c0, t0 = cpu_seconds(pg.proc.pid), time.time()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(pg.proc.pid), time.time()
        m1 = H.scrape(mport)
        peak = status_kb(pg.proc.pid, "VmHWM") / 1024
        rss = status_kb(pg.proc.pid, "VmRSS") / 1024
        cpu = 100.0 * (c1 - c0) / (t1 - t0)

        def d(name, **kw):
            return (H.metric(m1, name, **kw) or 0) - (H.metric(m0, name, **kw) or 0)
        print("sidecar.yaml: 1 Go target (CPU burner %s), 5 profile types every %s, %.0f s measured: "
              "CPU %.2f%% of a core [budget < %.0f%%: %s], peak RSS %.1f MB (now %.1f) [budget < %.0f MB: %s]; "
              "%d profiles exported (%.0f KB scraped), %d scrape errors, %d send failures"
              % ("on" if burn else "off", interval, t1 - t0, cpu, CPU_BUDGET,
                 "met" if cpu < CPU_BUDGET else "NOT MET", peak, rss, RSS_BUDGET_MB,
                 "met" if peak < RSS_BUDGET_MB else "NOT MET",
                 d("profgate_exporter_sent_profiles_total"), d("profgate_receiver_accepted_bytes_total") / 1e3,
                 d("profgate_scrape_errors_total"), d("profgate_exporter_send_failed_profiles_total")))
    finally:
        pg.stop()
        sink.close()
        target.kill()
        target.wait()


if __name__ == "__main__":
    main()
