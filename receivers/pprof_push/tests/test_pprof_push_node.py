# ctest: TIMEOUT 300 SKIP_RETURN_CODE 77
"""Runtime: a real Node.js process profiled by @pyroscope/nodejs (installed with npm under
the build folder; skipped with 77 when npm or node cannot provide it) pushes wall profiles
to the pprof_push receiver's /ingest. Every push is answered 200; what the file exporter
writes equals what the SDK sent (`go tool pprof -raw`); service.name is the appName, the
SDK's tags and spyName are resource attributes, the SDK's from/until are not needed (its
pprofs carry a time)."""
import json
import os
import shutil
import subprocess
import sys

import harness as H
import pyro_helpers as P

PKG = "@pyroscope/nodejs@0.6.4"
HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{port}
    include_metadata: true
    metadata_keys: [x-scope-orgid]
exporters:
  file:
    directory: {dir}/pprof
    format: pprof
  file/json:
    directory: {dir}/json
    format: otlp_json
""" + H.service_yaml("{metrics}", ["pprof_push"], ["file", "file/json"])


def install(where):
    """Installs the SDK under where; False when it cannot."""
    if os.path.isdir(os.path.join(where, "node_modules", "@pyroscope", "nodejs")):
        return True
    if not shutil.which("npm") or not shutil.which("node"):
        return False
    os.makedirs(where, exist_ok=True)
    try:
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", where, PKG],
                           capture_output=True, timeout=240)
    except subprocess.TimeoutExpired:
        return False
    if r.returncode != 0:
        print("npm install failed:", r.stderr.decode()[-500:])
    return r.returncode == 0


def sdk_or_skip(binary):
    """The folder @pyroscope/nodejs is installed under (next to binary); exits 77 (skipped)
    when it cannot be installed or Go (the oracle) is missing."""
    where = os.path.join(os.path.dirname(os.path.abspath(binary)), "node-pyro")
    if not install(where):
        print("@pyroscope/nodejs unavailable: skipped")
        sys.exit(77)
    if not P.have_go():
        print("go not found: skipped")
        sys.exit(77)
    return where


def main():
    binary = sys.argv[1]
    where = sdk_or_skip(binary)
    c = H.Checks()
    port = H.free_port()
    pg, mport = H.start_with_metrics(binary, CONFIG, port=port)
    sent = os.path.join(pg.dir, "sent")
    os.makedirs(sent)
    r = subprocess.run(["node", os.path.join(HERE, "push_node.js"), where, "http://127.0.0.1:%d" % port, sent],
                       capture_output=True, timeout=120)
    c.check(r.returncode == 0, "node exit 0: %s" % r.stderr.decode()[-800:])
    statuses = json.load(open(os.path.join(sent, "statuses.json"))) if r.returncode == 0 else []
    c.check(len(statuses) >= 2 and all(s == 200 for s in statuses), "every push answered 200: %r" % statuses)
    bodies = sorted(f for f in os.listdir(sent) if f.startswith("sent-"))
    with open(os.path.join(sent, "url-0.txt")) as f:
        c.check("spyName=nodespy" in f.read(), "the SDK's query")
    pdir, jdir = os.path.join(pg.dir, "pprof"), os.path.join(pg.dir, "json")
    outs = P.new_files(pdir, set(), len(bodies)) if bodies else []
    jouts = P.new_files(jdir, set(), len(bodies)) if bodies else []
    want = sorted(P.pprof_raw(os.path.join(sent, b), pg.dir) for b in bodies)
    got = sorted(P.pprof_raw(f, pg.dir) for f in outs)
    c.check(want == got and len(want) == len(bodies), "what profgate wrote equals what the SDK sent (%d pushes)" % len(want))
    for f in jouts:
        doc = json.load(open(f))
        for rp in doc["resourceProfiles"]:
            attrs = {a["key"]: a["value"].get("stringValue") for a in rp["resource"]["attributes"]}
            c.check(attrs.get("service.name") == "nodeapp" and attrs.get("region") == "eu-west" and
                    attrs.get("team") == "profiling" and attrs.get("pyroscope_spy") == "nodespy",
                    "resource attributes %r" % attrs)
    s = H.scrape(mport)
    c.check(H.metric(s, "profgate_receiver_requests_total", receiver="pprof_push", status="ok") == len(statuses),
            "requests counted")
    H.finish(c, pg)


if __name__ == "__main__":
    main()
