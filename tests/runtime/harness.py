"""Runtime-test helpers: start the real profgate binary on a YAML config with free
loopback ports, wait for it to be healthy, scrape its endpoints, stop it. Stdlib only."""
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(SRC, "tests", "fuzz", "corpus")


# Ports handed to services come from below Linux's ephemeral range (32768-60999 by
# default): a port the kernel picks for bind(0) is free now, but until the service binds it
# any outgoing connection of a test running alongside may take it as its source port
# ("Address already in use"). A port below the range is taken only by another listener.
_PORT_LO, _PORT_HI = 20000, 32000
_handed_out = set()


def free_port():
    """A loopback TCP port that is free now, outside the ephemeral range, not handed out
    before by this process."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        port = rng.randrange(_PORT_LO, _PORT_HI)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # range exhausted: any
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    """Returns (status, body) for a GET; never raises for HTTP error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        return None, ""


def wait_until(pred, timeout=20.0, step=0.05, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


_started = []  # every Profgate started by this test process, for _uncaught


def _uncaught(kind, value, tb, _prev=sys.excepthook):
    """A test ended by an exception (a wait that timed out, mostly) skips its own log
    printing and stop: print each instance's log tail, and stop those still running
    rather than leave them behind for the tests after this one."""
    _prev(kind, value, tb)
    for pg in _started:
        try:
            print("---- %s (%s)\n%s" % (pg.log, "running: killed" if pg.alive() else "exited", pg.logs()[-3000:]),
                  flush=True)
        except OSError:
            pass
        if pg.alive():
            pg.proc.kill()
            pg.proc.wait()


sys.excepthook = _uncaught


class Profgate:
    """One profgate process on a config written to a temp dir (cwd = that dir)."""

    def __init__(self, binary, config_text, workdir=None, extra_args=()):
        self.binary = binary
        self.dir = workdir or tempfile.mkdtemp(prefix="pg-rt-")
        self.config = os.path.join(self.dir, "config.yaml")
        self.write_config(config_text)
        self.log = os.path.join(self.dir, "profgate.log")
        self.extra = list(extra_args)
        self.proc = None

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.binary, "--config", self.config] + self.extra,
                                     cwd=self.dir, stdout=self.logf, stderr=subprocess.STDOUT)
        if self not in _started:
            _started.append(self)
        return self

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("profgate did not stop within %ss" % timeout)
        if hasattr(self, "logf"):
            self.logf.close()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()

    def logs(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def scrape(port):
    """Parsed samples of the metrics endpoint on port ({} while it does not answer 200)."""
    status, body = http_get("http://127.0.0.1:%d/metrics" % port)
    return parse_prometheus(body)[0] if status == 200 else {}


def start_with_metrics(binary, template, **kw):
    """Starts profgate on `template` formatted with dir=<its folder>, metrics=<a free port>
    and kw, with an empty <dir>/in for a file receiver; returns (Profgate, metrics port)
    once the metrics endpoint answers."""
    mport = free_port()
    pg = Profgate(binary, "")
    pg.write_config(template.format(dir=pg.dir, metrics=mport, **kw))
    os.makedirs(os.path.join(pg.dir, "in"))
    pg.start()
    wait_until(lambda: scrape(mport), what="metrics endpoint")
    return pg, mport


def parse_prometheus(text):
    """Returns {(name, labels-text): value} for every sample line; checks HELP/TYPE."""
    out, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in types, "TYPE repeated for " + name
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        if "{" in head:
            name, labels = head.split("{", 1)
            labels = labels.rstrip("}")
        else:
            name, labels = head, ""
        out[(name, labels)] = float(value)
    return out, types


def metric(samples, name, **labels):
    """Sum of the series of `name` whose labels include every given label."""
    total, found = 0.0, False
    for (n, lab), v in samples.items():
        if n != name:
            continue
        if all('%s="%s"' % (k, val) in lab for k, val in labels.items()):
            total += v
            found = True
    return total if found else None


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, cond, msg):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: " + msg, flush=True)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, payload):
    """A length-delimited protobuf field."""
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _vfield(num, v):
    """A varint protobuf field."""
    return _varint(num << 3) + _varint(v)


def tiny_pprof(function_name, value, n=1, types=1, locations=None):
    """An uncompressed pprof with `n` samples of `value` (one value per sample type, `types`
    of them), sample i in function `function_name` (`function_name_<k>` when there are
    several) at location k = i mod `locations` (default: one location per sample). A
    distinct name per input lets a test find each input in the output; a large n makes a
    batch of a few MB."""
    nloc = locations or n
    names = [function_name] if nloc == 1 else ["%s_%d" % (function_name, k) for k in range(nloc)]
    strings = [b"", b"samples", b"count"] + [x.encode() for x in names]
    parts = [_field(1, _vfield(1, 1) + _vfield(2, 2)) for _ in range(types)]  # sample_type
    values = _field(2, b"".join(_varint(value) for _ in range(types)))
    for i in range(n):
        parts.append(_field(2, _field(1, _varint(i % nloc + 1)) + values))      # sample
    for k in range(nloc):
        parts.append(_field(4, _vfield(1, k + 1) + _field(4, _vfield(1, k + 1))))  # location
        parts.append(_field(5, _vfield(1, k + 1) + _vfield(2, 3 + k)))              # function
    parts += [_field(6, x) for x in strings]
    return b"".join(parts)


def service_yaml(metrics, receivers, exporters, processors=(), extensions=(), log_level=None):
    """The `service:` section of a test config: telemetry on 127.0.0.1:metrics (None: no
    metrics endpoint) and one profiles pipeline."""
    out = ["service:"]
    if extensions:
        out.append("  extensions: [%s]" % ", ".join(extensions))
    out.append("  telemetry:")
    if log_level:
        out += ["    logs:", "      level: %s" % log_level]
    out += ["    metrics:"] + (["      address: 127.0.0.1:%s" % metrics] if metrics else ["      level: none"])
    out += ["  pipelines:", "    profiles:", "      receivers: [%s]" % ", ".join(receivers)]
    if processors:
        out.append("      processors: [%s]" % ", ".join(processors))
    out.append("      exporters: [%s]" % ", ".join(exporters))
    return "\n".join(out) + "\n"


# An exporter's retry settings for tests: fast, and retrying forever (only a stop ends it).
FAST_RETRY = """    retry_on_failure:
      initial_interval: 50ms
      max_interval: 100ms
      max_elapsed_time: 0s
"""


def finish(c, pg, what="exit 0"):
    """Stops pg (checking exit 0), prints its log tail when a check failed, and exits with
    the checks' verdict."""
    c.check(pg.stop() == 0, what)
    if c.failed:
        print(pg.logs()[-3000:])
    c.finish()


def otlp_proto_modules(tmp):
    """Generates Python modules for the pinned OpenTelemetry protos (proto/) into tmp with
    protoc and puts tmp on sys.path; import them as opentelemetry.proto.... afterwards."""
    root = os.path.join(SRC, "proto")
    os.makedirs(tmp, exist_ok=True)
    files = [os.path.relpath(os.path.join(d, f), root)
             for d, _, fs in os.walk(os.path.join(root, "opentelemetry")) for f in fs if f.endswith(".proto")]
    subprocess.run(["protoc", "-I", root, "--python_out", tmp] + sorted(files), check=True)
    if tmp not in sys.path:
        sys.path.insert(0, tmp)


def profgen(binary):
    """Builds tests/go/profgen (offline, Go caches under the build tree next to binary) and
    returns its path, or None when Go is missing."""
    build = os.path.dirname(os.path.abspath(binary))
    out = os.path.join(build, "profgen-bin", "profgen")
    lib = os.path.join(SRC, "tests", "roundtrip", "lib.sh")
    r = subprocess.run(["bash", "-c", 'source "$0"; pg_build_profgen "$1" "$2"', lib,
                        os.path.join(build, "profgen-cache"), out])
    return out if r.returncode == 0 else None


def build_go(profgate, name):
    """Builds tests/go/<name> offline (standard library only) into the build tree next to
    profgate, Go caches there too; returns the binary's path."""
    cache = os.path.join(os.path.dirname(os.path.abspath(profgate)), "go-" + name)
    out = os.path.join(cache, name)
    env = dict(os.environ, GOCACHE=cache + "/gocache", GOPATH=cache + "/gopath", GOFLAGS="-mod=mod",
               GOPROXY="off", GOSUMDB="off", GOENV="off", CGO_ENABLED="0", GOTOOLCHAIN="local")
    subprocess.run(["go", "build", "-o", out, "."], cwd=os.path.join(SRC, "tests", "go", name),
                   env=env, check=True, timeout=300)
    return out
