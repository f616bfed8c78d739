# ctest: TIMEOUT 300
"""Runtime: the multipart prev_profile of old Pyroscope SDKs as a delta source
(`prev_profile: delta`, the default) and refused (`prev_profile: reject`), driven by curl.
Each result is checked exactly: pprofs built here with chosen stacks and values, the file
exporter's pprof decoded back to {(sample type, stack): value} and compared with the
expected difference for cumulative types (alloc_*, contentions, delay, or what
sample_type_config marks `cumulative`) and with the profile's own values for inuse_* and
the others; a pure mutex pair also against `go tool pprof -raw -base`. Values that go
down (a restart) leave the cumulative types out, counted in profgate_delta_restarts_total;
a broken prev_profile is 400."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import prev_pprof as X  # noqa: E402
import pyro_helpers as P  # noqa: E402

CONFIG = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{port}
  pprof_push/reject:
    endpoint: 127.0.0.1:{rport}
    prev_profile: reject
exporters:
  file:
    directory: {dir}/out
    format: pprof
""" + H.service_yaml("{metrics}", ["pprof_push", "pprof_push/reject"], ["file"])

HEAP_T = [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
          ("inuse_space", "bytes")]
MUTEX_T = [("contentions", "count"), ("delay", "nanoseconds")]
S1, S2, S3 = ("malloc", "alloc", "main"), ("malloc", "grow", "main"), ("malloc", "fresh", "main")


def curl(args, url):
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}"] + args + [url],
                       capture_output=True, timeout=60)
    body, _, code = r.stdout.decode("utf-8", "replace").rpartition("\n")
    return int(code or 0), body


def expect(types, prof, prev, cumulative):
    """{(type, stack): value}: profile - prev for cumulative types, profile's otherwise."""
    out = {}
    for stack, vals in prof:
        for (t, _), v in zip(types, vals):
            out[(t, stack)] = out.get((t, stack), 0) + v
    for stack, vals in prev:
        for (t, _), v in zip(types, vals):
            if t in cumulative:
                out[(t, stack)] = out.get((t, stack), 0) - v
    return {k: v for k, v in out.items() if v}


def main():
    binary = sys.argv[1]
    c = H.Checks()
    port, rport = H.free_port(), H.free_port()
    pg, mport = H.start_with_metrics(binary, CONFIG, port=port, rport=rport)
    d = pg.dir
    out = os.path.join(d, "out")
    base = "http://127.0.0.1:%d/ingest" % port

    def write(name, data):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    heap_prev = [(S1, [10, 1000, 5, 500]), (S2, [4, 400, 4, 400])]
    heap_prof = [(S1, [15, 1600, 3, 300]), (S2, [4, 400, 2, 200]), (S3, [2, 200, 2, 200])]
    heap_restart = [(S1, [3, 300, 1, 100]), (S2, [5, 500, 2, 200])]
    mutex_prev = [(("lock", "main"), [10, 1000]), (("other", "main"), [3, 30])]
    mutex_prof = [(("lock", "main"), [16, 1600]), (("other", "main"), [3, 30]), (("third", "main"), [1, 7])]
    hp = write("heap_prev.pb.gz", X.encode(HEAP_T, heap_prev, time_ns=1700000000 * 10**9))
    hc = write("heap_prof.pb.gz", X.encode(HEAP_T, heap_prof, time_ns=1700000010 * 10**9))
    hr = write("heap_restart.pb.gz", X.encode(HEAP_T, heap_restart, time_ns=1700000020 * 10**9))
    mp = write("mutex_prev.pb.gz", X.encode(MUTEX_T, mutex_prev, period_type=("contentions", "count")))
    mc = write("mutex_prof.pb.gz", X.encode(MUTEX_T, mutex_prof, period_type=("contentions", "count")))
    stc = write("stc.json", json.dumps({"alloc_objects": {"units": "objects", "cumulative": False},
                                        "alloc_space": {"units": "bytes", "cumulative": True},
                                        "inuse_objects": {"aggregation": "average"},
                                        "inuse_space": {"aggregation": "average"}}))
    broken = write("broken.pb", b"\x0a\xff\xff\xff garbage")
    alloc = {"alloc_objects", "alloc_space"}
    cases = [
        ("heap with prev_profile", ["-F", "profile=@" + hc, "-F", "prev_profile=@" + hp],
         expect(HEAP_T, heap_prof, heap_prev, alloc)),
        ("mutex with prev_profile", ["-F", "profile=@" + mc, "-F", "prev_profile=@" + mp],
         expect(MUTEX_T, mutex_prof, mutex_prev, {"contentions", "delay"})),
        ("sample_type_config cumulative", ["-F", "profile=@" + hc, "-F", "prev_profile=@" + hp,
                                           "-F", "sample_type_config=@" + stc],
         expect(HEAP_T, heap_prof, heap_prev, {"alloc_space"})),
        ("without prev_profile", ["-F", "profile=@" + hc], expect(HEAP_T, heap_prof, [], set())),
        ("empty prev_profile", ["-F", "profile=@" + hc, "-F", "prev_profile=;filename=p.pprof"],
         expect(HEAP_T, heap_prof, [], set())),
        ("restart", ["-F", "profile=@" + hr, "-F", "prev_profile=@" + hp],
         {k: v for k, v in expect(HEAP_T, heap_restart, [], set()).items() if k[0] not in alloc}),
    ]
    results = {}
    for what, args, want in cases:
        before = P.files(out)
        code, body = curl(args, base + "?name=app%7Bcase%3D" + what.replace(" ", "_") + "%7D")
        c.check(code == 200, "%s: 200 (%s %s)" % (what, code, body[:200]))
        if code != 200:
            continue
        f = P.new_files(out, before, 1)[0]
        with open(f, "rb") as fh:
            got = X.decode(fh.read())
        results[what] = f
        c.check(got == want, "%s: stored values exact\n  got  %s\n  want %s" % (what, sorted(got.items()),
                                                                                 sorted(want.items())))
    if P.have_go() and "mutex with prev_profile" in results:
        r = subprocess.run(["go", "tool", "pprof", "-raw", "-base", mp, mc], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, HOME=os.environ.get("HOME", d)))
        c.check(r.returncode == 0, "go tool pprof -raw -base: %s" % r.stderr[-300:])
        if r.returncode == 0:
            got = P.pprof_raw(results["mutex with prev_profile"], d)
            c.check(X.from_raw(got) == X.from_raw(r.stdout),
                    "mutex delta equals `go tool pprof -raw -base`:\n%s\n---\n%s" % (got, r.stdout))

    # a broken prev_profile, and the reject mode
    code, body = curl(["-F", "profile=@" + hc, "-F", "prev_profile=@" + broken], base + "?name=x")
    c.check(code == 400 and "prev_profile" in body, "broken prev_profile: 400 (%s %s)" % (code, body))
    rbase = "http://127.0.0.1:%d/ingest?name=old" % rport
    code, body = curl(["-F", "profile=@" + hc, "-F", "prev_profile=@" + hp], rbase)
    c.check(code == 400 and "prev_profile" in body, "prev_profile: reject: 400 (%s %s)" % (code, body))
    before = P.files(out)
    code, body = curl(["-F", "profile=@" + hc, "-F", "prev_profile=;filename=p.pprof"], rbase)
    c.check(code == 200, "prev_profile: reject takes an empty prev_profile (%s %s)" % (code, body))
    if code == 200:
        with open(P.new_files(out, before, 1)[0], "rb") as fh:
            c.check(X.decode(fh.read()) == expect(HEAP_T, heap_prof, [], set()), "reject mode, empty prev: as sent")

    s = H.scrape(mport)
    restarts = H.metric(s, "profgate_delta_restarts_total", receiver="pprof_push")
    emitted = H.metric(s, "profgate_delta_emitted_profiles_total", receiver="pprof_push")
    c.check(restarts == 2, "restart counted per cumulative type (%s)" % restarts)
    c.check(emitted == 5, "delta profiles counted (%s)" % emitted)
    H.finish(c, pg)


if __name__ == "__main__":
    main()
