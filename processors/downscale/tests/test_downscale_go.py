"""Runtime: real Go profiles through file receiver -> downscale (factor 4) -> file
exporter (pprof). `go tool pprof` reads every output; CPU profiles have period x 4 and
every sample's cpu/nanoseconds equal to its count x the new period, no zero samples and
fewer samples than the input; heap and allocs (already estimates) come out equal to the
input by `go tool pprof -raw`; the metrics count what was thinned and what passed."""
# ctest: TIMEOUT 300 SKIP_RETURN_CODE 77
import glob
import os
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
  downscale:
    factor: 4
    seed: 11
exporters:
  file:
    directory: {dir}/out
    format: pprof
"""


def main():
    binary = sys.argv[1]
    c = H.Checks()
    gen = H.profgen(binary)
    if not gen:
        print("go not available")
        sys.exit(77)
    pg, mport = H.start_with_metrics(binary, CONFIG + H.service_yaml(
        "{metrics}", ["file"], ["file"], processors=["downscale"]))
    d = pg.dir
    subprocess.run([gen, "cpus", os.path.join(d, "gen")], check=True)
    subprocess.run([gen, "real", os.path.join(d, "real")], check=True, stderr=subprocess.DEVNULL)
    inputs = sorted(glob.glob(os.path.join(d, "gen", "cpu-*.pb.gz")))
    inputs += [os.path.join(d, "real", n) for n in ("heap.pb.gz", "allocs.pb.gz")]
    for i, p in enumerate(inputs):
        os.rename(p, os.path.join(d, "in", "%d-%s" % (i, os.path.basename(p))))
    inputs = sorted(glob.glob(os.path.join(d, "in", "*.pb.gz")))
    H.wait_until(lambda: len(glob.glob(os.path.join(d, "out", "*.pb.gz"))) == 5, what="5 outputs")
    samples = H.scrape(mport)
    m = lambda r: H.metric(samples, "profgate_downscale_profiles_total", processor="downscale",
                           result=r)
    c.check(m("thinned") == 6, "6 CPU profiles thinned (%r)" % m("thinned"))
    c.check(m("estimate") == 8, "8 heap/allocs profiles passed as estimates (%r)" % m("estimate"))
    c.check(pg.stop() == 0, "exit 0")
    outs = sorted(glob.glob(os.path.join(d, "out", "*.pb.gz")))
    by_type = {}
    for o in outs:
        h, types, s, _ = gooracle.parse_raw(gooracle.go_pprof(["-raw"], o))
        by_type.setdefault(types.split()[0], []).append((o, h, s))
    cpu_in = sum(len(gooracle.parse_raw(gooracle.go_pprof(["-raw"], p))[2]) for p in inputs[:3])
    cpu = by_type.get("samples/count", [])
    c.check(len(cpu) == 3, "three CPU outputs")
    n_out = 0
    for o, h, s in cpu:
        c.check("Period: 40000000" in h, "period x 4 in %s: %r" % (o, h))
        bad = [v for v, _, _ in s if v[1] != v[0] * 40000000 or v[0] == 0]
        c.check(not bad, "count x period and no zeros: %r" % bad[:3])
        n_out += len(s)
    c.check(0 < n_out < cpu_in, "fewer samples: %d of %d" % (n_out, cpu_in))
    heap_in = [p for p in inputs if p.endswith(("heap.pb.gz", "allocs.pb.gz"))]
    heap_out = [o for o, _, _ in by_type.get("alloc_objects/count", [])]
    c.check(len(heap_out) == 2, "heap and allocs out")
    for a in heap_in:
        diffs = [gooracle.compare_raw(a, b) for b in heap_out]
        c.check(any(not x for x in diffs), "%s unchanged: %r" % (a, [x[:2] for x in diffs]))
    if c.failed:
        print(pg.logs()[-3000:])
    c.finish()


if __name__ == "__main__":
    main()
