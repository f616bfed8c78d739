"""Runtime: a Go CPU profile of a program that profiles itself (profgen selfprof: one
goroutine keeps writing heap and goroutine profiles while another hashes) goes through
file receiver -> profiler_overhead -> nop. The ratio, matched and total counters equal what
`go tool pprof -raw` says independently: the share of samples/count over samples whose
stacks hold a runtime/pprof.* or runtime.sigprof frame (any inlined line)."""
# ctest: TIMEOUT 300 SKIP_RETURN_CODE 77
import os
import re
import subprocess
import sys

import harness as H
import gooracle

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*.pb.gz" ]
    poll_interval: 50ms
processors:
  profiler_overhead:
exporters:
  nop:
"""
PROFILER = re.compile(r"^runtime/pprof\.|^runtime\.sigprof")


def oracle(path):
    """(matched, total) samples/count from go tool pprof -raw, parsed here."""
    text = gooracle.go_pprof(["-raw"], path)
    lines = text.split("\n")
    funcs, cur, section = {}, None, None
    samples = []
    for ln in lines:
        if ln in ("Samples:", "Locations", "Mappings"):
            section = ln
            continue
        if section == "Samples:":
            m = gooracle.SAMPLE_RE.match(ln)
            if m:
                samples.append((int(m.group(1).split()[0]), [int(x) for x in m.group(2).split()]))
        elif section == "Locations" and ln.strip():
            m = gooracle.LOC_RE.match(ln)
            if m and not ln.startswith(gooracle.CONT):
                cur = int(m.group(1))
                funcs[cur] = [m.group(4).split()[0]]
            elif cur is not None:
                funcs[cur].append(ln.split()[0])
    total = sum(v for v, _ in samples)
    matched = sum(v for v, ids in samples
                  if any(PROFILER.search(f) for i in ids for f in funcs.get(i, [])))
    return matched, total


def main():
    binary = sys.argv[1]
    c = H.Checks()
    gen = H.profgen(binary)
    if not gen:
        print("go not available")
        sys.exit(77)
    pg, mport = H.start_with_metrics(binary, CONFIG + H.service_yaml(
        "{metrics}", ["file"], ["nop"], processors=["profiler_overhead"]))
    d = pg.dir
    src = os.path.join(d, "self.pb.gz")
    subprocess.run([gen, "selfprof", src], check=True, stderr=subprocess.DEVNULL)
    matched, total = oracle(src)
    c.check(total > 0 and matched > 0, "the program spent samples in the profiler (%d of %d)"
            % (matched, total))
    os.rename(src, os.path.join(d, "in", "self.pb.gz"))
    lab = dict(processor="profiler_overhead", service_name="unknown_service")
    H.wait_until(lambda: H.metric(H.scrape(mport), "profgate_profiler_overhead_profiles_total",
                                  processor="profiler_overhead") == 1, what="one profile measured")
    s = H.scrape(mport)
    ratio = H.metric(s, "profgate_profiler_overhead_ratio", **lab)
    c.check(H.metric(s, "profgate_profiler_overhead_samples_total", **lab) == matched,
            "matched %r vs go tool pprof %d" % (H.metric(s, "profgate_profiler_overhead_samples_total", **lab), matched))
    c.check(H.metric(s, "profgate_profiler_cpu_samples_total", **lab) == total,
            "total %r vs go tool pprof %d" % (H.metric(s, "profgate_profiler_cpu_samples_total", **lab), total))
    want = matched / total if total else 0
    c.check(ratio is not None and abs(ratio - want) < 1e-9, "ratio %r vs %r" % (ratio, want))
    H.finish(c, pg)


if __name__ == "__main__":
    main()
