# ctest: TIMEOUT 300
"""Runtime: the pyroscope exporter's `limits` (Pyroscope's ingestion limits applied before
sending), against the recording HTTP server of test_pyroscope_exporter.py; every pprof
sent is decoded here (pinned pprof field numbers) and checked:
- a Go heap profile split by max_samples: no pprof over the cap, none holding only
  samples whose values are all 0 (they are left out of a split and counted: the bug where
  a split sent such pprofs), per-type totals and the non-zero samples equal the source's;
- a profile over max_profile_size (uncompressed): split so that every pprof fits, totals
  kept, the one sample that cannot fit alone dropped, counted and logged;
- series label names / values over max_label_name_length / max_label_value_length cut
  at a UTF-8 boundary (a 3-byte character is never split), counted;
- max_stack_depth: no stack deeper than the cap, totals kept, counted;
- max_label_names_per_series: a series over it loses the pushed profile's own labels
  before the external ones, keeps __name__ and service_name, counted and logged.
Both protocols (push: labels from the PushRequest; ingest: from the `name` query)."""
import gzip
import os
import subprocess
import sys
import threading
import urllib.parse

import harness as H
import pyro_helpers as P

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pyroscope_exporter as E  # noqa: E402  (its multipart reader)

HEAP = os.path.join(H.DATA, "pprof", "go_heap.pb.gz")
MAX_SIZE = 16384
LONG_NAME = "k" * 1100           # over 1024 bytes: cut to 1024
LONG_VALUE = "\u20ac" * 1000     # 3000 bytes of 3-byte characters: cut to 2046 (682 of them)


def config(external_labels, limits):
    """A pprof_push -> pyroscope config (a format string) with the given YAML lines."""
    return """
receivers:
  pprof_push:
    endpoint: 127.0.0.1:{aport}
exporters:
  pyroscope:
    endpoint: http://127.0.0.1:{server}
    protocol: {protocol}
    external_labels:
""" + external_labels + "    limits: " + limits + "\n" + H.service_yaml("{metrics}", ["pprof_push"], ["pyroscope"])


A = config("      ? {name}\n      : x\n      big: \"{value}\"\n",
           "{{enabled: true, max_samples: {samples}, max_stack_depth: {depth}, max_profile_size: {size}}}")


def decode_pprof(raw):
    """{size (uncompressed bytes), types, samples [(location ids, values)]} of a pprof."""
    b = P.gunzip_maybe(raw)
    prof = {"size": len(b), "types": [], "samples": []}
    strings = []
    for num, wt, v in P.fields(b):
        if num == 1:
            prof["types"].append(dict((k, x) for k, _, x in P.fields(v)).get(1, 0))
        elif num == 2:
            locs, vals = [], []
            for k, w, x in P.fields(v):
                if k == 1:
                    locs += P.ints(w, x)
                elif k == 2:
                    vals += P.ints(w, x)
            prof["samples"].append((locs, vals))
        elif num == 6:
            strings.append(v.decode())
    prof["types"] = [strings[t] for t in prof["types"]]
    return prof


def totals(prof):
    """{sample type: total}."""
    return {t: sum(v[i] for _, v in prof["samples"]) for i, t in enumerate(prof["types"])}


def nonzero(prof):
    return sum(1 for _, v in prof["samples"] if any(v))


def big_pprof():
    """A pprof of 60 samples of about 3 KB each (a function name apiece) and one sample
    whose function name alone is over MAX_SIZE. Returns (bytes, the big sample's value)."""
    names = ["f%02d_" % i + "x" * 3000 for i in range(60)] + ["giant_" + "g" * (MAX_SIZE + 4000)]
    strings = [b"", b"samples", b"count", b"cpu", b"nanoseconds"] + [n.encode() for n in names]
    parts = [H._field(1, H._vfield(1, 1) + H._vfield(2, 2)), H._field(1, H._vfield(1, 3) + H._vfield(2, 4))]
    for i in range(len(names)):
        vals = H._field(2, H._varint(1) + H._varint(1000 * (i + 1)))
        parts.append(H._field(2, H._field(1, H._varint(i + 1)) + vals))
    for i in range(len(names)):
        parts.append(H._field(4, H._vfield(1, i + 1) + H._field(4, H._vfield(1, i + 1))))
        parts.append(H._field(5, H._vfield(1, i + 1) + H._vfield(2, 5 + i)))
    parts += [H._field(6, s) for s in strings]
    parts += [H._vfield(9, 1700000000 * 10**9), H._vfield(10, 10**10)]
    return b"".join(parts), 1000 * len(names)


def sent(srv, start, protocol):
    """[(labels, pprof bytes)] of the requests from index start on."""
    out = []
    for rq in srv.requests[start:]:
        if protocol == "push":
            out += [(labels, raw) for labels, raws in P.decode_push(rq["body"]) for raw in raws]
            continue
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(rq["path"]).query))
        svc, _, rest = q.get("name", "").partition("{")
        labels = dict(kv.split("=", 1) for kv in rest.rstrip("}").split(",") if kv)
        labels["service_name"] = svc
        out.append((labels, E.multipart_parts(rq["body"], rq["headers"]["content-type"]).get("profile", b"")))
    return out


def push(c, what, port, body):
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@-",
                        "http://127.0.0.1:%d/ingest?name=lim&format=pprof" % port], input=body,
                       capture_output=True, timeout=60)
    c.check(r.stdout == b"200", what + "pushed: %r" % r.stdout)


def wait_samples(srv, start, protocol, want):
    """The decoded pprofs sent from request start on, once `want` non-zero samples came."""
    def enough():
        got = [(lab, decode_pprof(raw)) for lab, raw in sent(srv, start, protocol)]
        return got if sum(nonzero(p) for _, p in got) >= want else None
    try:
        H.wait_until(enough, timeout=30, what="%d samples" % want)
    except AssertionError:
        pass
    return [(lab, decode_pprof(raw)) for lab, raw in sent(srv, start, protocol)]


def check_parts(c, what, parts, want_totals, want_nonzero, samples, depth):
    tot = {}
    for _, p in parts:
        for t, v in totals(p).items():
            tot[t] = tot.get(t, 0) + v
        c.check(nonzero(p) > 0, what + "a pprof holds a non-zero sample (%d samples)" % len(p["samples"]))
        c.check(len(p["samples"]) <= samples, what + "a pprof of %d samples" % len(p["samples"]))
        c.check(p["size"] <= MAX_SIZE, what + "a pprof of %d bytes" % p["size"])
        c.check(max([len(s) for s, _ in p["samples"]] or [0]) <= depth, what + "stack depth within %d" % depth)
    c.check(tot == want_totals, what + "totals %r == %r" % (tot, want_totals))
    c.check(sum(nonzero(p) for _, p in parts) == want_nonzero, what + "non-zero samples sent once: %r" %
            [nonzero(p) for _, p in parts])


def check_labels(c, what, parts):
    want = LONG_VALUE.encode()[:2046].decode()
    for labels, _ in parts:
        c.check(labels.get("k" * 1024) == "x" and LONG_NAME not in labels, what + "long name cut to 1024 bytes")
        c.check(labels.get("big") == want, what + "value cut to 2046 bytes: %d" % len(labels.get("big", "").encode()))


def run(binary, c, protocol, samples, depth):
    what = "[%s samples=%d depth=%d] " % (protocol, samples, depth)
    srv = P.Recorder()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    aport = H.free_port()
    a, am = H.start_with_metrics(binary, A, aport=aport, server=srv.server_address[1], protocol=protocol,
                                 samples=samples, depth=depth, size=MAX_SIZE, name=LONG_NAME, value=LONG_VALUE)
    with open(HEAP, "rb") as f:
        heap = f.read()
    src = decode_pprof(heap)
    push(c, what + "heap ", aport, heap)
    parts = wait_samples(srv, 0, protocol, nonzero(src))
    check_parts(c, what + "heap ", parts, totals(src), nonzero(src), samples, depth)
    check_labels(c, what + "heap ", parts)
    m = H.scrape(am)
    name = "profgate_exporter_pyroscope_limit_%s_total"
    if samples < len(src["samples"]):
        zeros = len(src["samples"]) - nonzero(src)
        c.check(H.metric(m, name % "zero_samples") == zeros, what + "zero samples counted: %r" %
                H.metric(m, name % "zero_samples"))
        c.check(H.metric(m, name % "splits") == len(parts) - 1, what + "splits counted")
    if depth < max(len(s) for s, _ in src["samples"]):
        c.check((H.metric(m, name % "trimmed_stacks") or 0) > 0, what + "cut stacks counted")
    c.check(H.metric(m, name % "cut_series_labels") == 2 * len(parts), what + "cut labels counted: %r" %
            H.metric(m, name % "cut_series_labels"))

    # the size limit: a profile of about 200 KB
    n0 = len(srv.requests)
    body, giant = big_pprof()
    big = decode_pprof(body)
    want = totals(big)
    want["cpu"] -= giant
    want["samples"] -= 1
    push(c, what + "big ", aport, gzip.compress(body))
    parts = wait_samples(srv, n0, protocol, nonzero(big) - 1)
    check_parts(c, what + "big ", parts, want, nonzero(big) - 1, samples, depth)
    check_labels(c, what + "big ", parts)
    c.check(len(parts) >= big["size"] // MAX_SIZE, what + "%d pprofs for %d bytes" % (len(parts), big["size"]))
    m = H.scrape(am)
    c.check(H.metric(m, name % "dropped_samples") == 1, what + "the sample over max_profile_size counted")
    H.wait_until(lambda: "over max_profile_size" in a.logs(), timeout=10, what="the drop logged")
    c.check(a.stop() == 0, what + "exit 0")
    if c.failed:
        print(a.logs()[-2000:])
    srv.shutdown()


COUNT = config("      team: a\n      region: b\n", "{{enabled: true, max_label_names_per_series: 4}}")


def run_label_count(binary, c, protocol):
    """The pushed series carries its own labels (env, zone) and two external ones: with room
    for four, the pushed ones go."""
    what = "[%s label count] " % protocol
    srv = P.Recorder()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    aport = H.free_port()
    a, am = H.start_with_metrics(binary, COUNT, aport=aport, server=srv.server_address[1], protocol=protocol)
    try:
        with open(HEAP, "rb") as f:
            heap = f.read()
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@-",
                            "http://127.0.0.1:%d/ingest?name=lim%%7Benv%%3Dprod%%2Czone%%3Dz1%%7D&format=pprof"
                            % aport], input=heap, capture_output=True, timeout=60)
        c.check(r.stdout == b"200", what + "pushed: %r" % r.stdout)
        H.wait_until(lambda: sent(srv, 0, protocol), timeout=30, what="a series sent")
        for labels, _ in sent(srv, 0, protocol):
            names = set(labels) - {"__name__"}  # the ingest query carries __name__ apart
            c.check(labels.get("service_name") == "lim" and labels.get("team") == "a" and
                    labels.get("region") == "b" and not names & {"env", "zone"},
                    what + "service and external labels kept, pushed ones dropped: %r" % labels)
            c.check(len(names | {"__name__"}) <= 4, what + "at most 4 labels: %r" % labels)
        m = H.scrape(am)
        got = H.metric(m, "profgate_exporter_pyroscope_limit_surplus_series_labels_total")
        c.check(got == 2 * len(sent(srv, 0, protocol)), what + "surplus labels counted: %r" % got)
        c.check("past max_label_names_per_series (4)" in a.logs(), what + "the drop logged")
    finally:
        c.check(a.stop() == 0, what + "exit 0")
        if c.failed:
            print(a.logs()[-2000:])
        srv.shutdown()


def main():
    binary = sys.argv[1]
    c = H.Checks()
    for protocol, samples, depth in (("push", 10, 1000), ("ingest", 10, 1000), ("push", 100000, 3)):
        run(binary, c, protocol, samples, depth)
    for protocol in ("push", "ingest"):
        run_label_count(binary, c, protocol)
    c.finish()


if __name__ == "__main__":
    main()
