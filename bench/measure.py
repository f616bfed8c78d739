#!/usr/bin/python3
"""measure.py PROFGATE WORKDIR PROFILE... — timings and peak RSS for `make bench` (stdlib only).

Each PROFILE is measured on its own, then one summary table lists every profile against the
targets.

Best wall-clock run of each of: gzip -dc PROFILE (to /dev/null); profgate convert PROFILE -
(pprof->OTLP, gunzip included, to /dev/null like gzip); the same into a file x.otlp; and
profgate convert x.otlp back.pb.gz (OTLP->pprof), run in turn, round after round (5 rounds,
more up to 15 while they take under 3 s), so that gzip and profgate are timed over the same
stretches of a machine whose speed drifts. Peak RSS is
GNU time's %M (/usr/bin/time, Debian package `time`), max over the runs; without it, the
child's ru_maxrss from wait4, which on Linux also counts the forked launcher's pages before exec
(a floor, printed, measured with `true`). MB/s is on the uncompressed pprof size.
Targets: pprof->OTLP time <= 1.5x gunzip time; OTLP->pprof time <= 2.5x gunzip time; peak RSS
<= 3x uncompressed input size + 8 MB. For inputs under 100 KB it also prints conversions per
second (one process per conversion, pprof->OTLP). Then the in-process figures of
bench_translate (built next to profgate, in BUILD/bench/): conversions per second both ways
on CPU time, with no process start-up, as a gateway converts. Finally checks back.pb.gz
against PROFILE with tests/roundtrip/pprofcmp.py (informational). It first prints what
faulting in fresh memory costs on this machine, which the time ratios depend on.
"""
import gzip
import os
import subprocess
import sys
import tempfile
import time

RUNS = 5
MAX_ROUNDS, ROUNDS_BUDGET = 15, 3.0
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "roundtrip"))


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_once(cmd, stdout):
    """Run cmd once; return (wall seconds, peak RSS bytes)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        full = [GNU_TIME, "-f", "%M", "-o", tf.name] + cmd if GNU_TIME else cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=stdout, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), code, err.decode(errors="replace").strip()))
        kb = int(tf.read().split()[-1]) if GNU_TIME else ru.ru_maxrss
    return dt, kb * 1024


def best_of(cmd):
    times, rss = [], 0
    with open(os.devnull, "wb") as null:
        for _ in range(RUNS):
            dt, r = run_once(cmd, null)
            times.append(dt)
            rss = max(rss, r)
    return min(times), rss


def best_interleaved(cmds):
    """Runs the commands in turn, round after round (at least RUNS rounds, more while the
    rounds so far took under ROUNDS_BUDGET seconds, at most MAX_ROUNDS); returns
    ([(best wall seconds, peak RSS bytes)] per command, rounds). A virtual machine's speed drifts
    from one minute to the next: in rounds, gzip -dc and profgate see the same stretches of
    it, where five runs of one and then five of the other may not."""
    times = [[] for _ in cmds]
    rss = [0] * len(cmds)
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        rounds = 0
        while rounds < RUNS or (rounds < MAX_ROUNDS and time.perf_counter() - t0 < ROUNDS_BUDGET):
            for k, cmd in enumerate(cmds):
                dt, r = run_once(cmd, null)
                times[k].append(dt)
                rss[k] = max(rss[k], r)
            rounds += 1
    return [(min(t), r) for t, r in zip(times, rss)], rounds


TARGET_TO_OTLP, TARGET_TO_PPROF = 1.5, 2.5
RSS_FACTOR, RSS_SLACK = 3.0, 8e6
SMALL = 100e3


def in_process(profgate, prof):
    """Runs bench_translate on prof; prints its table; returns (to OTLP, to pprof) conv/s."""
    exe = os.path.join(os.path.dirname(os.path.abspath(profgate)), "bench", "bench_translate")
    if not os.access(exe, os.X_OK):
        print("\nin-process: %s not built" % exe)
        return None
    p = subprocess.run([exe, prof, "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("\n" + p.stdout.rstrip())
    rates = {}
    for line in p.stdout.splitlines():
        for step in ("pprof -> OTLP", "OTLP -> pprof"):
            if line.startswith(step):
                rates[step] = float(line[len(step):].split()[1])
    if p.returncode != 0 or len(rates) != 2:
        return None
    return rates["pprof -> OTLP"], rates["OTLP -> pprof"]


def measure(profgate, work, prof):
    """Measures one profile; prints its table; returns (name, MB, checks) for the summary."""
    stem = os.path.basename(prof).split(".")[0]
    otlp, back = os.path.join(work, stem + ".otlp"), os.path.join(work, stem + ".back.pb.gz")
    # Measure first, while this process is small (see the wait4 note above).
    rows = []
    rounds = 0
    try:
        floor = best_of(["true"])[1]
        # Like for like with gzip -dc: the output goes to stdout, which is /dev/null. The
        # file rows run after it in each round (the last reads what the one before wrote).
        steps = [("gzip -dc", ["gzip", "-dc", prof]),
                 ("pprof -> OTLP", [profgate, "convert", "--to", "otlp_proto", prof, "-"]),
                 ("pprof -> OTLP file", [profgate, "convert", prof, otlp]),
                 ("OTLP -> pprof file", [profgate, "convert", otlp, back])]
        best, rounds = best_interleaved([cmd for _, cmd in steps])
        rows = [(name, *b) for (name, _), b in zip(steps, best)]
    except RuntimeError as e:
        print("bench: %s" % e)
    with open(prof, "rb") as f:
        comp = f.read()
    raw = gzip.decompress(comp) if comp[:2] == b"\x1f\x8b" else comp
    mb = len(raw) / 1e6
    try:
        import pprofcmp
        nsamples = pprofcmp.info(prof)["samples"]
    except Exception as e:  # informational only
        nsamples = "? (%s)" % e
    print("input: %s  %.2f MB gzipped, %.2f MB uncompressed, %s samples" % (prof, len(comp) / 1e6, mb, nsamples))
    print("peak RSS via %s" % ("GNU time %M" if GNU_TIME else
                               "wait4 ru_maxrss (includes a launcher floor of %.1f MB)" % (floor / 1e6)))
    print("best of %d rounds, each running the steps below in turn" % rounds)
    print("\n%-16s %10s %10s %12s %14s" % ("step", "best (s)", "MB/s", "peak RSS MB", "RSS / input"))
    for name, t, rss in rows:
        print("%-16s %10.4f %10.1f %12.1f %13.2fx" % (name, t, mb / t, rss / 1e6, rss / len(raw)))
    checks = []
    if len(rows) == 4:
        g, to_otlp, to_otlp_file, to_pprof = rows
        if len(raw) < SMALL:
            print("conversions per second (pprof -> OTLP, one process each): %.0f" % (1 / to_otlp[1]))
        size = os.path.getsize(otlp)
        print("\nOTLP output: %.2f MB (%.2fx the uncompressed pprof)" % (size / 1e6, size / len(raw)))
        print("(gzip -dc and the first pprof -> OTLP row write to /dev/null; the file rows also"
              " pay for writing %.1f MB into the page cache: %.3f s here)"
              % (size / 1e6, to_otlp_file[1] - to_otlp[1]))
        print("\n%-44s %8s %8s  %s" % ("target", "actual", "limit", "result"))
        # RSS: the limit is 3x the input + 8 MB, shown as a multiple of the input.
        rss_lim = (RSS_FACTOR * len(raw) + RSS_SLACK) / len(raw)
        checks = [("pprof->OTLP time / gunzip time", to_otlp[1] / g[1], TARGET_TO_OTLP),
                  ("OTLP->pprof time / gunzip time", to_pprof[1] / g[1], TARGET_TO_PPROF),
                  ("pprof->OTLP peak RSS / uncompressed input", max(to_otlp[2], to_otlp_file[2]) / len(raw), rss_lim),
                  ("OTLP->pprof peak RSS / uncompressed input", to_pprof[2] / len(raw), rss_lim)]
        for name, val, lim in checks:
            print("%-44s %7.2fx %7.1fx  %s" % (name, val, lim, "met" if val <= lim else "NOT MET"))
        try:
            t0 = time.perf_counter()
            diffs = pprofcmp.compare(pprofcmp.load(prof), pprofcmp.load(back), "input", "output")
            print("\nround trip (pprofcmp, %.0fs): %s" % (time.perf_counter() - t0, "equal" if not diffs else "DIFFERENT"))
            for d in diffs[:10]:
                print("    " + d.replace("\n", "\n    "))
        except Exception as e:
            print("\nround trip check failed: %s" % e)
    rates = in_process(profgate, prof)
    return stem, mb, checks, rates


def first_touch_us():
    """Microseconds per 4 KiB page to fault in 64 MiB of fresh anonymous memory (best of 3).

    A conversion touches a few times its input in fresh memory while gzip -dc reuses a few
    small buffers, so where faulting a page costs much (some virtual machines: 5-10 us
    instead of 0.1-0.3 us on bare metal) the time ratios grow with the memory touched."""
    import mmap
    n = 64 << 20
    best = None
    for _ in range(3):
        m = mmap.mmap(-1, n)
        t = time.perf_counter()
        for off in range(0, n, 4096):
            m[off] = 1
        dt = time.perf_counter() - t
        m.close()
        best = dt if best is None else min(best, dt)
    return best * 1e6 / (n // 4096)


def main(argv):
    profgate, work = argv[1:3]
    us = first_touch_us()
    print("machine: first touch of fresh memory %.2f us per 4 KiB page, %.1f ms per MB touched "
          "(the Python loop included)" % (us, us * 256 / 1000))
    summary = []
    for prof in argv[3:]:
        print("\n==== %s" % os.path.basename(prof))
        summary.append(measure(profgate, work, prof))
    print("\n==== summary (ratios: time vs gzip -dc, RSS vs uncompressed input; limit in brackets)")
    print("%-14s %7s %18s %18s %18s %18s %22s" % ("profile", "MB", "to OTLP [1.5]", "to pprof [2.5]",
                                                  "RSS to OTLP", "RSS to pprof",
                                                  "in-process conv/s"))
    for stem, mb, checks, rates in summary:
        cells = ["%.2fx [%.1f] %s" % (v, lim, "ok" if v <= lim else "NO") for _, v, lim in checks]
        inproc = "%.0f / %.0f" % rates if rates else "-"
        print("%-14s %7.2f %18s %18s %18s %18s %22s" % (stem, mb, *(cells + ["-"] * (4 - len(cells))),
                                                         inproc))
    print("(in-process conv/s: pprof -> OTLP / OTLP -> pprof, CPU time, bench_translate)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
