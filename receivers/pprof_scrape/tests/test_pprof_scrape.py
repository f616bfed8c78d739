# ctest: TIMEOUT 600 RUN_SERIAL TRUE
"""Runtime: the pprof_scrape receiver against a real Go service (tests/go/scrapetarget:
net/http/pprof, a CPU burner, an allocator, mutex and block contention) on two ports.

- CPU profiles hold the burner's frames;
- every delta profgate emits for allocs, mutex and block equals Go's own diff of the two
  profiles it was made from (`go tool pprof -raw -base prev cur`; the target saves every
  profile it serves), is never negative, keeps inuse_* as the newer profile has them, and
  spans prev..cur in time;
- file_sd: a target added to a watched file is scraped without a restart, and dropped when
  removed;
- unreachable, 404, garbage and slow (timeout) targets are counted by reason, logged once
  each, and the good target keeps being scraped;
- a restarted target re-primes (profgate_delta_restarts_total);
- bearer and basic credentials reach the target (it answers 401 without them);
- scrape_timeout above scrape_interval is rejected by `profgate validate`."""
import glob
import os
import signal
import subprocess
import sys
import time

import gooracle
import harness as H
from scrape_oracle import check_deltas, info

CONFIG = """
receivers:
  pprof_scrape/good:
    scrape_interval: 2s
    scrape_timeout: 1s
    bearer_token: s3cret
    targets:
      - endpoint: 127.0.0.1:{p1}
        labels: {{service_name: scrapetest, env: test}}
    file_sd:
      files: ["{dir}/sd/*.json", "{dir}/sd/*.yaml"]
      refresh_interval: 200ms
  pprof_scrape/bad:
    scrape_interval: 1s
    scrape_timeout: 500ms
    basic_auth: {{username: u, password: s3cret}}
    targets:
      - endpoint: 127.0.0.1:{dead}
      - endpoint: 127.0.0.1:{p1}
    profiling_config:
      process_cpu: {{enabled: false}}
      memory: {{enabled: false}}
      goroutine: {{enabled: false}}
      mutex: {{enabled: false}}
      block: {{enabled: false}}
      custom:
        - {{name: nf, path: /nope}}
        - {{name: garbage, path: /garbage}}
        - {{name: slow, path: /slow}}
  pprof_scrape/noauth:
    scrape_interval: 1s
    scrape_timeout: 500ms
    targets: [{{endpoint: "127.0.0.1:{p1}"}}]
    profiling_config:
      process_cpu: {{enabled: false}}
      memory: {{enabled: false}}
      mutex: {{enabled: false}}
      block: {{enabled: false}}
exporters:
  file:
    directory: {dir}/out
    format: pprof
"""


def start_target(binary, ports, save):
    p = subprocess.Popen([binary, "-token", "s3cret", "-addr", ",".join("127.0.0.1:%d" % x for x in ports), "-save", save],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdout.readline().strip() == b"ready"
    return p


def series(mport, name, **labels):
    return H.metric(H.scrape(mport), name, **labels)


def main():
    profgate = sys.argv[1]
    c = H.Checks()

    # a timeout above the interval is refused at validate
    pg = H.Profgate(profgate, "receivers:\n  pprof_scrape:\n    scrape_interval: 2s\n    scrape_timeout: 5s\n"
                    "    targets: [{endpoint: 127.0.0.1:1}]\nexporters:\n  nop:\n" +
                    H.service_yaml(None, ["pprof_scrape"], ["nop"]))
    r = subprocess.run([profgate, "validate", "--config", pg.config], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    c.check(r.returncode != 0 and b"scrape_timeout" in r.stdout, "timeout > interval rejected: %r" % r.stdout)

    binary = H.build_go(profgate, "scrapetarget")
    p1, p2, dead = H.free_port(), H.free_port(), H.free_port()
    pg, mport = None, None
    work = None
    target = None
    try:
        mport = H.free_port()
        pg = H.Profgate(profgate, "")
        work = pg.dir
        for d in ("out", "save", "sd"):
            os.makedirs(os.path.join(work, d))
        with open(os.path.join(work, "sd", "targets.yaml"), "w") as f:
            f.write("[]\n")
        target = start_target(binary, (p1, p2), os.path.join(work, "save"))
        pg.write_config(CONFIG.format(dir=work, p1=p1, dead=dead) +
                        H.service_yaml(mport, ["pprof_scrape/good", "pprof_scrape/bad", "pprof_scrape/noauth"],
                                       ["file"]))
        pg.start()
        H.wait_until(lambda: H.scrape(mport), what="metrics endpoint")
        good = {"receiver": "pprof_scrape/good"}
        H.wait_until(lambda: (series(mport, "profgate_delta_emitted_profiles_total", **good) or 0) >= 6,
                     timeout=30, what="deltas emitted")

        # CPU profiles hold the burner's frames. The CPU job's first scrape starts at its
        # jitter offset (up to one interval) and lasts a second, so it can finish after the
        # other jobs' second round: wait for it rather than assume it.
        def cpu_files():
            return [f for f in glob.glob(os.path.join(work, "out", "*.pb.gz")) if "cpu" in info(f)[2]]
        H.wait_until(lambda: cpu_files() and series(mport, "profgate_scrape_target_up", receiver="pprof_scrape/good",
                                                    profile="process_cpu") is not None,
                     timeout=30, what="a CPU profile scraped")
        cpu = cpu_files()
        c.check(bool(cpu), "CPU profiles written")
        c.check(any("main.cpuBurn" in gooracle.go_pprof(["-raw"], f) for f in cpu), "CPU profiles hold main.cpuBurn")
        m = H.scrape(mport)
        c.check(H.metric(m, "profgate_scrape_target_up", receiver="pprof_scrape/good", profile="process_cpu") == 1,
                "the CPU job is up")

        # failures, counted by reason; the good target keeps being scraped
        bad = {"receiver": "pprof_scrape/bad"}
        for reason in ("connect", "http_status", "decode", "timeout"):
            c.check((H.metric(m, "profgate_scrape_errors_total", reason=reason, **bad) or 0) >= 1,
                    "bad targets: errors with reason %s" % reason)
        c.check(H.metric(m, "profgate_scrape_target_up", **bad) == 0, "every bad job is down")
        # credentials: bearer (good) and basic (bad: /garbage reached, a decode error) work;
        # without them the target answers 401
        noauth = {"receiver": "pprof_scrape/noauth"}
        c.check((H.metric(m, "profgate_scrape_errors_total", reason="http_status", **noauth) or 0) >= 1 and
                H.metric(m, "profgate_scrape_target_up", **noauth) == 0, "no credentials: 401, down")
        before = H.metric(m, "profgate_receiver_accepted_profiles_total", **good)
        H.wait_until(lambda: series(mport, "profgate_receiver_accepted_profiles_total", **good) > before,
                     timeout=10, what="the good target still scraped")
        def downs():
            return [ln for ln in pg.logs().splitlines() if "pprof_scrape/bad:" in ln and " is down: " in ln]

        def down_urls():
            return [ln.split("pprof_scrape/bad: ", 1)[1].split(" is down")[0] for ln in downs()]
        H.wait_until(lambda: len(set(down_urls())) == 6, timeout=10, what="every failing job logged")
        time.sleep(1.5)  # a second round of failures: still one line per job
        urls = down_urls()
        c.check(len(urls) == 6 and len(set(urls)) == 6, "one log line per failing job: %s" % downs())

        # file_sd: a target added, scraped, removed
        with open(os.path.join(work, "sd", "more.json"), "w") as f:
            f.write('[{"targets": ["127.0.0.1:%d"], "labels": {"service_name": "fromsd"}}]\n' % p2)
        H.wait_until(lambda: series(mport, "profgate_scrape_targets", **good) == 2, timeout=10,
                     what="file_sd target added")
        inst2 = "127.0.0.1:%d" % p2
        H.wait_until(lambda: series(mport, "profgate_scrape_target_up", instance=inst2, profile="goroutine",
                                    **good) == 1, timeout=10, what="file_sd target scraped")
        os.unlink(os.path.join(work, "sd", "more.json"))
        H.wait_until(lambda: series(mport, "profgate_scrape_targets", **good) == 1, timeout=10,
                     what="file_sd target removed")
        c.check(series(mport, "profgate_scrape_target_up", instance=inst2, **good) is None,
                "the removed target's series are gone")

        # a restarted target re-primes. It comes back as soon as its memory job has failed
        # once: that series then goes two intervals (4 s) without a profile, under the delta
        # state's expiry of two intervals plus the timeout (5 s). A fixed pause could span
        # two failed rounds, the state would expire, and the target would prime afresh
        # instead of being seen restarting.
        target.send_signal(signal.SIGKILL)
        target.wait()

        def memory_down():
            return any("pprof_scrape/good: " in ln and "/debug/pprof/allocs is down" in ln
                       for ln in pg.logs().splitlines())
        H.wait_until(memory_down, timeout=10, what="the memory job down")
        target = start_target(binary, (p1, p2), os.path.join(work, "save"))
        H.wait_until(lambda: (series(mport, "profgate_delta_restarts_total", **good) or 0) >= 1, timeout=90,
                     what="a restart detected")
        emitted = series(mport, "profgate_delta_emitted_profiles_total", **good)
        H.wait_until(lambda: series(mport, "profgate_delta_emitted_profiles_total", **good) >= emitted + 18,
                     timeout=120, what="three rounds of deltas after the restart")
        c.check(any("is up again" in ln for ln in pg.logs().splitlines()), "a log line when the target is back")
    except AssertionError as e:  # a wait timed out: a failed check, with the service's log below
        c.check(False, str(e))
    finally:
        if pg and pg.alive():
            c.check(pg.stop() == 0, "profgate exits 0")
        if target:
            target.send_signal(signal.SIGKILL)
            target.wait()
    check_deltas(c, os.path.join(work, "save"), os.path.join(work, "out"), p1)
    if c.failed and pg:
        print(pg.logs()[-4000:])
    c.finish()


if __name__ == "__main__":
    main()
