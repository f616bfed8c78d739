# ctest: TIMEOUT 300 SKIP_RETURN_CODE 77
"""Runtime round trip: profgate A (file receiver: Go and Node pprofs, an OTLP/JSON profile
with a trace link) -> pyroscope exporter (push, then ingest) -> profgate B (pprof_push) ->
file exporter (pprof). Every pprof B writes equals one source pprof under `go tool pprof
-raw`, each source is seen, and the link comes back as span_id / trace_id labels."""
import os
import shutil
import subprocess
import sys

import harness as H
import pyro_helpers as P

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = [os.path.join(H.DATA, "pprof", "go_cpu.pb.gz"), os.path.join(H.DATA, "pprof", "go_heap.pb.gz"),
           os.path.join(H.SRC, "tests", "data", "roundtrip", "node-wall.pb.gz"),
           os.path.join(H.SRC, "tests", "data", "roundtrip", "node-heap.pb.gz")]
LINK = os.path.join(HERE, "link.otlp.json")

A = """
receivers:
  file:
    include: ["{dir}/in/*"]
    poll_interval: 100ms
    storage_directory: {dir}/state
exporters:
  pyroscope:
    endpoint: http://127.0.0.1:{bport}
    protocol: {protocol}
""" + H.service_yaml("{metrics}", ["file"], ["pyroscope"])

B = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{bport}
exporters:
  file:
    directory: {dir}/out
    format: pprof
""" + H.service_yaml("{metrics}", ["pprof_push"], ["file"])


def main():
    binary = sys.argv[1]
    c = H.Checks()
    if not P.have_go():
        print("go not found: skipped")
        sys.exit(77)
    for protocol in ("push", "ingest"):
        bport = H.free_port()
        b, _ = H.start_with_metrics(binary, B, bport=bport)
        H.wait_until(lambda: "listening" in b.logs(), what="B listening")
        a, _ = H.start_with_metrics(binary, A, bport=bport, protocol=protocol)
        tmp = a.dir
        want = [P.pprof_raw(s, tmp) for s in SOURCES]
        conv = os.path.join(tmp, "link.pb.gz")
        subprocess.run([binary, "convert", "--to", "pprof", LINK, conv], check=True)
        want.append(P.pprof_raw(conv, tmp))
        for s in SOURCES + [LINK]:
            shutil.copy(s, os.path.join(a.dir, "in", os.path.basename(s)))
        out = os.path.join(b.dir, "out")
        got = P.new_files(out, set(), len(want), timeout=60)
        texts = [P.pprof_raw(f, tmp) for f in got]
        for i, w in enumerate(want):
            c.check(w in texts, "[%s] source %d (%s) came back identical" % (protocol, i, (SOURCES + [LINK])[i]))
        for t in texts:
            c.check(t in want, "[%s] an output equals a source: %s" % (protocol, t[:300]))
        c.check(any("span_id:[1112131415161718] trace_id:[0102030405060708090a0b0c0d0e0f10]" in t for t in texts),
                "[%s] the link is back as labels" % protocol)
        c.check(a.stop() == 0 and b.stop() == 0, "[%s] both exit 0" % protocol)
        if c.failed:
            print(a.logs()[-2000:], b.logs()[-2000:])
    c.finish()


if __name__ == "__main__":
    main()
