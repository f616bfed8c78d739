"""gRPC receiver benchmark (make bench, not a test): a Python grpcio load client sends
ExportProfilesServiceRequests of ~50 KB and ~1 MB to profgate `otlp` -> `nop`, with 8 calls
in flight, and prints requests/s, MB/s, client-side latency p50/p99, profgate CPU seconds per
request and profgate's peak RSS. The requests are Go-shaped CPU profiles built here with
modules generated from proto/ (Go runtime/std function names, ~20-frame stacks over a shared
function/location table, one value per sample), sized by their number of distinct stacks.
Usage: otlp_grpc.py PROFGATE [SECONDS_PER_SIZE]"""
import os
import random
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(SRC, "tests", "runtime"))
import harness as H  # noqa: E402
from pipeline import status_kb  # noqa: E402

METHOD = "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
CONFIG = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{port}
        max_recv_msg_size_mib: 8
exporters:
  nop:
service:
  telemetry:
    logs:
      level: warn
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    profiles:
      receivers: [otlp]
      exporters: [nop]
"""
PKGS = ["runtime", "net/http", "encoding/json", "bufio", "compress/flate", "crypto/tls", "sync",
        "main", "github.com/acme/svc/internal/store", "google.golang.org/grpc", "database/sql"]
VERBS = ["Read", "Write", "ServeHTTP", "decode", "encode", "mallocgc", "scanobject", "Lock",
         "handle", "Query", "marshal", "flush", "loop", "park", "select", "compute"]


def modules(tmp):
    H.otlp_proto_modules(tmp)
    from opentelemetry.proto.collector.profiles.v1development import profiles_service_pb2 as svc
    return svc


def build_request(svc, n_stacks, seed=1):
    """A Go-shaped CPU profile with n_stacks distinct stacks (serialized request)."""
    rnd = random.Random(seed)
    req = svc.ExportProfilesServiceRequest()
    d = req.dictionary
    strings = [""]
    index = {}

    def s(x):
        if x not in index:
            index[x] = len(strings)
            strings.append(x)
        return index[x]
    d.mapping_table.add()
    d.location_table.add()
    d.function_table.add()
    d.stack_table.add()
    d.link_table.add()
    d.attribute_table.add()
    m = d.mapping_table.add(memory_start=0x400000, memory_limit=0x1400000, filename_strindex=s("/usr/local/bin/svc"))
    del m
    n_funcs = 400 + n_stacks // 4
    for i in range(n_funcs):
        pkg = PKGS[i % len(PKGS)]
        name = "%s.%s%d" % (pkg, VERBS[i % len(VERBS)], i)
        d.function_table.add(name_strindex=s(name), system_name_strindex=s(name),
                             filename_strindex=s("/src/%s/file%d.go" % (pkg, i % 37)), start_line=10 + i % 900)
        loc = d.location_table.add(mapping_index=1, address=0x401000 + 16 * i)
        loc.lines.add(function_index=i + 1, line=20 + (i * 7) % 800)
    for _ in range(n_stacks):
        depth = rnd.randint(8, 32)
        d.stack_table.add(location_indices=[rnd.randint(1, n_funcs) for _ in range(depth)])
    d.string_table.extend(strings)
    rp = req.resource_profiles.add()
    rp.resource.attributes.add(key="service.name").value.string_value = "svc"
    sp = rp.scope_profiles.add()
    p = sp.profiles.add()
    p.sample_type.type_strindex = s("cpu")
    p.sample_type.unit_strindex = s("nanoseconds")
    p.period_type.type_strindex = s("cpu")
    p.period_type.unit_strindex = s("nanoseconds")
    p.period = 10000000
    p.time_unix_nano = 1700000000000000000
    p.duration_nano = 10000000000
    p.profile_id = bytes(rnd.getrandbits(8) for _ in range(16))
    for st in range(1, n_stacks + 1):
        p.samples.add(stack_index=st, values=[10000000 * rnd.randint(1, 50)])
    del d.string_table[:]
    d.string_table.extend(strings)
    return req.SerializeToString()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def load(target, data, seconds, inflight=8):
    """Sends data with `inflight` calls outstanding for `seconds`; returns (latencies, errors,
    {status name: count} of the errors)."""
    ch = grpc.insecure_channel(target)
    call = ch.unary_unary(METHOD)
    lat, errs, codes, lock = [], [0], {}, threading.Lock()
    end = time.time() + seconds

    def worker():
        while time.time() < end:
            t0 = time.perf_counter()
            try:
                call(data, timeout=30)
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
            except grpc.RpcError as e:
                name = e.code().name if e.code() else "UNKNOWN"
                with lock:
                    errs[0] += 1
                    codes[name] = codes.get(name, 0) + 1
    ts = [threading.Thread(target=worker) for _ in range(inflight)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ch.close()
    return lat, errs[0], codes


def main():
    binary = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    tmp = tempfile.mkdtemp(prefix="pg-bench-grpc-")
    svc = modules(tmp)
    sizes = [("50 KB", 260), ("1 MB", 13600)]
    reqs = [(label, build_request(svc, n)) for label, n in sizes]
    port = H.free_port()
    pg, _ = H.start_with_metrics(binary, CONFIG, port=port)
    H.wait_until(lambda: "error" not in pg.logs() and pg.alive(), what="profgate up")
    time.sleep(0.5)
    target = "127.0.0.1:%d" % port
    try:
        print("otlp gRPC receiver -> nop, Python grpcio client, 8 calls in flight, %.0f s per size" % seconds)
        print("idle RSS %.1f MB" % (status_kb(pg.proc.pid, "VmRSS") / 1024))
        for label, data in reqs:
            load(target, data, 1)  # warm-up
            c0 = cpu_seconds(pg.proc.pid)
            t0 = time.time()
            lat, errs, codes = load(target, data, seconds)
            wall = time.time() - t0
            cpu = cpu_seconds(pg.proc.pid) - c0
            lat.sort()
            n = len(lat)
            if n == 0:
                print("%s: no successful request (%d errors)" % (label, errs))
                continue
            print("%-6s (%d bytes): %d req in %.1f s: %.0f req/s, %.1f MB/s, p50 %.2f ms, p99 %.2f ms, "
                  "profgate CPU %.3f ms/req, errors %d %s" %
                  (label, len(data), n, wall, n / wall, n * len(data) / wall / 1e6, lat[n // 2] * 1e3,
                   lat[min(n - 1, int(n * 0.99))] * 1e3, cpu / n * 1e3, errs, codes or ""))
        print("peak RSS %.1f MB" % (status_kb(pg.proc.pid, "VmHWM") / 1024))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
