"""A loadbalancing tier in front of three profgate "gateways", each a real profgate
process, driven from OTLP/JSON files (shared by the runtime tests of this folder).

  in/*.json -> profgate (file receiver -> loadbalancing) -> backend i -> gateway i
                                                          -> gw<i>/out/*.otlp.json

Backend transport, by variant:
  file: the loadbalancing exporter's backends are `file` exporters writing route/<backend>/,
        and gateway i reads its directory with a file receiver;
  otlp: the backends are `otlp` exporters, and gateway i listens with an otlp receiver.

Checks: each series (service.name) lands on exactly one gateway; after a reload that drops
one backend from the static list, only that backend's series move; nothing is lost or
doubled by the tier: it routes exactly what its receiver accepted, and the gateways write
exactly what it routed (over otlp; over files at least that: the gateways' file receivers
are at-least-once). The tier's own file receiver may offer a file again (docs/delivery.md):
it is then routed again, to the same gateway, and counted as accepted and routed again."""
import glob
import json
import os
import shutil
import signal
import tempfile

import harness as H

NSVC = 40
PER_FILE = 10

GATEWAY_FILE = """
receivers:
  file:
    include: ["{route}/*.otlp.pb"]
    poll_interval: 50ms
exporters:
  file:
    directory: {out}
    format: otlp_json
"""

GATEWAY_OTLP = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{port}
exporters:
  file:
    directory: {out}
    format: otlp_json
"""

TIER = """
receivers:
  file:
    include: ["{dir}/in/*.json"]
    poll_interval: 50ms
exporters:
  loadbalancing:
    routing_key: service
    protocol:
{protocol}
    resolver:
      static:
        hostnames: [{hostnames}]
"""

PROTOCOL = {
    "file": "      file: {{directory: '{dir}/route/%s', format: otlp_proto}}",
    "otlp": "      otlp:\n        tls: {{insecure: true}}",
}


def batch(phase, services):
    """OTLP/JSON: one resource per service, one profile of one sample whose value tells
    (phase, service) apart."""
    rps = []
    for s in services:
        rps.append({
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc-%d" % s}}]},
            "scopeProfiles": [{"profiles": [{
                "sampleType": {"typeStrindex": 1, "unitStrindex": 2},
                "samples": [{"values": [str(phase * 1000 + s)]}],
                "timeUnixNano": "1000"}]}]})
    return {"resourceProfiles": rps, "dictionary": {"stringTable": ["", "samples", "count"]}}


def feed(d, phase):
    """Writes the phase's batches into d/in (atomically: renamed into the glob)."""
    for f in range(NSVC // PER_FILE):
        path = os.path.join(d, "in", "p%d-%d.json" % (phase, f))
        with open(path + ".tmp", "w") as fh:
            json.dump(batch(phase, range(f * PER_FILE, (f + 1) * PER_FILE)), fh)
        os.rename(path + ".tmp", path)


def outputs(gw_dirs):
    """{(phase, svc): [gateway index, ...]} over every gateway's output files."""
    seen = {}
    for i, d in enumerate(gw_dirs):
        for path in glob.glob(os.path.join(d, "*.otlp.json")):
            with open(path) as fh:
                data = json.load(fh)
            for rp in data.get("resourceProfiles", []):
                attrs = {a.get("key"): a.get("value", {}).get("stringValue")
                         for a in rp.get("resource", {}).get("attributes", [])}
                svc = int(attrs["service.name"].split("-")[1])
                for sp in rp.get("scopeProfiles", []):
                    for p in sp.get("profiles", []):
                        for smp in p.get("samples", []):
                            v = int(smp["values"][0])
                            seen.setdefault((v // 1000, svc), []).append(i)
                            assert v % 1000 == svc, "value %d under svc-%d" % (v, svc)
    return seen


def count(seen, phase):
    return sum(len(v) for (p, _), v in seen.items() if p == phase)


def settled(mport, gw_out):
    """Waits until the gateways wrote every profile the tier routed; returns (accepted,
    routed, delivered)."""
    def check():
        m = H.scrape(mport)
        routed = H.metric(m, "profgate_loadbalancer_routed_profiles_total") or 0
        delivered = sum(len(v) for v in outputs(gw_out).values())
        return (H.metric(m, "profgate_receiver_accepted_profiles_total") or 0, routed,
                delivered) if delivered >= routed else None
    return H.wait_until(check, timeout=60, what="gateways to write what was routed")


def run(binary, variant):
    c = H.Checks()
    root = tempfile.mkdtemp(prefix="pg-lb-")
    ports = [H.free_port() for _ in range(3)]
    names = ["127.0.0.1:%d" % p for p in ports]
    gws, gw_out = [], []
    tier = H.Profgate(binary, "")
    d = tier.dir
    os.makedirs(os.path.join(d, "in"))
    try:
        for i, p in enumerate(ports):
            out = os.path.join(root, "gw%d" % i)
            gw_out.append(out)
            route = os.path.join(d, "route", "127.0.0.1_%d" % p)
            tmpl = GATEWAY_FILE if variant == "file" else GATEWAY_OTLP
            text = tmpl.format(route=route, out=out, port=p) + H.service_yaml(
                None, ["file" if variant == "file" else "otlp"], ["file"])
            gws.append(H.Profgate(binary, text).start())
        for g in gws:
            H.wait_until(lambda: "profgate is running" in g.logs(), what="gateway up")
        mport = H.free_port()

        def tier_config(hostnames):
            return TIER.format(dir=d, protocol=PROTOCOL[variant].format(dir=d),
                               hostnames=", ".join(hostnames)) + H.service_yaml(
                mport, ["file"], ["loadbalancing"])

        tier.write_config(tier_config(names))
        tier.start()
        H.wait_until(lambda: H.scrape(mport), what="tier metrics")
        m = H.scrape(mport)
        c.check(H.metric(m, "profgate_loadbalancer_backends", exporter="loadbalancing") == 3,
                "three backends")

        # phase 1: every series on exactly one gateway
        feed(d, 1)
        H.wait_until(lambda: count(outputs(gw_out), 1) >= NSVC, timeout=60, what="phase 1 output")
        accepted, routed, delivered = settled(mport, gw_out)
        c.check(accepted == routed and (delivered == routed or variant == "file"),
                "phase 1: accepted %d, routed %d, written %d" % (accepted, routed, delivered))
        seen = outputs(gw_out)
        owner = {}
        for s in range(NSVC):
            gw = seen.get((1, s), [])
            c.check(len(set(gw)) == 1, "phase 1: svc-%d on gateways %s" % (s, gw))
            if gw:
                owner[s] = gw[0]
        spread = [list(owner.values()).count(i) for i in range(3)]
        c.check(all(spread), "every gateway got series: %s" % spread)
        c.check(routed >= NSVC, "routed_profiles counts every profile")

        # phase 2: backend 1 leaves the static list (reload); only its series move
        tier.write_config(tier_config([names[0], names[2]]))
        tier.send_signal(signal.SIGHUP)
        H.wait_until(lambda: "reloaded" in tier.logs(), what="reload")
        H.wait_until(lambda: H.metric(H.scrape(mport), "profgate_loadbalancer_backends",
                                      exporter="loadbalancing") == 2, what="two backends")
        feed(d, 2)
        H.wait_until(lambda: count(outputs(gw_out), 2) >= NSVC, timeout=60, what="phase 2 output")
        accepted, routed, delivered = settled(mport, gw_out)
        c.check(accepted == routed and (delivered == routed or variant == "file"),
                "phase 2: accepted %d, routed %d, written %d" % (accepted, routed, delivered))
        seen = outputs(gw_out)
        moved = 0
        for s in range(NSVC):
            gw = seen.get((2, s), [])
            c.check(len(set(gw)) == 1, "phase 2: svc-%d on gateways %s" % (s, gw))
            if not gw or s not in owner:
                continue
            if owner[s] == 1:
                moved += 1
                c.check(gw[0] in (0, 2), "svc-%d of the removed gateway went to %d" % (s, gw[0]))
            else:
                c.check(gw[0] == owner[s], "svc-%d moved from %d to %d" % (s, owner[s], gw[0]))
        print("series per gateway %s; %d moved on reload" % (spread, moved))
        c.check(moved == spread[1], "moved %d series, gateway 1 had %d" % (moved, spread[1]))
        lost = [k for k in ((p, s) for p in (1, 2) for s in range(NSVC)) if k not in seen]
        c.check(not lost, "nothing lost: missing %s" % lost)
        if delivered > 2 * NSVC:
            print("note: %d profiles were offered again by a file receiver (accepted %d)"
                  % (delivered - 2 * NSVC, accepted))
        c.check(H.metric(H.scrape(mport), "profgate_loadbalancer_resolver_changes_total") >= 2,
                "backend set changes counted")
        c.check("backends changed" in tier.logs(), "changes logged")
        if c.failed:
            m = H.scrape(mport)
            print("\n".join("%s{%s} %s" % (n, lab, v) for (n, lab), v in sorted(m.items())
                            if ("loadbalanc" in n or "loadbalanc" in lab or "receiver" in n) and v))
            print("\n".join(x for x in tier.logs().splitlines() if " info " not in x))
            print("doubled: %s" % sorted((k, v) for k, v in seen.items() if len(v) > 1))
    except AssertionError as e:
        c.check(False, str(e))
        for g in gws:
            print(g.logs()[-2000:])
    finally:
        for g in gws:
            g.stop()
    if not c.failed:  # keep everything for a look when a check failed
        shutil.rmtree(root, ignore_errors=True)
        for g in gws:
            shutil.rmtree(g.dir, ignore_errors=True)
    H.finish(c, tier)
