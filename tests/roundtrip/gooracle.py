#!/usr/bin/python3
"""gooracle.py — an oracle that is not ours: `go tool pprof -raw` and `-traces` (stdlib only).

-raw output is normalised away from ids: each sample's location ids are resolved to the full
location text (address, mapping text, folded flag, every line), and the ordered list of
(values, resolved stack, labels) is compared together with the header lines (comments, period
type, period, time, duration, sample types with [dflt]), the Mappings section in its order and
the Locations section as a set of resolved texts (pprof's reader drops most entries no sample
uses, but keeps mapping[0], the main binary). -traces is compared as text for every sample
index, File:/Build ID: (mapping[0]) included. `go tool pprof` merges identical samples and drops all-zero ones; it does
so on both sides alike. Go 1.19's pprof does not print columns, doc_url or drop/keep frames.

  gooracle.py compare EXPECTED ACTUAL   exit 0 equal, 1 different, 3 go rejects EXPECTED
"""
import os
import re
import subprocess
import sys

SAMPLE_RE = re.compile(r"^((?:\s+-?\d+)+): ((?:\d+ )*)$")
LOC_RE = re.compile(r"^\s*(\d+): (0x[0-9a-f]+) (?:M=(\d+) )?(.*)$")
MAP_RE = re.compile(r"^(\d+): (.*)$")
CONT = " " * 13  # continuation of a location's lines


class GoRejects(Exception):
    pass


def go_pprof(args, path):
    env = dict(os.environ, TZ="UTC")
    env.setdefault("PPROF_TMPDIR", os.path.dirname(os.path.abspath(path)))
    r = subprocess.run(["go", "tool", "pprof", "-symbolize=none"] + args + [path], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0:
        raise GoRejects(r.stderr.decode("utf-8", "replace").strip().replace("\n", " | "))
    return out


def parse_raw(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    header = []
    while i < len(lines) and lines[i] != "Samples:":
        header.append(lines[i])
        i += 1
    if i >= len(lines):
        raise ValueError("no 'Samples:' line in -raw output")
    types = lines[i + 1] if i + 1 < len(lines) else ""
    i += 2
    samples = []
    while i < len(lines) and lines[i] != "Locations":
        m = SAMPLE_RE.match(lines[i])
        if m:
            vals = tuple(int(v) for v in m.group(1).split())
            samples.append([vals, [int(x) for x in m.group(2).split()], []])
        elif samples:
            samples[-1][2].append(lines[i].strip())  # label lines (values may contain newlines)
        else:
            raise ValueError("unexpected line before first sample: %r" % lines[i])
        i += 1
    i += 1
    locs = {}
    cur = None
    while i < len(lines) and lines[i] != "Mappings":
        m = LOC_RE.match(lines[i])
        if m and not lines[i].startswith(CONT):
            cur = int(m.group(1))
            locs[cur] = [m.group(2), int(m.group(3)) if m.group(3) else None, [m.group(4).rstrip()]]
        elif cur is not None:
            locs[cur][2].append(lines[i].strip())
        else:
            raise ValueError("unexpected line in Locations: %r" % lines[i])
        i += 1
    i += 1
    maps = {}
    for ln in lines[i:]:
        m = MAP_RE.match(ln)
        if m:
            maps[int(m.group(1))] = m.group(2).rstrip()

    def loc_text(lid):
        addr, mid, ls = locs.get(lid, ("?", None, ["<unknown location %d>" % lid]))
        mtext = maps.get(mid, "<unknown mapping %s>" % mid) if mid is not None else "no-mapping"
        return "%s [%s] %s" % (addr, mtext, " ; ".join(ls))

    resolved = [(v, tuple(loc_text(l) for l in ids), tuple(lb)) for v, ids, lb in samples]
    tables = ([maps[k] for k in sorted(maps)], {loc_text(l) for l in locs})
    return header, types, resolved, tables


def compare_raw(a_path, b_path):
    ha, ta, sa, (ma, la) = parse_raw(go_pprof(["-raw"], a_path))
    try:
        hb, tb, sb, (mb, lb) = parse_raw(go_pprof(["-raw"], b_path))
    except GoRejects as e:
        return ["go tool pprof rejects the output: %s" % e]
    d = []
    if ma != mb:
        d.append("-raw Mappings differ:\n    expected: %r\n    actual:   %r" % (ma, mb))
    if la != lb:
        d.append("-raw Locations differ: only expected: %r; only actual: %r"
                 % (sorted(la - lb)[:3], sorted(lb - la)[:3]))
    if ha != hb:
        d.append("-raw header differs:\n    expected: %r\n    actual:   %r" % (ha, hb))
    if ta != tb:
        d.append("-raw sample types differ:\n    expected: %r\n    actual:   %r" % (ta, tb))
    if len(sa) != len(sb):
        d.append("-raw (merged) sample count differs: %d vs %d" % (len(sa), len(sb)))
    shown = 0
    for k, (x, y) in enumerate(zip(sa, sb)):
        if x != y and shown < 5:
            shown += 1
            part = []
            if x[0] != y[0]:
                part.append("values %s vs %s" % (list(x[0]), list(y[0])))
            if x[2] != y[2]:
                part.append("labels %r vs %r" % (x[2], y[2]))
            for f, (la, lb) in enumerate(zip(x[1], y[1])):
                if la != lb:
                    part.append("frame #%d\n      expected: %s\n      actual:   %s" % (f, la, lb))
                    break
            if len(x[1]) != len(y[1]):
                part.append("stack depth %d vs %d" % (len(x[1]), len(y[1])))
            d.append("-raw sample %d differs: %s" % (k, "; ".join(part)))
    return d


def compare_traces(a_path, b_path, n_types):
    d = []
    for idx in range(n_types):
        args = ["-traces", "-sample_index=%d" % idx]
        ta = go_pprof(args, a_path)
        try:
            tb = go_pprof(args, b_path)
        except GoRejects as e:
            return ["go tool pprof -traces rejects the output: %s" % e]
        if ta != tb:
            la, lb = ta.split("\n"), tb.split("\n")
            k = next((k for k, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
            d.append("-traces -sample_index=%d differs at line %d:\n    expected: %r\n    actual:   %r"
                     % (idx, k + 1, la[k] if k < len(la) else "<end>", lb[k] if k < len(lb) else "<end>"))
    return d


def accepts(path):
    """None when go tool pprof reads the file, else its error."""
    try:
        go_pprof(["-raw"], path)
        return None
    except GoRejects as e:
        return str(e)


def compare(a_path, b_path, n_types):
    return compare_raw(a_path, b_path) + compare_traces(a_path, b_path, n_types)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "compare":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import pprofcmp
    inf = pprofcmp.info(sys.argv[2])
    try:
        diffs = compare(sys.argv[2], sys.argv[3], inf["sample_types"])
    except GoRejects as e:
        print("go tool pprof rejects %s: %s" % (sys.argv[2], e))
        sys.exit(3)
    print("\n".join(diffs))
    sys.exit(1 if diffs else 0)
