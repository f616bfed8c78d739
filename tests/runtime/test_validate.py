"""Runtime: `profgate validate` and starting on a bad config exit 2 with file:line:column."""
import os
import subprocess
import sys
import tempfile

import harness as H


def run(binary, *args):
    return subprocess.run([binary] + list(args), capture_output=True, timeout=60)


def main():
    binary = sys.argv[1]
    c = H.Checks()
    d = tempfile.mkdtemp(prefix="pg-validate-")
    good = os.path.join(d, "good.yaml")
    with open(good, "w") as f:
        f.write("receivers:\n  file:\n    include: [/tmp/none/*]\nexporters:\n  debug:\n"
                "service:\n  telemetry:\n    metrics:\n      level: none\n"
                "  pipelines:\n    profiles:\n      receivers: [file]\n      exporters: [debug]\n")
    r = run(binary, "validate", "--config", good)
    c.check(r.returncode == 0, "valid config: exit 0 (%s)" % r.stderr)
    bad = os.path.join(d, "bad.yaml")
    with open(bad, "w") as f:
        f.write("receivers:\n  file:\n    include: [/tmp/x/*]\n    poll_interval: fast\n"
                "exporters:\n  debug:\n    verbosity: loud\n"
                "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n      exporters: [debug, nope]\n")
    r = run(binary, "validate", "--config", bad)
    err = r.stderr.decode()
    c.check(r.returncode == 2, "bad config: exit 2 (got %d)" % r.returncode)
    c.check(bad + ":4:20:" in err, "poll_interval error at 4:20:\n" + err)
    c.check(bad + ":7:16:" in err, "verbosity error at 7:16:\n" + err)
    c.check("nope" in err, "undefined exporter named:\n" + err)
    r = run(binary, "--config", bad)
    c.check(r.returncode == 2, "running a bad config exits 2")
    # later files merge over earlier ones
    over = os.path.join(d, "over.yaml")
    with open(over, "w") as f:
        f.write("exporters:\n  debug:\n    verbosity: detailed\n")
    r = run(binary, "validate", "--config", good, "--config", over)
    c.check(r.returncode == 0, "merged configs valid")
    c.finish()


if __name__ == "__main__":
    main()
