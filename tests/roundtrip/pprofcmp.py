#!/usr/bin/python3
"""pprofcmp.py — profgate's own structural pprof comparator (stdlib only).

Decodes gzipped or plain pprof by hand (protobuf wire format, packed and unpacked repeated
fields), validates references, and compares two profiles by meaning:
  same sample types in order, default sample type, period type and period, time, duration,
  comments, drop/keep frames, doc_url; samples in order (duplicates kept) with values, stack
  (address, mapping with start/limit/offset/file/build id/has_* flags, is_folded, lines with
  function name/system name/filename/start_line, line, column, in order) and labels (per key
  value order kept: str, or num with unit; order across keys free).
  The mapping table, every entry in its order (mapping[0] is the main binary), and the
  locations and functions of the tables as sets (those no sample uses included).
Ids, string table order, duplicate strings and the order of locations and functions carry no
meaning.

  pprofcmp.py compare EXPECTED ACTUAL   exit 0 equal, 1 different (diff printed), 2 bad input
  pprofcmp.py dump FILE                 print the semantic form
  pprofcmp.py info FILE                 JSON facts (sizes, counts, first mapping orphan)
  pprofcmp.py selftest PAIRSDIR         eq-*.a/b must compare equal, ne-*.a/b different
"""
import gzip
import json
import os
import sys

MAX_SHOWN = 8  # differing samples printed per comparison


class DecodeError(Exception):
    pass


# ---- protobuf wire format ----

def read_varint(b, i):
    x = shift = 0
    while True:
        if i >= len(b):
            raise DecodeError("truncated varint")
        c = b[i]
        i += 1
        x |= (c & 0x7F) << shift
        if c < 0x80:
            return x, i
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")


def fields(b):
    """Yield (field number, wire type, value) where value is int or bytes."""
    i, n = 0, len(b)
    while i < n:
        key, i = read_varint(b, i)
        fn, wt = key >> 3, key & 7
        if fn == 0:
            raise DecodeError("field number 0")
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 1:
            if i + 8 > n:
                raise DecodeError("truncated fixed64")
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wt == 2:
            ln, i = read_varint(b, i)
            if i + ln > n:
                raise DecodeError("truncated length-delimited field %d" % fn)
            v, i = bytes(b[i:i + ln]), i + ln
        elif wt == 5:
            if i + 4 > n:
                raise DecodeError("truncated fixed32")
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        else:
            raise DecodeError("unsupported wire type %d (field %d)" % (wt, fn))
        yield fn, wt, v


def s64(x):
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


def repeated(out, wt, v):
    """Append a repeated varint field, packed (wt 2) or not (wt 0)."""
    if wt == 0:
        out.append(v)
    elif wt == 2:
        i = 0
        while i < len(v):
            x, i = read_varint(v, i)
            out.append(x)
    else:
        raise DecodeError("bad wire type %d for repeated varint" % wt)


def scalar(wt, v, what):
    if wt != 0:
        raise DecodeError("bad wire type %d for %s" % (wt, what))
    return v


def msg(wt, v, what):
    if wt != 2:
        raise DecodeError("bad wire type %d for %s" % (wt, what))
    return v


def decode_msg(b, spec, what):
    """Decode a message whose fields are all varints; spec: {field: (name, 'u'|'i'|'b'|'r')}."""
    d = {name: ([] if kind == "r" else 0) for name, kind in spec.values()}
    for fn, wt, v in fields(b):
        if fn not in spec:
            continue
        name, kind = spec[fn]
        if kind == "r":
            repeated(d[name], wt, v)
        else:
            x = scalar(wt, v, what + "." + name)
            d[name] = s64(x) if kind == "i" else (x != 0 if kind == "b" else x)
    return d


VT = {1: ("type", "i"), 2: ("unit", "i")}
LABEL = {1: ("key", "i"), 2: ("str", "i"), 3: ("num", "i"), 4: ("num_unit", "i")}
MAPPING = {1: ("id", "u"), 2: ("start", "u"), 3: ("limit", "u"), 4: ("offset", "u"), 5: ("filename", "i"),
           6: ("build_id", "i"), 7: ("has_functions", "b"), 8: ("has_filenames", "b"),
           9: ("has_line_numbers", "b"), 10: ("has_inline_frames", "b")}
LINE = {1: ("function_id", "u"), 2: ("line", "i"), 3: ("column", "i")}
FUNCTION = {1: ("id", "u"), 2: ("name", "i"), 3: ("system_name", "i"), 4: ("filename", "i"),
            5: ("start_line", "i")}


def raw_bytes(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise DecodeError("gzip: %s" % e)
    return data


def decode(data):
    """Decode pprof Profile bytes (already gunzipped) into plain dicts with raw indices."""
    p = {"sample_type": [], "sample": [], "mapping": [], "location": [], "function": [],
         "string_table": [], "comment": [], "period_type": None}
    ints = {7: "drop_frames", 8: "keep_frames", 9: "time_nanos", 10: "duration_nanos", 12: "period",
            14: "default_sample_type", 15: "doc_url"}
    for k in ints.values():
        p[k] = 0
    for fn, wt, v in fields(data):
        if fn == 1:
            p["sample_type"].append(decode_msg(msg(wt, v, "sample_type"), VT, "ValueType"))
        elif fn == 2:
            s = {"location_id": [], "value": [], "label": []}
            for sf, swt, sv in fields(msg(wt, v, "sample")):
                if sf == 1:
                    repeated(s["location_id"], swt, sv)
                elif sf == 2:
                    repeated(s["value"], swt, sv)
                elif sf == 3:
                    s["label"].append(decode_msg(msg(swt, sv, "label"), LABEL, "Label"))
            s["value"] = [s64(x) for x in s["value"]]
            p["sample"].append(s)
        elif fn == 3:
            p["mapping"].append(decode_msg(msg(wt, v, "mapping"), MAPPING, "Mapping"))
        elif fn == 4:
            loc = {"id": 0, "mapping_id": 0, "address": 0, "line": [], "is_folded": False}
            for lf, lwt, lv in fields(msg(wt, v, "location")):
                if lf == 1:
                    loc["id"] = scalar(lwt, lv, "Location.id")
                elif lf == 2:
                    loc["mapping_id"] = scalar(lwt, lv, "Location.mapping_id")
                elif lf == 3:
                    loc["address"] = scalar(lwt, lv, "Location.address")
                elif lf == 4:
                    loc["line"].append(decode_msg(msg(lwt, lv, "line"), LINE, "Line"))
                elif lf == 5:
                    loc["is_folded"] = scalar(lwt, lv, "Location.is_folded") != 0
            p["location"].append(loc)
        elif fn == 5:
            p["function"].append(decode_msg(msg(wt, v, "function"), FUNCTION, "Function"))
        elif fn == 6:
            try:
                p["string_table"].append(msg(wt, v, "string_table").decode("utf-8"))
            except UnicodeDecodeError as e:
                raise DecodeError("string_table[%d] is not UTF-8: %s" % (len(p["string_table"]), e))
        elif fn == 11:
            p["period_type"] = decode_msg(msg(wt, v, "period_type"), VT, "ValueType")
        elif fn == 13:
            repeated(p["comment"], wt, v)
        elif fn in ints:
            p[ints[fn]] = s64(scalar(wt, v, ints[fn]))
    return p


# ---- validation and semantic form ----

class Semantic:
    """The meaning of a profile; every field comparable with ==."""

    def __init__(self, raw):
        self.errors = []
        st = raw["string_table"]
        if not st or st[0] != "":
            self.errors.append("string_table[0] must be \"\" (table has %d entries)" % len(st))

        def s(i, what):
            if 0 <= i < len(st):
                return st[i]
            if i == 0:  # empty table: index 0 still means ""
                return ""
            self.errors.append("%s: string index %d out of range (%d strings)" % (what, i, len(st)))
            return "<bad string %d>" % i

        def table(items, what):
            t = {}
            for it in items:
                if it["id"] == 0:
                    self.errors.append("%s with reserved id 0" % what)
                elif it["id"] in t:
                    self.errors.append("duplicate %s id %d" % (what, it["id"]))
                t[it["id"]] = it
            return t

        maps = table(raw["mapping"], "mapping")
        fns = table(raw["function"], "function")
        locs = table(raw["location"], "location")
        self.sample_types = tuple((s(v["type"], "sample_type"), s(v["unit"], "sample_type")) for v in raw["sample_type"])
        self.default_sample_type = s(raw["default_sample_type"], "default_sample_type")
        pt = raw["period_type"] or {"type": 0, "unit": 0}  # missing == empty (as Go decodes it)
        self.period_type = (s(pt["type"], "period_type"), s(pt["unit"], "period_type"))
        self.period = raw["period"]
        self.time_nanos = raw["time_nanos"]
        self.duration_nanos = raw["duration_nanos"]
        self.comments = tuple(s(c, "comment") for c in raw["comment"])
        self.drop_frames = s(raw["drop_frames"], "drop_frames")
        self.keep_frames = s(raw["keep_frames"], "keep_frames")
        self.doc_url = s(raw["doc_url"], "doc_url")

        def mapping(mid, where):
            if mid == 0:
                return None
            m = maps.get(mid)
            if m is None:
                self.errors.append("%s: unknown mapping id %d" % (where, mid))
                return ("<missing mapping %d>" % mid,)
            return (m["start"], m["limit"], m["offset"], s(m["filename"], "mapping.filename"),
                    s(m["build_id"], "mapping.build_id"), m["has_functions"], m["has_filenames"],
                    m["has_line_numbers"], m["has_inline_frames"])

        def function(fid, where):
            if fid == 0:
                return None
            f = fns.get(fid)
            if f is None:
                self.errors.append("%s: unknown function id %d" % (where, fid))
                return ("<missing function %d>" % fid,)
            return (s(f["name"], "function.name"), s(f["system_name"], "function.system_name"),
                    s(f["filename"], "function.filename"), f["start_line"])

        loc_cache = {}

        def location(lid):
            if lid in loc_cache:
                return loc_cache[lid]
            l = locs.get(lid)
            if l is None:
                self.errors.append("sample references unknown location id %d" % lid)
                r = ("<missing location %d>" % lid,)
            else:
                where = "location %d" % lid
                r = (l["address"], mapping(l["mapping_id"], where), l["is_folded"],
                     tuple((function(ln["function_id"], where), ln["line"], ln["column"]) for ln in l["line"]))
            loc_cache[lid] = r
            return r

        self.samples = []
        nt = len(self.sample_types)
        for k, smp in enumerate(raw["sample"]):
            if len(smp["value"]) != nt:
                self.errors.append("sample %d has %d values for %d sample types" % (k, len(smp["value"]), nt))
            by_key = {}
            for lb in smp["label"]:
                key = s(lb["key"], "label.key")
                if lb["str"] != 0:
                    val = ("str", s(lb["str"], "label.str"))
                else:
                    val = ("num", lb["num"], s(lb["num_unit"], "label.num_unit"))
                by_key.setdefault(key, []).append(val)
            labels = tuple(sorted((k2, tuple(v)) for k2, v in by_key.items()))
            stack = tuple(location(lid) for lid in smp["location_id"])
            self.samples.append((tuple(smp["value"]), stack, labels))

        # pprof: "mapping[0] will be the main binary". It only counts when a location uses it.
        referenced = {l[1] for l in loc_cache.values() if len(l) > 1 and l[1]}
        first = mapping(raw["mapping"][0]["id"], "mapping[0]") if raw["mapping"] else None
        self.first_mapping_orphan = first is not None and first not in referenced
        self.main_binary = first if first in referenced else None
        # The tables: every mapping in order; locations and functions by content, those no
        # sample (or no location) uses included.
        self.mappings = tuple(mapping(m["id"], "mapping table") for m in raw["mapping"])
        self.locations = frozenset(location(l["id"]) for l in raw["location"] if l["id"])
        self.functions = frozenset(function(f["id"], "function table") for f in raw["function"] if f["id"])
        # Entries no sample reaches (ids), counted for `info`.
        used_l = {lid for smp in raw["sample"] for lid in smp["location_id"]}
        used_m = {locs[i]["mapping_id"] for i in used_l if i in locs}
        used_f = {ln["function_id"] for i in used_l if i in locs for ln in locs[i]["line"]}
        self.unreferenced = {"mappings": sum(m["id"] not in used_m for m in raw["mapping"]),
                             "locations": sum(l["id"] not in used_l for l in raw["location"]),
                             "functions": sum(f["id"] not in used_f for f in raw["function"])}

    HEADER = ("sample_types", "default_sample_type", "period_type", "period", "time_nanos", "duration_nanos",
              "comments", "drop_frames", "keep_frames", "doc_url")


def load(path):
    return Semantic(decode(raw_bytes(path)))


# ---- rendering ----

def fmt_mapping(m):
    if m is None:
        return "no-mapping"
    if len(m) == 1:
        return m[0]
    flags = "".join(f for f, on in zip(("FN", "FL", "LN", "IN"), m[5:9]) if on)
    return "map[%#x-%#x@%#x %s bid=%r %s]" % (m[0], m[1], m[2], m[3] or '""', m[4], flags or "-")


def fmt_line(ln):
    f, line, col = ln
    if f is None:
        fn = "<no function>"
    elif len(f) == 1:
        fn = f[0]
    else:
        fn = "%s%s %s s=%d" % (f[0] or '""', "" if f[1] == f[0] else "(sys=%s)" % (f[1] or '""'), f[2] or '""', f[3])
    return "%s :%d:%d" % (fn, line, col)


def fmt_loc(l):
    if len(l) == 1:
        return l[0]
    head = "%#x %s%s" % (l[0], fmt_mapping(l[1]), " [folded]" if l[2] else "")
    return head + " | " + (" ; ".join(fmt_line(ln) for ln in l[3]) if l[3] else "(no lines)")


def fmt_labels(labels):
    out = []
    for k, vals in labels:
        vs = [repr(v[1]) if v[0] == "str" else "%d%s" % (v[1], " " + v[2] if v[2] else "") for v in vals]
        out.append("%r:[%s]" % (k, ", ".join(vs)))
    return " ".join(out) or "(no labels)"


def fmt_sample(i, smp):
    vals, stack, labels = smp
    lines = ["sample %d: values=%s labels=%s" % (i, list(vals), fmt_labels(labels))]
    lines += ["    #%d %s" % (k, fmt_loc(l)) for k, l in enumerate(stack)] or ["    (empty stack)"]
    return lines


def dump(sem):
    out = ["%s: %r" % (h, getattr(sem, h)) for h in Semantic.HEADER]
    for i, smp in enumerate(sem.samples):
        out += fmt_sample(i, smp)
    return out


# ---- comparison ----

def compare(a, b, name_a="expected", name_b="actual"):
    """Return a list of human-readable differences (empty when equal)."""
    d = []
    for err in a.errors:
        d.append("%s is invalid: %s" % (name_a, err))
    for err in b.errors:
        d.append("%s is invalid: %s" % (name_b, err))
    for h in Semantic.HEADER:
        va, vb = getattr(a, h), getattr(b, h)
        if va != vb:
            d.append("%s differs:\n    %s: %r\n    %s: %r" % (h, name_a, va, name_b, vb))
    if a.main_binary is not None and a.main_binary != b.main_binary:
        d.append("main binary (mapping[0]) differs:\n    %s: %s\n    %s: %s"
                 % (name_a, fmt_mapping(a.main_binary), name_b, fmt_mapping(b.main_binary)))
    if a.mappings != b.mappings:
        k = next((k for k, (x, y) in enumerate(zip(a.mappings, b.mappings)) if x != y),
                 min(len(a.mappings), len(b.mappings)))
        at = lambda m: fmt_mapping(m[k]) if k < len(m) else "<end>"
        d.append("mapping table differs (%d vs %d mappings), first at mapping[%d]:\n    %s: %s\n    %s: %s"
                 % (len(a.mappings), len(b.mappings), k, name_a, at(a.mappings), name_b, at(b.mappings)))
    for what in ("locations", "functions"):
        ta, tb = set(getattr(a, what)), set(getattr(b, what))
        if ta != tb:
            only = lambda x, y: (sorted(repr(e) for e in x - y) or ["-"])[0]
            d.append("%s tables differ (%d vs %d distinct): only in %s: %d (first %s); only in %s: %d (first %s)"
                     % (what, len(ta), len(tb), name_a, len(ta - tb), only(ta, tb), name_b, len(tb - ta), only(tb, ta)))
    na, nb = len(a.samples), len(b.samples)
    if na != nb:
        d.append("sample count differs: %s has %d, %s has %d" % (name_a, na, name_b, nb))
    shown = 0
    for i in range(min(na, nb)):
        sa, sb = a.samples[i], b.samples[i]
        if sa == sb:
            continue
        shown += 1
        if shown > MAX_SHOWN:
            d.append("... more differing samples not shown")
            break
        what = []
        if sa[0] != sb[0]:
            what.append("values %s vs %s" % (list(sa[0]), list(sb[0])))
        if sa[2] != sb[2]:
            what.append("labels\n      %s: %s\n      %s: %s" % (name_a, fmt_labels(sa[2]), name_b, fmt_labels(sb[2])))
        if sa[1] != sb[1]:
            if len(sa[1]) != len(sb[1]):
                what.append("stack depth %d vs %d" % (len(sa[1]), len(sb[1])))
            for k, (la, lb) in enumerate(zip(sa[1], sb[1])):
                if la != lb:
                    what.append("frame #%d\n      %s: %s\n      %s: %s" % (k, name_a, fmt_loc(la), name_b, fmt_loc(lb)))
                    break
        d.append("sample %d differs: %s" % (i, "; ".join(what)))
    if na != nb and not shown:
        extra, who = (a, name_a) if na > nb else (b, name_b)
        d.append("first extra sample in %s:\n    %s" % (who, "\n    ".join(fmt_sample(min(na, nb), extra.samples[min(na, nb)]))))
    return d


def info(path):
    with open(path, "rb") as f:
        size = len(f.read())
    data = raw_bytes(path)
    raw = decode(data)
    sem = Semantic(raw)
    return {"file_bytes": size, "uncompressed_bytes": len(data), "samples": len(raw["sample"]),
            "sample_types": len(raw["sample_type"]), "locations": len(raw["location"]),
            "mappings": len(raw["mapping"]), "functions": len(raw["function"]),
            "unreferenced": sem.unreferenced,
            "first_mapping_orphan": sem.first_mapping_orphan, "errors": sem.errors}


def selftest(pairs_dir):
    names = sorted({f.rsplit(".a.pb.gz", 1)[0] for f in os.listdir(pairs_dir) if f.endswith(".a.pb.gz")})
    failed = 0
    for n in names:
        a = load(os.path.join(pairs_dir, n + ".a.pb.gz"))
        b = load(os.path.join(pairs_dir, n + ".b.pb.gz"))
        diffs = compare(a, b, "a", "b")
        want_equal = n.startswith("eq-")
        ok = (not diffs) == want_equal and not a.errors and not b.errors
        failed += not ok
        print("%s %s: comparator says %s" % ("PASS" if ok else "FAIL", n, "equal" if not diffs else "different"))
        if not ok or (diffs and os.environ.get("VERBOSE")):
            print("    " + "\n    ".join(diffs or ["(no differences found)"]))
    print("%d passed, %d failed" % (len(names) - failed, failed))
    return 1 if failed or not names else 0


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "compare":
            diffs = compare(load(argv[2]), load(argv[3]), "input", "output")
            print("\n".join(diffs))
            return 1 if diffs else 0
        if len(argv) == 3 and argv[1] == "dump":
            sem = load(argv[2])
            print("\n".join(dump(sem) + ["invalid: " + e for e in sem.errors]))
            return 0
        if len(argv) == 3 and argv[1] == "info":
            print(json.dumps(info(argv[2])))
            return 0
        if len(argv) == 3 and argv[1] == "selftest":
            return selftest(argv[2])
    except (DecodeError, OSError) as e:
        print("pprofcmp: %s" % e, file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
