"""Runtime: `profgate convert` output safety and input limits, without root.

OUT that is not a regular file is written in place (a FIFO read by a background reader, a
symlink to a FIFO, /dev/null stays a character device); a symlink to a regular file stays a
link and its target is replaced atomically; regular files and new paths are replaced
atomically. Inputs: malformed --max-size and old format names are usage errors (exit 2),
an empty input is an error, gzip bombs fail on the sniffed prefix or at --max-size with
bounded memory."""
# ctest: TIMEOUT 300
import copy
import gzip
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading

import harness as H

CPU = os.path.join(H.DATA, "pprof", "go_cpu.pb.gz")
HEAP_OTLP = os.path.join(H.DATA, "otlp", "go_heap.otlp")


def run(binary, *args, stdin=None):
    r = subprocess.run([binary, "convert"] + list(args), input=stdin, capture_output=True, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


class Reader(threading.Thread):
    """Opens a FIFO for reading (unblocking the writer) and keeps everything it reads."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.data = path, b""
        self.start()

    def run(self):
        with open(self.path, "rb") as f:
            self.data = f.read()


def reference(binary, d, to_args, src):
    ref = os.path.join(d, "ref.out")
    rc, _, err = run(binary, *to_args, src, ref)
    assert rc == 0, err
    with open(ref, "rb") as f:
        return f.read()


def test_outputs(binary, c, d):
    want = reference(binary, d, ["--to", "otlp_proto"], CPU)
    c.check(len(want) > 1000, "reference OTLP output (%d bytes)" % len(want))

    # a FIFO, read by a background reader
    fifo = os.path.join(d, "out.fifo")
    os.mkfifo(fifo)
    rd = Reader(fifo)
    rc, _, err = run(binary, "--to", "otlp_proto", CPU, fifo)
    rd.join(30)
    c.check(rc == 0, "convert into a FIFO exits 0 (%s)" % err)
    c.check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO is still a FIFO")
    c.check(rd.data == want, "the reader got the whole output (%d bytes)" % len(rd.data))

    # a symlink to a FIFO: written through, both stay what they were
    link = os.path.join(d, "fifo.link")
    os.symlink(fifo, link)
    rd = Reader(fifo)
    rc, _, err = run(binary, "--to", "otlp_proto", CPU, link)
    rd.join(30)
    c.check(rc == 0, "convert into a symlink to a FIFO exits 0 (%s)" % err)
    c.check(os.path.islink(link) and os.readlink(link) == fifo, "the link is still a link to the FIFO")
    c.check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO behind the link is still a FIFO")
    c.check(rd.data == want, "the reader behind the link got the output")

    # a symlink to a regular file: the link stays, its target is replaced atomically
    sub = os.path.join(d, "sub")
    os.makedirs(sub)
    target = os.path.join(sub, "target.otlp")
    with open(target, "wb") as f:
        f.write(b"old")
    ino = os.stat(target).st_ino
    flink = os.path.join(d, "file.link")
    os.symlink("sub/target.otlp", flink)
    rc, _, err = run(binary, "--to", "otlp_proto", CPU, flink)
    c.check(rc == 0, "convert into a symlink to a file exits 0 (%s)" % err)
    c.check(os.path.islink(flink) and os.readlink(flink) == "sub/target.otlp",
            "the link is still the same link")
    with open(target, "rb") as f:
        c.check(f.read() == want, "the link's target holds the output")
    c.check(os.stat(target).st_ino != ino, "the target was replaced (a new inode), not rewritten")
    c.check(sorted(os.listdir(sub)) == ["target.otlp"], "no temporary file left beside the target")

    # a regular file and a new path: replaced / created atomically, pprof and JSON too
    reg = os.path.join(d, "reg.otlp")
    with open(reg, "wb") as f:
        f.write(b"old")
    ino = os.stat(reg).st_ino
    rc, _, err = run(binary, "--to", "otlp_proto", CPU, reg)
    c.check(rc == 0 and os.stat(reg).st_ino != ino, "a regular file is replaced (%s)" % err)
    for to, name in (("otlp_json", "new.json"), ("pprof", "new.pb.gz")):
        rc, _, err = run(binary, "--to", to, CPU, os.path.join(d, name))
        c.check(rc == 0 and os.path.getsize(os.path.join(d, name)) > 100, "new %s file (%s)" % (to, err))

    # /dev/null: a character device everyone may write; it must stay one
    def kind():
        return subprocess.run(["stat", "-c", "%F", "/dev/null"], capture_output=True,
                              text=True).stdout.strip()
    c.check(kind() == "character special file", "/dev/null is a character device before")
    for to in ("otlp_proto", "otlp_json", "pprof"):
        rc, _, err = run(binary, "--to", to, CPU, "/dev/null")
        c.check(rc == 0, "convert --to %s /dev/null exits 0 (%s)" % (to, err))
        c.check(kind() == "character special file", "/dev/null is still a character device after %s" % to)
    # several pprof outputs cannot go to one device: no /dev/null.1 sibling names
    two = os.path.join(d, "two.json")  # two resources: two pprof profiles
    rc, _, err = run(binary, "--to", "otlp_json", HEAP_OTLP, two)
    with open(two) as f:
        doc = json.load(f)
    doc["resourceProfiles"].append(copy.deepcopy(doc["resourceProfiles"][0]))
    with open(two, "w") as f:
        json.dump(doc, f)
    rc, _, err = run(binary, "--to", "pprof", two, "/dev/null")
    c.check(rc == 1 and "holds 2 profiles; give an output file name" in err,
            "several profiles into /dev/null refused (%s)" % err)
    c.check(not os.path.exists("/dev/null.1"), "no /dev/null.1")
    # into a file, each profile gets its own: the same pprof as the one-resource input gives
    # (the batch is freed while the last one is compressed, never before)
    rc, _, err = run(binary, "--to", "pprof", two, os.path.join(d, "two.pb.gz"))
    c.check(rc == 0, "several profiles into files (%s)" % err)
    rc, _, err = run(binary, "--to", "pprof", HEAP_OTLP, os.path.join(d, "one.pb.gz"))
    c.check(rc == 0, "one profile into a file (%s)" % err)
    plain = {}
    for name in ("one.pb.gz", "two.pb.gz", "two.1.pb.gz"):
        path = os.path.join(d, name)
        plain[name] = b""
        if os.path.exists(path):
            with open(path, "rb") as f:
                plain[name] = gzip.decompress(f.read())
    c.check(len(plain["one.pb.gz"]) > 100 and plain["two.pb.gz"] == plain["one.pb.gz"]
            and plain["two.1.pb.gz"] == plain["one.pb.gz"],
            "both outputs hold the profile (%d, %d, %d bytes)" % tuple(len(v) for v in plain.values()))

    # stdout still works
    rc, out, err = run(binary, "--to", "otlp_proto", CPU, "-")
    c.check(rc == 0 and out == want, "stdout output (%s)" % err)


def test_limits(binary, c, d):
    for bad in ("abc", "-5", "10XB", "0", ""):
        rc, _, err = run(binary, "--max-size", bad, CPU, os.path.join(d, "x.otlp"))
        c.check(rc == 2 and "max-size" in err, "--max-size %r is a usage error (rc %d: %s)" % (bad, rc, err[:200]))
    rc, _, err = run(binary, "--max-size", CPU, os.path.join(d, "x.otlp"))
    c.check(rc == 2, "--max-size without a value before IN/OUT: usage error (rc %d)" % rc)
    for old in ("otlp", "otlp-json", "json"):
        rc, _, err = run(binary, "--to", old, CPU, os.path.join(d, "x.out"))
        c.check(rc == 2 and "accepted: pprof, otlp_proto, otlp_json" in err,
                "--to %s is a usage error naming the accepted values (%s)" % (old, err[:200]))
    rc, out, _ = run(binary, "--help")
    c.check(rc == 0 and b"1GiB" in out, "help names the default limit")
    ok = os.path.join(d, "ok.otlp")
    rc, _, err = run(binary, "--max-size", "64MiB", CPU, ok)
    c.check(rc == 0, "a size with a unit is accepted (%s)" % err)

    # empty input, plain and gzipped, as Go's pprof parser: an error
    empty = os.path.join(d, "empty.pb")
    open(empty, "wb").close()
    gz_empty = os.path.join(d, "empty.pb.gz")
    with open(gz_empty, "wb") as f:
        f.write(gzip.compress(b""))
    for src in (empty, gz_empty):
        for args in ([], ["--from", "pprof"]):
            rc, _, err = run(binary, *args, src, os.path.join(d, "e.otlp"))
            c.check(rc == 1 and "empty input" in err, "empty %s %s refused (%s)" % (src, args, err))
    rc, _, err = run(binary, "-", os.path.join(d, "e.otlp"), stdin=b"")
    c.check(rc == 1 and "empty input" in err, "empty stdin refused (%s)" % err)

    # truncated pprof: an error about pprof, never "malformed OTLP"
    with open(os.path.join(H.DATA, "pprof", "go_cpu_plain.pb"), "rb") as f:
        plain = f.read()
    trunc = os.path.join(d, "trunc.pb")
    with open(trunc, "wb") as f:
        f.write(plain[: len(plain) // 2])
    rc, _, err = run(binary, trunc, os.path.join(d, "t.otlp"))
    c.check(rc == 1 and "guessed pprof" in err and "otlp" not in err.split("guessed pprof")[1].split(":")[0],
            "truncated pprof is reported as pprof (%s)" % err)
    c.check("truncated" in err, "and as truncated (%s)" % err)

    # gzip bombs: zeros fail on the sniffed prefix; protobuf-shaped ones at --max-size
    zeros = os.path.join(d, "zeros.gz")
    with open(zeros, "wb") as f:
        f.write(gzip.compress(bytes(4 << 20), 6))
    rc, _, err = run(binary, "--max-size", "1MiB", zeros, os.path.join(d, "z.otlp"))
    c.check(rc == 1 and "cannot tell the format" in err and "not protobuf" in err,
            "a zero bomb fails on the prefix (%s)" % err)
    rc, _, err = run(binary, "--from", "pprof", "--max-size", "1MiB", zeros, os.path.join(d, "z.otlp"))
    c.check(rc == 1 and "exceeds the limit of 1048576" in err, "a forced zero bomb stops at --max-size (%s)" % err)
    shaped = os.path.join(d, "shaped.gz")  # pprof string-table entries, 2 bytes each
    with open(shaped, "wb") as f:
        f.write(gzip.compress(b"\x32\x00" * (2 << 20), 6))
    rc, _, err = run(binary, "--max-size", "1MiB", shaped, os.path.join(d, "s.otlp"))
    c.check(rc == 1 and "guessed pprof" in err and "exceeds the limit of 1048576" in err,
            "a pprof-shaped bomb stops at --max-size (%s)" % err)
    # memory stays bounded by the limit, not by what the bomb inflates to (256 MiB)
    big = os.path.join(d, "big.gz")
    with gzip.open(big, "wb", compresslevel=1) as f:  # streamed: this test stays small too
        chunk = b"\x32\x00" * (1 << 20)
        for _ in range(128):
            f.write(chunk)
    # GNU time reports the peak RSS of the profgate process alone
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss_kib=%M", binary, "convert", "--max-size",
                        "8MiB", big, os.path.join(d, "b.otlp")], capture_output=True, timeout=120)
    err = r.stderr.decode("utf-8", "replace")
    c.check(r.returncode == 1 and "exceeds the limit" in err, "a 256 MiB bomb stops at 8 MiB (%s)" % err)
    rss = [int(line.split("=")[1]) for line in err.splitlines() if line.startswith("maxrss_kib=")]
    c.check(rss and rss[0] < 160 * 1024, "peak RSS %s KiB stays far below the bomb's 256 MiB" % rss)

def peak_rss_kib(binary, *args):
    """Runs `profgate convert ARGS` under GNU time; returns (exit code, peak RSS in KiB)."""
    # under AddressSanitizer freed memory waits in a quarantine: measure without it
    env = dict(os.environ, ASAN_OPTIONS="quarantine_size_mb=0:" + os.environ.get("ASAN_OPTIONS", ""))
    r = subprocess.run(["/usr/bin/time", "-f", "maxrss_kib=%M", binary, "convert"] + list(args),
                       capture_output=True, timeout=300, env=env)
    err = r.stderr.decode("utf-8", "replace")
    rss = [int(line.split("=")[1]) for line in err.splitlines() if line.startswith("maxrss_kib=")]
    return r.returncode, rss[0] if rss else None


def test_json_streamed(binary, c, d):
    """OTLP/JSON output is written as it is produced, and each profile's samples are
    materialised for the JSON writer one profile at a time: 300k samples of 8 sample types
    over 50 locations (a few MB of pprof, tens of MB of JSON) convert with a peak below the
    JSON's size (holding the text, or every profile's samples as structs, would not)."""
    src = os.path.join(d, "many.pb")
    with open(src, "wb") as f:
        f.write(H.tiny_pprof("json_stream_fn", 5, n=300000, types=8, locations=50))
    out = os.path.join(d, "many.json")
    rc, rss = peak_rss_kib(binary, src, out)
    size = os.path.getsize(out) if os.path.exists(out) else 0
    c.check(rc == 0 and size > 32 << 20, "converted to %d bytes of JSON" % size)
    c.check(rss is not None and rss * 1024 < size,
            "peak RSS %s KiB is under the JSON's %d bytes (streamed)" % (rss, size))
    with open(out, "rb") as f:
        head = f.read(64)
        f.seek(-64, 2)
        tail = f.read()
    c.check(head.startswith(b'{"resourceProfiles":[') and tail.rstrip().endswith(b"}"),
            "a whole JSON document")


def main():
    binary = sys.argv[1]
    c = H.Checks()
    with tempfile.TemporaryDirectory(prefix="pg-convert-") as d:
        test_outputs(binary, c, d)
        test_limits(binary, c, d)
        test_json_streamed(binary, c, d)
    c.finish()


if __name__ == "__main__":
    main()
