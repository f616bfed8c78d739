# ctest: TIMEOUT 300 RUN_SERIAL TRUE
"""Runtime: the otlp (gRPC) exporter against real peers on loopback.
- profgate A (file receiver) -> otlp -> profgate B (otlp receiver, gRPC) -> file exporter:
  every Go profile (the OTLP corpus and the Go pprofs converted) arrives identical to its
  source, counted on both sides;
- a Python grpcio server (generic handler) as the backend, scripted per call: what it
  receives decodes with `protoc --decode` against proto/ and carries the version and
  static metadata; UNAVAILABLE three times then OK (nothing lost); RESOURCE_EXHAUSTED with
  a RetryInfo (its delay honoured) and without (dropped); INVALID_ARGUMENT (dropped once,
  not retried, counted, logged with the server's message); partial_success (counted,
  logged); a version refusal (logged naming the version the server wants);
- the backend killed mid-stream and brought back: every accepted profile delivered;
- TLS with a CA made here by openssl; a wrong CA fails with a clear log line;
- balancer_name over a target of two backends: round_robin reaches both, pick_first one."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

import grpc

import harness as H
from grpc_sink import Backend


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | 0x80 if v else b)
        if not v:
            return bytes(out)


def ld(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def retry_info_status(code, message, seconds):
    """A serialized google.rpc.Status carrying a google.rpc.RetryInfo of `seconds`."""
    duration = varint(1 << 3) + varint(seconds)
    any_msg = ld(1, b"type.googleapis.com/google.rpc.RetryInfo") + ld(2, ld(1, duration))
    return varint(1 << 3) + varint(code) + ld(2, message.encode()) + ld(3, any_msg)


EXPORTER = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 50ms
exporters:
  otlp:
    endpoint: 127.0.0.1:{port}
    headers:
      x-static: fixed
{tls}
    sending_queue:
      num_consumers: 1
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 100ms
      max_elapsed_time: 0s
""" + H.service_yaml("{metrics}", ["file"], ["otlp"])

INSECURE = "    tls:\n      insecure: true"

RECEIVER = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{port}
exporters:
  file:
    directory: {dir}/out
    format: otlp_proto
""" + H.service_yaml("{metrics}", ["otlp"], ["file"])


def proto_modules():
    tmp = tempfile.mkdtemp(prefix="pg-otlp-pb-")
    H.otlp_proto_modules(tmp)
    from opentelemetry.proto.profiles.v1development import profiles_pb2
    from opentelemetry.proto.collector.profiles.v1development import profiles_service_pb2
    return profiles_pb2, profiles_service_pb2


def inputs(binary, tmp):
    """Go profiles as OTLP: the corpus, and the Go pprofs converted by profgate convert."""
    out = sorted(glob.glob(os.path.join(H.DATA, "otlp", "go_*.otlp")))
    for p in sorted(glob.glob(os.path.join(H.DATA, "pprof", "go_*.pb*"))):
        dst = os.path.join(tmp, os.path.basename(p) + ".otlp")
        subprocess.run([binary, "convert", "--to", "otlp_proto", p, dst], check=True, capture_output=True)
        out.append(dst)
    return out


def parse(pb, raw):
    d = pb.ProfilesData()
    d.ParseFromString(raw)
    return d


def drop(pg, name, src):
    tmp = os.path.join(pg.dir, name + ".part")
    shutil.copy(src, tmp)
    os.rename(tmp, os.path.join(pg.dir, "in", name))


def test_profgate_to_profgate(c, binary, pb, files):
    b, bm = H.start_with_metrics(binary, RECEIVER, port=H.free_port())
    bport = int(open(b.config).read().split("endpoint: 127.0.0.1:")[1].split()[0])
    H.wait_until(lambda: "gRPC listening" in b.logs(), what="B listening")
    a, am = H.start_with_metrics(binary, EXPORTER, port=bport, tls=INSECURE)
    try:
        for i, f in enumerate(files):
            drop(a, "f%d.otlp" % i, f)
            H.wait_until(lambda: len(glob.glob(b.dir + "/out/*")) >= i + 1, what="file %d through B" % i)
        outs = sorted(glob.glob(b.dir + "/out/*"), key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]))
        for f, o in zip(files, outs):
            want, got = parse(pb, open(f, "rb").read()), parse(pb, open(o, "rb").read())
            c.check(len(want.resource_profiles) > 0 and want == got,
                    "%s arrives identical through A -> otlp -> B" % os.path.basename(f))
        # B's file exporter may write the last file before A has B's answer (A counts it
        # sent then) or before B's receiver has counted it: wait for both counts to cover
        # every profile in the files rather than scrape at once
        want = sum(len([p for rp in parse(pb, open(f, "rb").read()).resource_profiles for sp in rp.scope_profiles
                        for p in sp.profiles]) for f in files)

        def counts():
            sent = H.metric(H.scrape(am), "profgate_exporter_sent_profiles_total", exporter="otlp")
            acc = H.metric(H.scrape(bm), "profgate_receiver_accepted_profiles_total", receiver="otlp")
            return sent, acc
        try:
            H.wait_until(lambda: all(x is not None and x >= want for x in counts()), timeout=30,
                         what="A's sent and B's accepted counts")
        except AssertionError:
            pass
        sent, acc = counts()
        c.check(sent and sent == acc, "A sent %s profiles, B accepted %s" % (sent, acc))
    except AssertionError:
        print(a.logs()[-3000:], b.logs()[-3000:])
        raise
    finally:
        c.check(a.stop() == 0, "A: clean exit")
        c.check(b.stop() == 0, "B: clean exit")
        if c.failed:
            print(a.logs()[-3000:], b.logs()[-3000:])


def protoc_decode(raw):
    root = os.path.join(H.SRC, "proto")
    r = subprocess.run(["protoc", "-I", root, "--decode",
                        "opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest",
                        "opentelemetry/proto/collector/profiles/v1development/profiles_service.proto"],
                       input=raw, capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def test_rules(c, binary, pb, svc, files):
    be = Backend()
    pg, mport = H.start_with_metrics(binary, EXPORTER, port=be.port, tls=INSECURE)
    n = 0

    def step(name, plan, src, calls, what):
        nonlocal n
        be.plan = plan
        drop(pg, name, src)
        H.wait_until(lambda: len(be.requests()) >= n + calls, what=what)
        time.sleep(0.4)
        got = be.requests()[n:]
        c.check(len(got) == calls, "%s: %d calls (%d)" % (what, calls, len(got)))
        n += len(got)
        return got

    try:
        got = step("ok.otlp", [], files[0], 1, "plain delivery")
        md, raw = got[0][1], got[0][2]
        rc, text = protoc_decode(raw)
        c.check(rc == 0 and "resource_profiles" in text and "string_table" in text,
                "protoc --decode reads the request")
        c.check(parse(pb, raw) == parse(pb, open(files[0], "rb").read()), "request equals its source")
        c.check(md.get("otlp-profiles-development-version") == "1", "version metadata sent (%s)" % md)
        c.check(md.get("x-static") == "fixed", "static metadata sent")
        U = grpc.StatusCode.UNAVAILABLE
        got = step("unavail.otlp", [(U, "down", None, None)] * 3, files[1], 4, "UNAVAILABLE x3 then OK")
        c.check(parse(pb, got[-1][2]) == parse(pb, open(files[1], "rb").read()), "nothing lost after UNAVAILABLE")
        R = grpc.StatusCode.RESOURCE_EXHAUSTED
        ri = [("grpc-status-details-bin", retry_info_status(8, "later", 1))]
        got = step("ri.otlp", [(R, "later", ri, None)], files[0], 2, "RESOURCE_EXHAUSTED with RetryInfo")
        if len(got) == 2:
            c.check(got[1][0] - got[0][0] >= 0.9, "RetryInfo delay honoured (%.3fs)" % (got[1][0] - got[0][0]))
        step("re.otlp", [(R, "quota gone", None, None)], files[0], 1, "RESOURCE_EXHAUSTED without RetryInfo")
        I = grpc.StatusCode.INVALID_ARGUMENT
        step("inv.otlp", [(I, "bad sample at 3", None, None)], files[0], 1, "INVALID_ARGUMENT")
        step("inv2.otlp", [(I, "bad sample at 3", None, None)], files[0], 1, "INVALID_ARGUMENT again")
        resp = svc.ExportProfilesServiceResponse()
        resp.partial_success.rejected_profiles = 1
        resp.partial_success.error_message = "one profile without samples"
        step("part.otlp", [(grpc.StatusCode.OK, "", None, resp.SerializeToString())], files[0], 1, "partial")
        step("ver.otlp", [(I, "otlp-profiles-development-version 1 is not supported; accepted: 2", None, None)],
             files[0], 1, "version refusal")

        # the backend records a call before answering it: profgate counts and logs the answer
        # only once it arrives, so wait for the last one's rather than scrape at once
        def settled():
            s = H.scrape(mport)
            return s if H.metric(s, "profgate_exporter_otlp_rejected_batches_total", exporter="otlp",
                                 reason="version") == 1 and "server refused format version 1" in pg.logs() else None
        s = H.wait_until(settled, timeout=30, what="the version refusal counted and logged")
        m = lambda name, **kw: H.metric(s, name, exporter="otlp", **kw)
        c.check(m("profgate_exporter_otlp_retryable_answers_total", reason="UNAVAILABLE") == 3, "3 UNAVAILABLE counted")
        c.check(m("profgate_exporter_otlp_retryable_answers_total", reason="RESOURCE_EXHAUSTED") == 1,
                "RESOURCE_EXHAUSTED with RetryInfo counted retryable")
        c.check(m("profgate_exporter_otlp_rejected_batches_total", reason="RESOURCE_EXHAUSTED") == 1,
                "RESOURCE_EXHAUSTED without RetryInfo dropped")
        c.check(m("profgate_exporter_otlp_rejected_batches_total", reason="INVALID_ARGUMENT") == 2,
                "INVALID_ARGUMENT dropped twice")
        c.check(m("profgate_exporter_otlp_rejected_batches_total", reason="version") == 1, "version refusal counted")
        c.check(m("profgate_exporter_partial_rejected_profiles_total") == 1, "partial success counted")
        c.check(m("profgate_exporter_retries_total") == 4, "4 retries (%s)" % m("profgate_exporter_retries_total"))
        logs = pg.logs()
        c.check(sum(1 for l in logs.splitlines() if "server refuses with INVALID_ARGUMENT" in l) == 1
                and "bad sample at 3" in logs, "INVALID_ARGUMENT logged once with the server's message")
        c.check("rejected 1 profiles: one profile without samples" in logs, "partial success logged")
        c.check("server refused format version 1" in logs and "accepted: 2" in logs, "version refusal logged")
    except AssertionError:
        print(pg.logs()[-4000:])
        raise
    finally:
        c.check(pg.stop() == 0, "rules instance: clean exit")
        if c.failed:
            print(pg.logs()[-4000:])
        be.close()


def test_backend_restart(c, binary, pb, files):
    be = Backend()
    port = be.port
    pg, mport = H.start_with_metrics(binary, EXPORTER, port=port, tls=INSECURE)
    try:
        total = 12
        for i in range(total):
            drop(pg, "k%d.otlp" % i, files[i % len(files)])
            if i == 3:
                H.wait_until(lambda: len(be.requests()) >= 2, what="first calls")
                be.close()
                # read after the server stopped: a call answered between reading and
                # stopping would be acknowledged to profgate yet missing from the list
                first = be.requests()
                time.sleep(0.5)
        H.wait_until(lambda: "retrying" in pg.logs(), what="sends failing while the backend is down")
        be2 = Backend(port)
        want = sum(len([p for rp in parse(pb, open(files[i % len(files)], "rb").read()).resource_profiles
                        for sp in rp.scope_profiles for p in sp.profiles]) for i in range(total))

        def delivered():
            got = first + be2.requests()
            return sum(len([p for rp in parse(pb, r[2]).resource_profiles for sp in rp.scope_profiles
                            for p in sp.profiles]) for r in got) >= want
        H.wait_until(delivered, timeout=60, what="every profile delivered after the restart")

        # the backend records a call before answering it, and profgate counts a profile sent
        # only once the answer arrives (a call cut off by the first backend's stop may also
        # be recorded there and sent again): wait for the count rather than scrape at once
        def counted():
            s = H.scrape(mport)
            sent = H.metric(s, "profgate_exporter_sent_profiles_total", exporter="otlp")
            acc = H.metric(s, "profgate_receiver_accepted_profiles_total", receiver="file")
            return s if sent is not None and acc is not None and sent >= acc >= want else None
        try:
            s = H.wait_until(counted, timeout=30, what="every accepted profile counted as sent")
        except AssertionError:
            s = H.scrape(mport)
        sent = H.metric(s, "profgate_exporter_sent_profiles_total", exporter="otlp")
        acc = H.metric(s, "profgate_receiver_accepted_profiles_total", receiver="file")
        # every profile the receiver accepted was delivered (the file receiver may read a
        # file twice: at least once)
        c.check(sent == acc and acc >= want, "exporter counted %s sent, receiver %s accepted, %s in the files"
                % (sent, acc, want))
        failed = H.metric(s, "profgate_exporter_send_failed_profiles_total", exporter="otlp")
        c.check(failed in (None, 0.0), "nothing failed (%s)" % failed)
        be2.close()
    except AssertionError:
        print(pg.logs()[-3000:])
        raise
    finally:
        c.check(pg.stop() == 0, "restart instance: clean exit")
        if c.failed:
            print(pg.logs()[-3000:])


BALANCED = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 50ms
exporters:
  otlp:
    endpoint: "ipv4:127.0.0.1:{p1},127.0.0.1:{p2}"
    balancer_name: {lb}
    tls:
      insecure: true
    sending_queue:
      num_consumers: 1
""" + H.service_yaml("{metrics}", ["file"], ["otlp"])


def test_balancer(c, binary, files):
    """Two backends behind one target: round_robin uses both, pick_first one."""
    for lb, both in (("round_robin", True), ("pick_first", False)):
        b1, b2 = Backend(), Backend()
        pg, _ = H.start_with_metrics(binary, BALANCED, p1=b1.port, p2=b2.port, lb=lb)
        try:
            for i in range(8):
                drop(pg, "lb%d.otlp" % i, files[0])
                H.wait_until(lambda: len(b1.requests()) + len(b2.requests()) >= i + 1, what="%s call %d" % (lb, i))
            n1, n2 = len(b1.requests()), len(b2.requests())
            c.check((n1 > 0 and n2 > 0) == both and n1 + n2 == 8,
                    "%s: calls spread %d / %d" % (lb, n1, n2))
        finally:
            c.check(pg.stop() == 0, "%s instance stops" % lb)
            b1.close()
            b2.close()


def make_certs(d):
    cmd = ("cd %s && exec >log 2>&1 && "
           "for c in ca other; do openssl req -x509 -newkey rsa:2048 -nodes -keyout $c.key -out $c.crt "
           "-days 2 -subj /CN=test$c || exit 1; done && "
           "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=server && "
           "printf 'subjectAltName=IP:127.0.0.1,DNS:profgate.test\\n' > server.ext && "
           "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt "
           "-days 2 -extfile server.ext") % d
    subprocess.run(cmd, shell=True, check=True)


def test_tls(c, binary, files):
    d = tempfile.mkdtemp(prefix="pg-otlp-tls-")
    make_certs(d)
    rd = lambda n: open(os.path.join(d, n), "rb").read()
    be = Backend(creds=grpc.ssl_server_credentials([(rd("server.key"), rd("server.crt"))]))
    for ca, name, ok in (("ca.crt", "", True), ("ca.crt", "profgate.test", True), ("other.crt", "", False)):
        tls = "    tls:\n      ca_file: %s/%s" % (d, ca)
        if name:
            tls += "\n      server_name_override: %s" % name
        n = len(be.requests())
        pg, _ = H.start_with_metrics(binary, EXPORTER, port=be.port, tls=tls)
        try:
            drop(pg, "t.otlp", files[0])
            if ok:
                H.wait_until(lambda: len(be.requests()) > n, what="TLS delivery (%s %s)" % (ca, name))
                c.check(True, "TLS with the right CA delivers (%s)" % (name or "ip"))
            else:
                H.wait_until(lambda: "retrying" in pg.logs(), what="TLS failure logged")
                line = [l for l in pg.logs().splitlines() if "retrying" in l][0]
                c.check(len(be.requests()) == n, "wrong CA: nothing delivered")
                c.check("CERTIFICATE_VERIFY_FAILED" in line or "certificate" in line.lower()
                        or "handshake" in line.lower(), "wrong CA: clear log line (%s)" % line)
        finally:
            c.check(pg.stop() == 0, "TLS instance stops")
    be.close()
    shutil.rmtree(d, ignore_errors=True)


def main():
    binary = sys.argv[1]
    c = H.Checks()
    pb, svc = proto_modules()
    tmp = tempfile.mkdtemp(prefix="pg-otlp-in-")
    files = inputs(binary, tmp)
    only = os.environ.get("PG_TEST_ONLY")
    if only:
        globals()["test_" + only](c, binary, *{"backend_restart": (pb, files), "tls": (files,),
                                               "balancer": (files,), "rules": (pb, svc, files),
                                               "profgate_to_profgate": (pb, files)}[only])
        c.finish()
    test_profgate_to_profgate(c, binary, pb, files)
    test_rules(c, binary, pb, svc, files)
    test_backend_restart(c, binary, pb, files)
    test_tls(c, binary, files)
    test_balancer(c, binary, files)
    shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
