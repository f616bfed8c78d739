"""Runtime: nothing the file receiver reads is lost when profgate stops during an exporter
outage. The exporter's target is broken (its output folder is a regular file), N distinct
inputs are read and queued, profgate is stopped (SIGTERM after the drain deadline, or
kill -9), the target is fixed and profgate restarted: every input arrives at least once.
Run for the in-memory queue (the receiver commits a file only once its batch is
delivered, so an abandoned one is read again) and for the persistent queue (committed
once written to disk, replayed after the restart)."""
import glob
import os
import shutil
import signal
import sys

import harness as H

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 50ms
    storage_directory: {dir}/state
exporters:
  file:
    directory: {dir}/out
    format: otlp_json
    sending_queue:
      num_consumers: 1
{queue}
{retry}service:
  shutdown_timeout: 500ms
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    profiles:
      receivers: [file]
      exporters: [file]
"""

N = 5


def queued(mport):
    status, body = H.http_get("http://127.0.0.1:%d/metrics" % mport)
    if status != 200:
        return 0
    samples, _ = H.parse_prometheus(body)
    return H.metric(samples, "profgate_exporter_queue_size", exporter="file") or 0


def delivered(d, names):
    """How many times each name occurs across the output files."""
    seen = dict.fromkeys(names, 0)
    for path in glob.glob(d + "/out/*"):
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for n in names:
            seen[n] += text.count('"%s"' % n)
    return seen


def run(binary, c, persistent, how):
    mport = H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    queue = "      directory: %s/queue\n      fsync: always" % d if persistent else ""
    pg.write_config(CONFIG.format(dir=d, metrics=mport, queue=queue, retry=H.FAST_RETRY))
    os.makedirs(os.path.join(d, "in"))
    label = "%s queue, %s" % ("persistent" if persistent else "in-memory", how)
    pg.start()
    H.wait_until(lambda: H.http_get("http://127.0.0.1:%d/metrics" % mport)[0] == 200, what="metrics up")
    # break the target: the output folder becomes a regular file
    shutil.rmtree(os.path.join(d, "out"), ignore_errors=True)
    with open(os.path.join(d, "out"), "w") as f:
        f.write("not a folder")
    names = ["delivery_fn_%d" % i for i in range(N)]
    for i, n in enumerate(names):
        with open(os.path.join(d, "in", "p%d.pb" % i), "wb") as f:
            f.write(H.tiny_pprof(n, i + 1))
    H.wait_until(lambda: queued(mport) >= N, timeout=30, what="%d batches queued" % N)
    if how == "SIGTERM":
        c.check(pg.stop(signal.SIGTERM) == 0, label + ": exit 0 after the drain deadline")
    else:
        pg.kill9()
    os.unlink(os.path.join(d, "out"))
    pg.start()
    try:
        H.wait_until(lambda: all(v >= 1 for v in delivered(d, names).values()), timeout=30,
                     what="every input delivered")
    except AssertionError:
        pass
    seen = delivered(d, names)
    c.check(all(v >= 1 for v in seen.values()), label + ": every input arrived at least once: %s" % seen)
    c.check(pg.stop() == 0, label + ": exit 0")
    if c.failed:
        print(pg.logs()[-4000:])


def main():
    binary = sys.argv[1]
    c = H.Checks()
    for persistent in (False, True):
        for how in ("SIGTERM", "kill -9"):
            run(binary, c, persistent, how)
    c.finish()


if __name__ == "__main__":
    main()
