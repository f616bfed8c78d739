"""The oracle for scraped Go profiles: every delta profgate made from two scrapes of
tests/go/scrapetarget (run with -save, which keeps every allocs, mutex and block profile it
serves) equals Go's own `go tool pprof -raw -base prev cur` of that pair. Shared by the
pprof_scrape test and the deployment chain test."""
import glob
import os

import gooracle
import pprofcmp

CUMULATIVE = ("alloc_objects", "alloc_space", "contentions", "delay")


def aggregate(raw_text):
    """{(stack, labels): {type: value}} from `go tool pprof -raw`, zero values dropped."""
    _, types, samples, _ = gooracle.parse_raw(raw_text)
    names = [t.split("/")[0] for t in types.replace("[dflt]", "").split()]
    out = {}
    for vals, stack, labels in samples:
        key = (tuple(stack), tuple(sorted(labels)))
        d = out.setdefault(key, {})
        for n, v in zip(names, vals):
            d[n] = d.get(n, 0) + v
    for d in out.values():
        for n in [n for n, v in d.items() if v == 0]:
            del d[n]
    return {k: d for k, d in out.items() if d}, names


def only(agg, types):
    out = {}
    for k, d in agg.items():
        x = {n: v for n, v in d.items() if n in types}
        if x:
            out[k] = x
    return out


def info(path):
    p = pprofcmp.decode(pprofcmp.raw_bytes(path))
    st = p["string_table"]
    types = [st[t["type"]] for t in p["sample_type"]]
    return p["time_nanos"], p["duration_nanos"], types


def check_deltas(c, save, out_dir, port, least=2):
    """Every cumulative profile in out_dir (pprof files) against Go's own diff of the pair
    of profiles the target saved in `save` (scrapetarget -save) that it was made from, for
    the target on `port`: deltas equal, none negative, inuse_* as the newer profile has them,
    the duration the time between the two scrapes; at least `least` checked per kind.
    Returns the {kind: profiles checked}."""
    saved = {}
    for f in glob.glob(os.path.join(save, "*-%d-*.pb.gz" % port)):
        kind = os.path.basename(f).split("-")[0]
        saved.setdefault(kind, []).append((info(f)[0], f))
    by_time = {}
    for kind, lst in saved.items():
        lst.sort()
        for i, (t, f) in enumerate(lst[:-1]):
            by_time[t] = (kind, f, lst[i + 1][1], lst[i + 1][0])
    checked = {"allocs": 0, "mutex": 0, "block": 0}
    negatives = 0
    for out in sorted(glob.glob(os.path.join(out_dir, "*.pb.gz"))):
        t, dur, types = info(out)
        if not any(x in CUMULATIVE for x in types) or t not in by_time:
            continue
        kind, prev, cur, tcur = by_time[t]
        c.check(dur == tcur - t, "%s: duration %d is the time between the two scrapes (%d)" % (out, dur, tcur - t))
        ours, _ = aggregate(gooracle.go_pprof(["-raw"], out))
        diff, _ = aggregate(gooracle.go_pprof(["-raw", "-base", prev], cur))
        newer, _ = aggregate(gooracle.go_pprof(["-raw"], cur))
        cum = [x for x in types if x in CUMULATIVE]
        a, b = only(ours, cum), only(diff, cum)
        first = next((k for k in sorted(set(a) | set(b), key=str) if a.get(k) != b.get(k)), None)
        c.check(a == b, "%s (%s): the delta equals go tool pprof -base (%d vs %d stacks; first difference %s: %s vs %s)"
                % (out, kind, len(a), len(b), first, a.get(first), b.get(first)))
        negatives += sum(1 for d in a.values() for v in d.values() if v < 0)
        inuse = [x for x in types if x.startswith("inuse_")]
        if inuse:
            c.check(only(ours, inuse) == only(newer, inuse), "%s: inuse_* as the newer profile has them" % out)
        checked[kind] += 1
    c.check(negatives == 0, "no negative delta (%d)" % negatives)
    c.check(all(n >= least for n in checked.values()), "deltas checked against Go for every kind: %s" % checked)
    return checked
