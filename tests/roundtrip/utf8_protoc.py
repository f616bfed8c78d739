"""OTLP output is valid UTF-8 whatever bytes the input strings hold: a pprof whose function
name and label value are not UTF-8, and an OTLP input whose string table is not, are
converted by `profgate convert`; `protoc --decode` (a conformant decoder, which refuses a
message with one bad string) reads the output, and the bad bytes became U+FFFD.
usage: utf8_protoc.py PROFGATE WORKDIR"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))
import harness as H  # noqa: E402

PROTO = os.path.join(H.SRC, "proto")
MSG = "opentelemetry.proto.profiles.v1development.ProfilesData"
FILE = "opentelemetry/proto/profiles/v1development/profiles.proto"
FFFD = "\\357\\277\\275"


def protoc_decode(path):
    with open(path, "rb") as f:
        r = subprocess.run(["protoc", "--decode=" + MSG, "-I", PROTO, FILE], stdin=f,
                           capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def pprof_with_bad_strings():
    """One sample in function b\\xff\\xfen with label key k\\xc0 = value v\\xed\\xa0\\x80 (an
    overlong form and a surrogate: both invalid)."""
    p = H.tiny_pprof("NAME", 3).replace(b"NAME", b"b\xff\xfen")
    label = H._field(3, H._vfield(1, 4) + H._vfield(2, 5))
    sample = H._field(2, H._field(1, H._varint(1)) + H._field(2, H._varint(3)) + label)
    return p + sample + H._field(6, b"k\xc0\x80") + H._field(6, b"v\xed\xa0\x80")


def main():
    profgate, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    c = H.Checks()
    src = os.path.join(work, "bad.pb")
    with open(src, "wb") as f:
        f.write(pprof_with_bad_strings())
    out = os.path.join(work, "from_pprof.otlp")
    r = subprocess.run([profgate, "convert", src, out], capture_output=True, text=True)
    c.check(r.returncode == 0, "convert pprof: %s" % r.stderr)
    rc, text, err = protoc_decode(out)
    c.check(rc == 0, "protoc reads the OTLP written from pprof: %s" % err)
    c.check('"b%s%sn"' % (FFFD, FFFD) in text, "function name repaired byte by byte")
    c.check(text.count(FFFD) >= 4, "label key and value repaired too")
    # the same bytes inside OTLP: swap the repaired name back to raw bytes of equal length
    with open(out, "rb") as f:
        raw = f.read().replace(b"b\xef\xbf\xbd\xef\xbf\xbdn", b"b\xff\xfe\xff\xfe\xff\xfen")
    bad_otlp = os.path.join(work, "bad.otlp")
    with open(bad_otlp, "wb") as f:
        f.write(raw)
    c.check(protoc_decode(bad_otlp)[0] != 0, "protoc refuses the hand-broken OTLP (the check can fail)")
    again = os.path.join(work, "from_otlp.otlp")
    r = subprocess.run([profgate, "convert", bad_otlp, again], capture_output=True, text=True)
    c.check(r.returncode == 0, "convert OTLP: %s" % r.stderr)
    rc, text, err = protoc_decode(again)
    c.check(rc == 0 and ('"b%sn"' % (FFFD * 6)) in text, "OTLP input repaired too: %s" % err)
    c.finish()


if __name__ == "__main__":
    main()
