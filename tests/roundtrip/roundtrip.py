#!/usr/bin/python3
"""roundtrip.py — round-trips pprof files through `profgate convert` and checks they come back
semantically equal (stdlib only).

  roundtrip.py PROFGATE WORKDIR PROFILE...

For each profile P three paths are taken:
  A  files, formats sniffed:     convert P A.otlp ; convert A.otlp A.pb.gz
  B  OTLP/JSON, formats given:   convert --to otlp_json P B.json ; convert --from otlp_json --to pprof B.json B.pb.gz
  C  stdin/stdout, plain input:  gunzip(P) | convert --from pprof --to otlp_proto - - | convert --to pprof - - > C.pb.gz
Every pprof output must be gzipped, B.json must parse as JSON, and every path's result must
equal P under pprofcmp (structural, ours); A and B must also equal P under gooracle (go tool
pprof -raw/-traces). A path that fails is reported and the other paths are still checked.
An input that go tool pprof's parser calls malformed is not valid pprof, so losslessness is not
required of it: profgate may reject it (non-zero exit, one-line error) or convert it to
structurally valid output (differences are printed as notes). Inputs that go tool pprof only
refuses to display (e.g. "profile has no samples") are valid and checked structurally.
Prints one PASS/FAIL line per profile with diffs, then "N passed, N failed".
"""
import gzip
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gooracle  # noqa: E402
import pprofcmp  # noqa: E402

TIMEOUT = 300


class StepFailed(Exception):
    pass


def convert(profgate, args, stdin=None, what=""):
    """Run profgate convert; return stdout bytes. Raises StepFailed with the error text."""
    cmd = [profgate, "convert"] + args
    try:
        r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise StepFailed("%s: timed out after %ds: %s" % (what, TIMEOUT, " ".join(cmd)))
    err = r.stderr.decode("utf-8", "replace").strip()
    if r.returncode != 0:
        e = StepFailed("%s: exit %d: %s\n      stderr: %s" % (what, r.returncode, " ".join(cmd),
                                                           err.replace("\n", "\n              ") or "(empty)"))
        e.one_line = bool(err) and "\n" not in err
        raise e
    return r.stdout


def check_pprof_out(path, what):
    with open(path, "rb") as f:
        head = f.read(2)
    if head != b"\x1f\x8b":
        raise StepFailed("%s: pprof output is not gzipped (starts with %r)" % (what, head))


# Valid pprof that profgate refuses by design, with the text its error must contain. The
# batch keeps NUL-terminated strings (protobuf-c), so a string holding a NUL byte would be
# cut short; profgate refuses it with a clear error instead (docs/translation.md).
REFUSED_BY_DESIGN = {"nul-bytes.pb.gz": "contains a NUL byte"}


def roundtrip(profgate, work, src):
    name = os.path.basename(src)
    if name in REFUSED_BY_DESIGN:
        want = REFUSED_BY_DESIGN[name]
        p = subprocess.run([profgate, "convert", src, os.path.join(work, name + ".otlp")],
                           capture_output=True, timeout=120)
        err = p.stderr.decode("utf-8", "replace").strip()
        if p.returncode != 0 and want in err and len(err.splitlines()) == 1:
            return True, ["refused by design: %s" % err]
        return False, ["expected a one-line refusal containing %r; exit %d, stderr %r" % (want, p.returncode, err)]
    d = os.path.join(work, name.replace(".", "_"))
    os.makedirs(d, exist_ok=True)
    j = lambda f: os.path.join(d, f)
    go_err = gooracle.accepts(src)
    invalid = go_err is not None and ("malformed profile" in go_err or "parsing profile" in go_err)
    notes = []

    # Path A: files, everything sniffed.
    try:
        convert(profgate, [src, j("A.otlp")], what="A pprof->otlp")
    except StepFailed as e:
        if invalid and getattr(e, "one_line", False):
            return True, ["rejected, as go tool pprof does (%s); profgate says: %s" % (go_err, str(e).split("stderr: ")[-1])]
        raise

    def path_a():
        convert(profgate, [j("A.otlp"), j("A.pb.gz")], what="A otlp->pprof")
        check_pprof_out(j("A.pb.gz"), "A")

    # Path B: OTLP/JSON with explicit formats.
    def path_b():
        convert(profgate, ["--to", "otlp_json", src, j("B.json")], what="B pprof->otlp_json")
        try:
            with open(j("B.json"), "rb") as f:
                json.loads(f.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise StepFailed("B: otlp_json output is not valid UTF-8 JSON: %s" % e)
        convert(profgate, ["--from", "otlp_json", "--to", "pprof", j("B.json"), j("B.pb.gz")], what="B otlp_json->pprof")
        check_pprof_out(j("B.pb.gz"), "B")

    # Path C: stdin/stdout, uncompressed pprof in, otlp sniffed on stdin.
    def path_c():
        with open(src, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        otlp = convert(profgate, ["--from", "pprof", "--to", "otlp_proto", "-", "-"], stdin=data, what="C pprof->otlp (stdin)")
        back = convert(profgate, ["--to", "pprof", "-", "-"], stdin=otlp, what="C otlp->pprof (stdin)")
        with open(j("C.pb.gz"), "wb") as f:
            f.write(back)
        check_pprof_out(j("C.pb.gz"), "C")

    # A failing path is reported; the outputs of the other paths are still compared.
    diffs, done = [], []
    for label, fn in (("A", path_a), ("B", path_b), ("C", path_c)):
        try:
            fn()
            done.append(label)
        except StepFailed as e:
            diffs.append(str(e))
    expected = pprofcmp.load(src)
    if expected.errors:
        notes.append("input has structural problems: %s" % "; ".join(expected.errors))
    for p in done:
        actual = pprofcmp.load(j(p + ".pb.gz"))
        if invalid:  # only the output's own validity is required
            diffs += ["[%s] output is invalid: %s" % (p, x) for x in actual.errors]
            notes += ["[%s structural, not required: input is malformed] %s" % (p, x)
                      for x in pprofcmp.compare(expected, actual) if " is invalid: " not in x]
            continue
        diffs += ["[%s structural] %s" % (p, x) for x in pprofcmp.compare(expected, actual)]
    if go_err:
        notes.append("go oracle skipped: go tool pprof rejects the input (%s)" % go_err)
    else:
        inf = pprofcmp.info(src)
        for p in (x for x in done if x in "AB"):
            diffs += ["[%s go-oracle] %s" % (p, x) for x in
                      gooracle.compare(src, j(p + ".pb.gz"), inf["sample_types"])]
    return not diffs, diffs + notes


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    profgate, work, files = argv[1], argv[2], argv[3:]
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    for src in files:
        try:
            ok, msgs = roundtrip(profgate, work, src)
        except StepFailed as e:
            ok, msgs = False, [str(e)]
        except (pprofcmp.DecodeError, gooracle.GoRejects, ValueError) as e:
            ok, msgs = False, ["%s: %s" % (type(e).__name__, e)]
        passed += ok
        failed += not ok
        print("%s %s" % ("PASS" if ok else "FAIL", os.path.basename(src)))
        for m in msgs:
            print("    " + m.replace("\n", "\n    "))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
