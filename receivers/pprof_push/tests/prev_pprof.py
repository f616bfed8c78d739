"""Small pprofs with chosen stacks and values, and their decoding back to
{(sample type, stack): value}, for the prev_profile tests (field numbers from
proto/pprof/profile.proto). Stdlib only."""
import gzip

import harness as H
import pyro_helpers as P


def encode(types, samples, time_ns=0, period_type=None):
    """A gzip'd pprof: types [(type, unit)], samples [(stack of function names, leaf first,
    [values])]; one location per function name."""
    strings = [""]

    def s(x):
        if x not in strings:
            strings.append(x)
        return strings.index(x)

    funcs = []
    for stack, _ in samples:
        funcs += [f for f in stack if f not in funcs]
    parts = [H._field(1, H._vfield(1, s(t)) + H._vfield(2, s(u))) for t, u in types]
    for stack, values in samples:
        locs = b"".join(H._varint(funcs.index(f) + 1) for f in stack)
        vals = b"".join(H._varint(v) for v in values)
        parts.append(H._field(2, H._field(1, locs) + H._field(2, vals)))
    for i, f in enumerate(funcs):
        parts.append(H._field(4, H._vfield(1, i + 1) + H._vfield(3, 0x1000 + i) +
                              H._field(4, H._vfield(1, i + 1) + H._vfield(2, 10 + i))))
        parts.append(H._field(5, H._vfield(1, i + 1) + H._vfield(2, s(f)) + H._vfield(4, s("main.go"))))
    if period_type:
        parts.append(H._field(11, H._vfield(1, s(period_type[0])) + H._vfield(2, s(period_type[1]))))
        parts.append(H._vfield(12, 1))
    if time_ns:
        parts.append(H._vfield(9, time_ns))
    parts += [H._field(6, x.encode()) for x in strings]
    return gzip.compress(b"".join(parts))


def decode(data):
    """{(sample type, stack tuple of function names, leaf first): value} of a pprof (gzip or
    not), values summed per key, zeros left out."""
    f = P.fields(P.gunzip_maybe(data))
    strings = [v.decode() for n, _, v in f if n == 6]
    types = []
    funcs, locs = {}, {}
    for n, _, v in f:
        if n == 1:
            d = {k: x for k, _, x in P.fields(v)}
            types.append(strings[d.get(1, 0)])
        elif n == 5:
            d = {k: x for k, _, x in P.fields(v)}
            funcs[d.get(1, 0)] = strings[d.get(2, 0)]
        elif n == 4:
            lid, fns = 0, []
            for k, _, x in P.fields(v):
                if k == 1:
                    lid = x
                elif k == 4:
                    ln = {kk: xx for kk, _, xx in P.fields(x)}
                    fns.append(ln.get(1, 0))
            locs[lid] = fns
    out = {}
    for n, _, v in f:
        if n != 2:
            continue
        ids, vals = [], []
        for k, wt, x in P.fields(v):
            if k == 1:
                ids += P.ints(wt, x)
            elif k == 2:
                vals += P.ints(wt, x)
        stack = tuple(funcs.get(fid, "?") for lid in ids for fid in locs.get(lid, []))
        for t, val in zip(types, vals):
            if val:
                out[(t, stack)] = out.get((t, stack), 0) + val
    return out


def from_raw(text):
    """The same dict from `go tool pprof -raw` text (function of each location's first
    line)."""
    lines = text.splitlines()
    i = lines.index("Samples:")
    types = [t.split("/")[0] for t in lines[i + 1].split()]
    samples, locs = [], {}
    j = i + 2
    while j < len(lines) and lines[j].startswith(" ") and ":" in lines[j]:
        vals, _, ids = lines[j].partition(":")
        samples.append(([int(x) for x in vals.split()], [int(x) for x in ids.split()]))
        j += 1
    j = lines.index("Locations", j) + 1
    while j < len(lines) and lines[j] != "Mappings":
        tok = lines[j].split()
        if tok and tok[0].endswith(":") and len(tok) >= 4:
            locs[int(tok[0][:-1])] = tok[3]
        j += 1
    out = {}
    for vals, ids in samples:
        stack = tuple(locs[x] for x in ids)
        for t, v in zip(types, vals):
            if v:
                out[(t, stack)] = out.get((t, stack), 0) + v
    return out
