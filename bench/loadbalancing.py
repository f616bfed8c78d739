"""loadbalancing benchmark (make bench): OTLP files of many services in -> loadbalancing over
4 static backends (`nop` exporters) against the same files -> one `nop` exporter. Prints
profiles/s end to end for both, so the difference is the routing cost (hash per profile,
split and compaction per batch). A benchmark, not a test.

usage: loadbalancing.py PROFGATE [FILES] [SERVICES]"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "runtime"))
import harness as H  # noqa: E402

FUNCS = 20  # functions (and samples) per service

HEAD = """
receivers:
  file:
    include: [ "{dir}/in/*.pb" ]
    poll_interval: 50ms
    delete_after_read: true
exporters:
"""
LB = """  loadbalancing:
    protocol: {nop: {}}
    resolver: {static: {hostnames: ['b1:1', 'b2:1', 'b3:1', 'b4:1']}}
"""
NOP = "  nop:\n"


def batch(services):
    """OTLP/JSON: one resource per service, a profile of FUNCS samples, each on its own
    one-frame stack in its own function."""
    strings, funcs, locs, stacks, rps = ["", "samples", "count"], [{}], [{}], [{}], []
    for s in range(services):
        samples = []
        for f in range(FUNCS):
            strings.append("svc%d.fn%d" % (s, f))
            funcs.append({"nameStrindex": len(strings) - 1})
            locs.append({"lines": [{"functionIndex": len(funcs) - 1, "line": str(f + 1)}]})
            stacks.append({"locationIndices": [len(locs) - 1]})
            samples.append({"stackIndex": len(stacks) - 1, "values": [str(f + 1)]})
        rps.append({"resource": {"attributes": [{"key": "service.name",
                                                 "value": {"stringValue": "svc-%d" % s}}]},
                    "scopeProfiles": [{"profiles": [{"sampleType": {"typeStrindex": 1, "unitStrindex": 2},
                                                     "samples": samples, "timeUnixNano": "1000"}]}]})
    return {"resourceProfiles": rps,
            "dictionary": {"stringTable": strings, "functionTable": funcs, "locationTable": locs,
                           "stackTable": stacks, "mappingTable": [{}], "attributeTable": [{}],
                           "linkTable": [{}]}}


def run(binary, exporters, name, files, src, metric_name):
    mport = H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    pg.write_config(HEAD.format(dir=d) + exporters + H.service_yaml(mport, ["file"], [name],
                                                                     log_level="warn"))
    os.makedirs(os.path.join(d, "in"))
    os.makedirs(os.path.join(d, "stage"))
    for i in range(files):
        shutil.copy(src, os.path.join(d, "stage", "b%04d.pb" % i))
    pg.start()
    try:
        H.wait_until(lambda: H.scrape(mport), what="metrics")
    except AssertionError:
        print(pg.logs()[-2000:])
        pg.stop()
        raise
    total = files * int(src.split("-")[-1].split(".")[0])
    t0 = time.time()
    for i in range(files):
        os.rename(os.path.join(d, "stage", "b%04d.pb" % i), os.path.join(d, "in", "b%04d.pb" % i))
    H.wait_until(lambda: (H.metric(H.scrape(mport), metric_name) or 0) >= total, timeout=300,
                 step=0.02, what="all profiles exported")
    dt = time.time() - t0
    pg.stop()
    shutil.rmtree(d, ignore_errors=True)
    return total / dt, dt


def measure(binary, work, files, services):
    js = os.path.join(work, "in-%d.json" % services)
    with open(js, "w") as f:
        json.dump(batch(services), f)
    src = os.path.join(work, "batch-%d.pb" % services)
    subprocess.run([binary, "convert", "--from", "otlp_json", "--to", "otlp_proto", js, src], check=True)
    size = os.path.getsize(src)
    base, bt = run(binary, NOP, "nop", files, src, "profgate_exporter_sent_profiles_total")
    lb, lt = run(binary, LB, "loadbalancing", files, src, "profgate_loadbalancer_routed_profiles_total")
    print("loadbalancing: %d files of %d service(s) x %d samples (%d KB OTLP each)"
          % (files, services, FUNCS, size // 1024))
    print("  file -> nop:                   %8.0f profiles/s (%.2f s)" % (base, bt))
    print("  file -> loadbalancing(4 nop):  %8.0f profiles/s (%.2f s), %.0f%% of the direct path,"
          " %+.1f ms per batch" % (lb, lt, 100.0 * lb / base, 1000.0 * (lt - bt) / files))


def main():
    binary = os.path.abspath(sys.argv[1])
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    services = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    work = tempfile.mkdtemp(prefix="pg-lb-bench-")
    measure(binary, work, files, 1)          # one series per batch: handed over whole
    measure(binary, work, files, services)   # many: split into one part per backend
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
