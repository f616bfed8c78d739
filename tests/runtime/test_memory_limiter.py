"""Runtime: with memory_limiter below the process's memory in use, profgate refuses new
data (the file receiver holds back), health_check reports not ready (503), and after a
reload with a sane limit the data flows and health is back to 200."""
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
processors:
  memory_limiter:
    limit_mib: {limit}
    spike_limit_mib: 0
    check_interval: 50ms
exporters:
  file:
    directory: {dir}/out
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
      processors: [memory_limiter]
      exporters: [file]
"""


def main():
    binary = sys.argv[1]
    c = H.Checks()
    health = H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    os.makedirs(os.path.join(d, "in"))
    pg.write_config(CONFIG.format(dir=d, health=health, limit=1))
    pg.start()
    ready = lambda: H.http_get("http://127.0.0.1:%d/ready" % health)
    H.wait_until(lambda: ready()[0] == 503, what="503 while over the memory limit")
    c.check("memory" in ready()[1], "the 503 body says why: %s" % ready()[1])
    shutil.copy(os.path.join(H.DATA, "pprof/go_cpu.pb.gz"), os.path.join(d, "in", "a.pb.gz"))
    import time
    time.sleep(0.5)
    c.check(not glob.glob(d + "/out/*"), "nothing exported while refusing")
    pg.write_config(CONFIG.format(dir=d, health=health, limit=4096))
    pg.send_signal(signal.SIGHUP)
    H.wait_until(lambda: ready()[0] == 200, what="ready after raising the limit")
    H.wait_until(lambda: glob.glob(d + "/out/*"), what="held-back file exported")
    c.check(pg.stop() == 0, "exit 0")
    if c.failed:
        print(pg.logs()[-3000:])
    c.finish()


if __name__ == "__main__":
    main()
