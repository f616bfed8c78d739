"""Runtime: packaging. `make install` (DESTDIR, PREFIX) writes the binary, network module, man page, configs
and a systemd unit with the install paths filled in; the installed binary validates every
shipped config; `systemd-analyze verify` accepts the unit (where it runs); readiness,
reload and stop reach a service manager through $NOTIFY_SOCKET; the container's runtime
package list names installed packages; `make uninstall` keeps the user's config."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import harness as H

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def check_help(c, binary):
    r = run([binary, "--help"])
    c.check(r.returncode == 0, "--help exits 0")
    for word in ("validate", "convert", "components", "SIGHUP"):
        c.check(word in r.stdout, "--help names %s" % word)


def check_install(c, binary, dest):
    build = os.path.dirname(binary)
    r = run(["make", "-s", "-C", ROOT, "install", "BUILD=" + build, "DESTDIR=" + dest, "PREFIX=/usr"])
    c.check(r.returncode == 0, "make install exits 0: " + r.stderr[-400:])
    inst = dest + "/usr/bin/profgate"
    for path in (inst, dest + "/usr/lib/profgate/profgate-net.so",
                 dest + "/usr/share/man/man1/profgate.1", dest + "/etc/profgate/config.yaml",
                 dest + "/usr/lib/systemd/system/profgate.service",
                 dest + "/usr/share/profgate/configs/default.yaml"):
        c.check(os.path.exists(path), "installed " + path[len(dest):])
    c.check(os.access(inst, os.X_OK), "installed binary is executable")
    r = run([inst, "--version"])
    c.check(r.returncode == 0 and "v1.11.0" in r.stdout, "installed binary runs")
    r = run([inst, "components"])
    c.check(r.returncode == 0 and "exporter otlp (network module)" in r.stdout,
            "installed binary loads its network module from ../lib/profgate: " + r.stderr[-300:])
    shipped = sorted(glob.glob(dest + "/usr/share/profgate/configs/*.yaml"))
    c.check(len(shipped) == len(glob.glob(ROOT + "/configs/*.yaml")), "every config shipped")
    for cfg in shipped + [dest + "/etc/profgate/config.yaml"]:
        r = run([inst, "validate", "--config", cfg])
        c.check(r.returncode == 0, "installed binary validates %s: %s" % (os.path.basename(cfg), r.stderr[-300:]))
    unit = open(dest + "/usr/lib/systemd/system/profgate.service").read()
    c.check("@BINDIR@" not in unit and "@SYSCONFDIR@" not in unit, "unit has no unfilled placeholder")
    c.check("ExecStart=/usr/bin/profgate --config /etc/profgate/config.yaml" in unit, "unit runs the installed paths")
    for key in ("Type=notify", "DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=profgate",
                "ExecReload=/bin/kill -HUP $MAINPID"):
        c.check(key in unit, "unit has " + key)
    r = run(["man", "-l", "-P", "cat", dest + "/usr/share/man/man1/profgate.1"], env=dict(os.environ, MANWIDTH="80"))
    if r.returncode == 0:
        c.check("SIGNALS" in r.stdout and "validate" in r.stdout, "man page renders with its sections")
    return unit


def check_unit_verifies(c, dest, unit):
    if not shutil.which("systemd-analyze"):
        print("skip: systemd-analyze not installed")
        return
    d = tempfile.mkdtemp(prefix="pg-unit-")
    local = unit.replace("/usr/bin/profgate", dest + "/usr/bin/profgate").replace("/etc/profgate/", dest + "/etc/profgate/")
    path = os.path.join(d, "profgate.service")
    open(path, "w").write(local)
    r = run(["systemd-analyze", "verify", "--man=no", path])
    # verify prints problems of unrelated system units on some hosts; only ours count.
    ours = [l for l in (r.stdout + r.stderr).splitlines() if "profgate.service" in l]
    c.check(not ours, "systemd-analyze verify has nothing to say about the unit: %s" % ours)
    shutil.rmtree(d, ignore_errors=True)


def recv_states(sock, want, timeout=20):
    got = []
    sock.settimeout(timeout)
    try:
        while want not in got:
            got.append(sock.recv(4096).decode())
    except socket.timeout:
        pass
    return got


def check_notify(c, binary):
    d = tempfile.mkdtemp(prefix="pg-notify-")
    path = os.path.join(d, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    cfg = os.path.join(d, "c.yaml")
    with open(cfg, "w") as f:
        f.write("receivers:\n  file:\n    include: [%s/in/*]\nexporters:\n  nop:\n" % d
                + H.service_yaml(None, ["file"], ["nop"]))
    pg = subprocess.Popen([binary, "--config", cfg], env=dict(os.environ, NOTIFY_SOCKET=path),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        c.check("READY=1" in recv_states(sock, "READY=1"), "READY=1 once started")
        pg.send_signal(signal.SIGHUP)
        got = recv_states(sock, "READY=1")
        c.check(got[:1] == ["RELOADING=1"] and "READY=1" in got, "SIGHUP: RELOADING=1 then READY=1 (%s)" % got)
        pg.send_signal(signal.SIGTERM)
        c.check("STOPPING=1" in recv_states(sock, "STOPPING=1"), "SIGTERM: STOPPING=1")
        c.check(pg.wait(timeout=30) == 0, "stops with exit 0")
    finally:
        if pg.poll() is None:
            pg.kill()
            pg.wait()
        sock.close()
        shutil.rmtree(d, ignore_errors=True)


def check_runtime_packages(c, binary):
    module = os.path.join(os.path.dirname(binary), "profgate-net.so")
    r = run(["bash", ROOT + "/deploy/container/runtime-packages.sh", binary, module])
    c.check(r.returncode == 0, "runtime-packages.sh exits 0: " + r.stderr[-300:])
    pkgs = r.stdout.split()
    c.check("libc6" in pkgs and "libyaml-0-2" in pkgs, "runtime packages include libc6, libyaml-0-2: %s" % pkgs)
    c.check(any(p.startswith("libgrpc") for p in pkgs) and any(p.startswith("libcurl") for p in pkgs),
            "runtime packages include the network module's libgrpc and libcurl: %s" % pkgs)
    for p in pkgs:
        q = run(["dpkg-query", "-W", "-f=${Status}", p])
        c.check("install ok installed" in q.stdout, "runtime package %s is a real, installed package" % p)
    docker = open(ROOT + "/deploy/container/Dockerfile").read()
    c.check("USER 10001" in docker and "HEALTHCHECK" in docker and docker.count("FROM debian:12") == 2,
            "Dockerfile: two Debian 12 stages, non-root, health check")


def check_kubernetes(c, binary):
    """Every ConfigMap's config.yaml in deploy/kubernetes/ is one profgate validates; the
    gateway tier's DNS resolver names its headless Service."""
    try:
        import yaml
    except ImportError:
        print("skip: python3-yaml not installed (make deps)")
        return
    tmp = tempfile.mkdtemp(prefix="pg-k8s-")
    docs = []
    for f in sorted(glob.glob(ROOT + "/deploy/kubernetes/*.yaml")):
        docs += [(os.path.basename(f), d) for d in yaml.safe_load_all(open(f)) if d]
    maps = [(f, d) for f, d in docs if d["kind"] == "ConfigMap"]
    c.check(len(maps) >= 4, "manifests embed the sidecar, node, lb and gateway configs (%d)" % len(maps))
    for f, d in maps:
        path = os.path.join(tmp, d["metadata"]["name"] + ".yaml")
        open(path, "w").write(d["data"]["config.yaml"])
        r = run([binary, "validate", "--config", path])
        c.check(r.returncode == 0, "%s: ConfigMap %s validates: %s" % (f, d["metadata"]["name"], r.stderr[-300:]))
    headless = [d for f, d in docs if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"]
    c.check(len(headless) == 1, "the gateway tier has one headless Service")
    lb = [d for f, d in maps if "loadbalancing" in d["data"]["config.yaml"]]
    if headless and lb:
        cfg = yaml.safe_load(lb[0]["data"]["config.yaml"])
        host = cfg["exporters"]["loadbalancing"]["resolver"]["dns"]["hostname"]
        c.check(host.startswith(headless[0]["metadata"]["name"] + "."), "the lb tier resolves the headless Service")
    kinds = {d["kind"] for f, d in docs}
    c.check({"DaemonSet", "Deployment", "Service"} <= kinds, "a DaemonSet, Deployments and Services are shipped")
    shutil.rmtree(tmp, ignore_errors=True)


def check_uninstall(c, binary, dest):
    r = run(["make", "-s", "-C", ROOT, "uninstall", "BUILD=" + os.path.dirname(binary), "DESTDIR=" + dest, "PREFIX=/usr"])
    c.check(r.returncode == 0, "make uninstall exits 0")
    c.check(not os.path.exists(dest + "/usr/bin/profgate"), "uninstall removes the binary")
    c.check(not os.path.exists(dest + "/usr/lib/profgate"), "uninstall removes the network module")
    c.check(os.path.exists(dest + "/etc/profgate/config.yaml"), "uninstall keeps the user's config")


def main():
    binary = os.path.realpath(sys.argv[1])
    c = H.Checks()
    dest = tempfile.mkdtemp(prefix="pg-install-")
    try:
        check_help(c, binary)
        unit = check_install(c, binary, dest)
        check_unit_verifies(c, dest, unit)
        check_notify(c, binary)
        check_runtime_packages(c, binary)
        check_kubernetes(c, binary)
        check_uninstall(c, binary, dest)
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
