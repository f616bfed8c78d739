"""Runtime: three real Go CPU profiles of one program go through file receiver ->
aggregate (1h window) -> file exporter (pprof); at shutdown the window is flushed as one
pprof, which `go tool pprof` reads and whose samples equal, stack by stack and label by
label, Go's own merge of the three inputs (`go tool pprof -proto a b c`). The metrics
count the inputs and the shutdown flush."""
# ctest: TIMEOUT 300 SKIP_RETURN_CODE 77
import collections
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
  aggregate:
    window: 1h
exporters:
  file:
    directory: {dir}/out
    format: pprof
"""


def by_stack(path):
    """{(resolved stack, labels): summed values} and the sample-type line of -raw."""
    _, types, samples, _ = gooracle.parse_raw(gooracle.go_pprof(["-raw"], path))
    out = collections.defaultdict(lambda: None)
    for vals, stack, labels in samples:
        k = (stack, tuple(sorted(labels)))
        out[k] = vals if out[k] is None else tuple(a + b for a, b in zip(out[k], vals))
    return dict(out), types


def main():
    binary = sys.argv[1]
    c = H.Checks()
    gen = H.profgen(binary)
    if not gen:
        print("go not available")
        sys.exit(77)
    pg, mport = H.start_with_metrics(binary, CONFIG + H.service_yaml("{metrics}", ["file"], ["file"],
                                                                       processors=["aggregate"]))
    d = pg.dir
    subprocess.run([gen, "cpus", os.path.join(d, "gen")], check=True)
    inputs = sorted(glob.glob(os.path.join(d, "gen", "cpu-*.pb.gz")))
    c.check(len(inputs) == 3, "three inputs")
    for p in inputs:
        os.rename(p, os.path.join(d, "in", os.path.basename(p)))
    metric = lambda name, **kw: H.metric(H.scrape(mport), name, processor="aggregate", **kw)
    H.wait_until(lambda: metric("profgate_aggregate_input_profiles_total") == 6,
                 what="6 profiles in the window")
    c.check(not glob.glob(os.path.join(d, "out", "*")), "nothing out before the window ends")
    c.check(pg.stop() == 0, "exit 0")
    outs = glob.glob(os.path.join(d, "out", "*.pb.gz"))
    c.check(len(outs) == 1, "one merged pprof (got %d)" % len(outs))
    if outs:
        merged = os.path.join(d, "go-merged.pb.gz")
        with open(merged, "wb") as f:
            f.write(subprocess.run(["go", "tool", "pprof", "-proto"] +
                                   [os.path.join(d, "in", os.path.basename(p)) for p in inputs],
                                   stdout=subprocess.PIPE, check=True,
                                   env=dict(os.environ, PPROF_TMPDIR=d)).stdout)
        want, wtypes = by_stack(merged)
        got, gtypes = by_stack(outs[0])
        c.check(wtypes == gtypes, "sample types %r vs %r" % (gtypes, wtypes))
        c.check(len(want) > 5, "Go's merge has samples (%d)" % len(want))
        c.check(got == want, "per stack and labels: %d keys vs Go's %d; differing: %r" % (
            len(got), len(want), [k for k in set(got) | set(want) if got.get(k) != want.get(k)][:3]))
        tw = [sum(v[i] for v in want.values()) for i in range(2)]
        tg = [sum(v[i] for v in got.values()) for i in range(2)]
        c.check(tw == tg, "totals %r vs Go's %r" % (tg, tw))
    if c.failed:
        print(pg.logs()[-3000:])
    c.finish()


if __name__ == "__main__":
    main()
