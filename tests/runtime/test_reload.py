"""Runtime: SIGHUP reloads the config; a bad new config keeps the old one running."""
import glob
import os
import shutil
import signal
import sys
import time

import harness as H

BASE = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 100ms
exporters:
  {exporter}:
    directory: {dir}/{out}
    format: pprof
extensions:
  health_check:
    endpoint: 127.0.0.1:{health}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    profiles:
      receivers: [file]
      exporters: [{exporter}]
"""


def main():
    binary = sys.argv[1]
    c = H.Checks()
    health = H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    os.makedirs(os.path.join(d, "in"))
    pg.write_config(BASE.format(dir=d, health=health, exporter="file/a", out="out-a"))
    pg.start()
    up = lambda: H.http_get("http://127.0.0.1:%d/" % health)[0] == 200
    H.wait_until(up, what="health")
    shutil.copy(os.path.join(H.DATA, "pprof/go_cpu.pb.gz"), os.path.join(d, "in", "one.pb.gz"))
    H.wait_until(lambda: glob.glob(d + "/out-a/*.pb.gz"), what="first output")

    # a bad config: the old one keeps running
    pg.write_config("receivers: [oops\n")
    pg.send_signal(signal.SIGHUP)
    H.wait_until(lambda: "reload failed" in pg.logs(), what="reload failure logged")
    c.check(pg.alive(), "still running after a bad reload")
    shutil.copy(os.path.join(H.DATA, "pprof/go_heap.pb.gz"), os.path.join(d, "in", "two.pb.gz"))
    H.wait_until(lambda: len(glob.glob(d + "/out-a/*.pb.gz")) >= 2, what="old pipeline still exports")
    c.check(H.wait_until(up, what="health after bad reload"), "health 200 after a bad reload")

    # a good config: the new exporter takes over
    pg.write_config(BASE.format(dir=d, health=health, exporter="file/b", out="out-b"))
    pg.send_signal(signal.SIGHUP)
    H.wait_until(lambda: "reloaded" in pg.logs(), what="reload logged")
    H.wait_until(up, what="health after reload")
    shutil.copy(os.path.join(H.DATA, "otlp/go_cpu.otlp"), os.path.join(d, "in", "three.otlp"))
    H.wait_until(lambda: glob.glob(d + "/out-b/*.pb.gz"), what="new exporter output")
    c.check(len(glob.glob(d + "/out-a/*.pb.gz")) == 2, "old exporter got nothing after the reload")
    H.finish(c, pg, "exit 0")


if __name__ == "__main__":
    main()
