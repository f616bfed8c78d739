"""Runtime: file receiver -> resource (env and system detectors, an action with a value
from ${env:...}) -> filter (keep only the cpu profile type) -> OTLP/JSON file, on the real
binary with a real Go CPU profile (two sample types). Checks the resource attributes and
the profile types of the output, the filter's drop counters, and that `profgate validate`
rejects a bad regex and an unknown key with file:line:column."""
# ctest: TIMEOUT 120
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import harness as H

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 100ms
processors:
  resource:
    detectors: [env, system]
    attributes:
      - {{key: service.version, action: upsert, value: "${{env:PG_TEST_APP_VERSION}}"}}
      - {{key: cloud.region, action: extract, pattern: '^(?P<cloud.continent>[a-z]+)-'}}
  filter:
    include:
      - {{on: profile_type, regex: '^cpu:'}}
exporters:
  file/json:
    directory: {dir}/out
    format: otlp_json
""" + H.service_yaml("{metrics}", ["file"], ["file/json"], processors=["resource", "filter"])


def attrs_of(resource):
    out = {}
    for kv in (resource or {}).get("attributes", []):
        out[kv["key"]] = next(iter(kv["value"].values()))
    return out


def check_validate(binary, c):
    d = tempfile.mkdtemp(prefix="pg-validate-proc-")
    bad = os.path.join(d, "bad.yaml")
    with open(bad, "w") as f:
        f.write("receivers:\n  file:\n    include: [/tmp/none/*]\nprocessors:\n  filter:\n"
                "    exclude:\n      - {on: frame, regex: 'a(b'}\n  resource:\n"
                "    attributes:\n      - {key: a, action: upsert, value: x, colour: red}\n"
                "exporters:\n  debug:\nservice:\n  pipelines:\n    profiles:\n"
                "      receivers: [file]\n      processors: [resource, filter]\n"
                "      exporters: [debug]\n")
    r = subprocess.run([binary, "validate", "--config", bad], capture_output=True, timeout=60)
    err = r.stderr.decode()
    c.check(r.returncode == 2, "validate: exit 2 (got %d)" % r.returncode)
    c.check(bad + ":7:28: processor filter: exclude[0].regex: invalid regex" in err,
            "bad regex at 7:28:\n" + err)
    c.check(bad + ":10:44: processor resource: attributes[0]: unknown key \"colour\"" in err,
            "unknown key at 10:44:\n" + err)


def main():
    binary = sys.argv[1]
    c = H.Checks()
    check_validate(binary, c)
    os.environ["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=prod,cloud.region=eu-west-1"
    os.environ["OTEL_SERVICE_NAME"] = "checkout"
    os.environ["PG_TEST_APP_VERSION"] = "1.2.3"
    pg, mport = H.start_with_metrics(binary, CONFIG)
    d = pg.dir
    shutil.copy(os.path.join(H.DATA, "pprof/go_cpu.pb.gz"), os.path.join(d, "in", "cpu.pb.gz"))
    H.wait_until(lambda: glob.glob(os.path.join(d, "out", "*.otlp.json")), what="output")
    with open(sorted(glob.glob(os.path.join(d, "out", "*.otlp.json")))[0]) as f:
        doc = json.load(f)
    strings = doc["dictionary"]["stringTable"]
    types = set()
    for rp in doc["resourceProfiles"]:
        a = attrs_of(rp.get("resource"))
        c.check(a.get("service.name") == "checkout", "service.name from OTEL_SERVICE_NAME (%s)" % a)
        c.check(a.get("deployment.environment.name") == "prod", "environment from env (%s)" % a)
        c.check(a.get("cloud.region") == "eu-west-1" and a.get("cloud.continent") == "eu",
                "cloud.region and what extract took from it (%s)" % a)
        c.check(a.get("host.name") == socket.gethostname(), "host.name from system (%s)" % a)
        c.check(a.get("os.type") == "linux", "os.type (%s)" % a)
        c.check(a.get("service.version") == "1.2.3", "service.version from ${env:...} (%s)" % a)
        for sp in rp["scopeProfiles"]:
            for p in sp["profiles"]:
                st = p.get("sampleType", {})
                types.add("%s:%s" % (strings[st.get("typeStrindex", 0)], strings[st.get("unitStrindex", 0)]))
    c.check(types == {"cpu:nanoseconds"}, "only the cpu profile type is left (%s)" % types)
    s = H.scrape(mport)
    dropped = H.metric(s, "profgate_filter_dropped_profiles_total", processor="filter", reason="include")
    c.check(dropped is not None and dropped >= 1, "filter counted what it dropped (%s)" % dropped)
    H.finish(c, pg)


if __name__ == "__main__":
    main()
