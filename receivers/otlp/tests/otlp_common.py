"""Helpers shared by the otlp receiver's runtime tests (gRPC and HTTP): real Go profiles as
OTLP requests, a process's RSS, and a CA with server and client certificates made by openssl."""
import glob
import os
import subprocess

import harness as H


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def inputs(binary, tmp):
    """Real Go profiles as OTLP requests: the OTLP corpus, and the Go pprofs converted."""
    out = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(H.DATA, "otlp", "go_*.otlp")))]
    for p in sorted(glob.glob(os.path.join(H.DATA, "pprof", "go_*.pb*"))):
        dst = os.path.join(tmp, os.path.basename(p) + ".otlp")
        subprocess.run([binary, "convert", "--to", "otlp_proto", p, dst], check=True, capture_output=True)
        out.append(open(dst, "rb").read())
    return out


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """A CA, a server cert for 127.0.0.1/localhost and a client cert, made by openssl in d."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=profgate test CA", cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + ".key", "-out", who + ".csr",
                "-subj", "/CN=" + who, cwd=d)
        openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", who + ".pem", "-days", "2", "-extfile", "san.ext", cwd=d)
