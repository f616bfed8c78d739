#!/usr/bin/python3
"""fake_profgate.py — a stand-in for `profgate convert` used only to test the harness.

"OTLP" is the plain pprof bytes (JSON: {"hex": ...}); on the way back to pprof it writes the
file named by $FAKE_BACK instead, so the harness can be shown a known-equal or known-different
result. Usage mirrors profgate: fake_profgate.py convert [--from F] [--to T] IN OUT
"""
import gzip
import json
import os
import sys

args = sys.argv[2:]
opts = {}
while args and args[0].startswith("--"):
    opts[args[0]] = args[1]
    args = args[2:]
src, dst = args
data = sys.stdin.buffer.read() if src == "-" else open(src, "rb").read()
if data[:2] == b"\x1f\x8b":
    data = gzip.decompress(data)
frm = opts.get("--from") or ("otlp_json" if data[:1] == b"{" else "otlp_proto" if src.endswith(".otlp") or src == "-" else "pprof")
to = opts.get("--to") or ("otlp_proto" if frm == "pprof" else "pprof")
if to == "pprof":
    back = open(os.environ["FAKE_BACK"], "rb").read()
    out = back if back[:2] == b"\x1f\x8b" else gzip.compress(back)
elif to == "otlp_json":
    out = json.dumps({"hex": data.hex()}).encode()
else:
    out = data
if dst == "-":
    sys.stdout.buffer.write(out)
else:
    with open(dst, "wb") as f:
        f.write(out)
