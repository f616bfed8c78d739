"""Runtime: the network module. The executable needs neither libgrpc nor libcurl; `convert`,
`--version` and a config without network components run without loading them; a config
naming one loads profgate-net.so from beside the binary; a missing, broken or foreign module
is a clear error for exactly the configs that need it (docs/packaging.md)."""
import os
import shutil
import subprocess
import sys
import tempfile

import harness as H

CORE = ("receivers:\n  file:\n    include: [/tmp/none/*]\nexporters:\n  debug:\n"
        "service:\n  telemetry:\n    metrics:\n      level: none\n"
        "  pipelines:\n    profiles:\n      receivers: [file]\n      exporters: [debug]\n")
NET = CORE.replace("exporters:\n  debug:\n",
                   "exporters:\n  debug:\n  otlp:\n    endpoint: 127.0.0.1:9\n    tls:\n      insecure: true\n"
                   ).replace("exporters: [debug]", "exporters: [debug, otlp]")


def run(cmd, env=None, **kw):
    e = dict(os.environ)
    e.pop("PROFGATE_NET_MODULE", None)
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e, **kw)


def loaded_libs(cmd, env=None):
    """The shared objects the dynamic loader maps for cmd (LD_DEBUG=files), and the result."""
    r = run(cmd, env=dict(env or {}, LD_DEBUG="files"))
    return [l for l in r.stderr.splitlines() if "file=" in l and "generating link map" in l], r


def needed(path):
    r = run(["readelf", "-d", path])
    return [l.split("[")[1].rstrip("]") for l in r.stdout.splitlines() if "(NEEDED)" in l]


def heavy(libs):
    return [l for l in libs if "libgrpc" in l or "libcurl" in l]


def check_linking(c, binary, module):
    c.check(os.path.exists(module), "profgate-net.so is built beside the binary")
    exe = needed(binary)
    c.check(exe and not heavy(exe), "the executable needs neither libgrpc nor libcurl: %s" % exe)
    mod = needed(module)
    c.check(any("libgrpc" in l for l in mod) and any("libcurl" in l for l in mod),
            "the module needs libgrpc and libcurl: %s" % mod)


def check_light_commands(c, binary, d):
    libs, r = loaded_libs([binary, "--version"])
    c.check(r.returncode == 0 and not heavy(libs), "--version loads no libgrpc/libcurl: %s" % heavy(libs))
    src, out = os.path.join(d, "in.pprof"), os.path.join(d, "out.otlp")
    with open(src, "wb") as f:
        f.write(H.tiny_pprof("main", 7))
    libs, r = loaded_libs([binary, "convert", "--to", "otlp_proto", src, out])
    c.check(r.returncode == 0 and os.path.getsize(out) > 0, "convert works: " + r.stderr[-300:])
    c.check(not heavy(libs) and not any("profgate-net" in l for l in libs),
            "convert loads no network module: %s" % heavy(libs))
    core = os.path.join(d, "core.yaml")
    with open(core, "w") as f:
        f.write(CORE)
    libs, r = loaded_libs([binary, "validate", "--config", core])
    c.check(r.returncode == 0, "a config without network components validates: " + r.stderr[-300:])
    c.check(not heavy(libs), "...without loading libgrpc/libcurl: %s" % heavy(libs))


def check_module_loads(c, binary, d):
    net = os.path.join(d, "net.yaml")
    with open(net, "w") as f:
        f.write(NET)
    libs, r = loaded_libs([binary, "validate", "--config", net])
    c.check(r.returncode == 0, "a config with the otlp exporter validates: " + r.stderr[-300:])
    c.check(any("profgate-net.so" in l for l in libs) and any("libgrpc" in l for l in libs),
            "...loading profgate-net.so and libgrpc")
    r = run([binary, "components"])
    c.check(r.returncode == 0 and "exporter otlp (network module)\n" in r.stdout
            and "receiver pprof_scrape (network module)\n" in r.stdout and "not loaded" not in r.stdout,
            "components lists the module's types with their keys: " + r.stderr[-300:])
    c.check("    endpoint" in r.stdout.split("exporter otlp (network module)\n")[1].split("\n", 1)[0],
            "components shows the otlp exporter's config keys")


def check_module_errors(c, binary, d):
    net, core = os.path.join(d, "net.yaml"), os.path.join(d, "core.yaml")
    missing = {"PROFGATE_NET_MODULE": os.path.join(d, "none", "profgate-net.so")}
    r = run([binary, "validate", "--config", net], env=missing)
    c.check(r.returncode != 0 and "exporter type otlp is in the network module" in r.stderr
            and "is not installed" in r.stderr and missing["PROFGATE_NET_MODULE"] in r.stderr,
            "missing module: clear error naming the type and the path looked at:\n" + r.stderr[-600:])
    r = run([binary, "validate", "--config", core], env=missing)
    c.check(r.returncode == 0, "missing module: a config without network components still validates")
    r = run([binary, "components"], env=missing)
    c.check(r.returncode == 1 and "exporter otlp (network module: not loaded)" in r.stdout
            and "exporter debug\n" in r.stdout, "missing module: components lists it as not loaded, exit 1")
    r = run([binary, "--config", net], env=missing)
    c.check(r.returncode != 0 and "network module" in r.stderr, "missing module: run refuses the config")

    broken = os.path.join(d, "broken.so")
    with open(broken, "w") as f:
        f.write("not an ELF file\n")
    r = run([binary, "validate", "--config", net], env={"PROFGATE_NET_MODULE": broken})
    c.check(r.returncode != 0 and "cannot be loaded" in r.stderr and broken in r.stderr,
            "broken module: the loader's reason:\n" + r.stderr[-600:])

    foreign_c, foreign = os.path.join(d, "foreign.c"), os.path.join(d, "foreign.so")
    with open(foreign_c, "w") as f:
        f.write('const char pg_net_module_id[] = "0.0.0-another-build";\n')
    b = run(["cc", "-shared", "-fPIC", "-o", foreign, foreign_c])
    if b.returncode == 0:
        r = run([binary, "validate", "--config", net], env={"PROFGATE_NET_MODULE": foreign})
        c.check(r.returncode != 0 and "built with another profgate" in r.stderr,
                "a module of another build is refused:\n" + r.stderr[-600:])
    else:
        print("skip: no C compiler for the foreign-module case")

    # A copy of the binary with no module beside it (nor in ../lib/profgate).
    alone = os.path.join(d, "bin", "profgate")
    os.makedirs(os.path.dirname(alone))
    shutil.copy(binary, alone)
    r = run([alone, "validate", "--config", net])
    if "is not installed" in r.stderr or r.returncode == 0:
        c.check(r.returncode != 0 and os.path.join(d, "bin", "profgate-net.so") in r.stderr,
                "binary without its module: error names <bindir>/profgate-net.so:\n" + r.stderr[-600:])
    r = run([alone, "--version"])
    c.check(r.returncode == 0, "binary without its module: --version runs")


def main():
    binary = os.path.realpath(sys.argv[1])
    module = os.path.join(os.path.dirname(binary), "profgate-net.so")
    c = H.Checks()
    d = tempfile.mkdtemp(prefix="pg-netmod-")
    try:
        check_linking(c, binary, module)
        check_light_commands(c, binary, d)
        check_module_loads(c, binary, d)
        check_module_errors(c, binary, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
