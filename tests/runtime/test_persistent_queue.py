"""Runtime: the persistent sending queue survives kill -9. Batches are acknowledged to the
receiver only once written (fsync: always); the exporter's target is broken so they stay
queued; the process is killed with SIGKILL; after a restart with the target fixed every
batch is delivered. The guarantee is at-least-once; this test also checks that no batch
was delivered twice in this scenario (nothing had been sent before the kill)."""
import glob
import os
import shutil
import sys
import time

import harness as H

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 50ms
exporters:
  file:
    directory: {dir}/out
    format: otlp_proto
    sending_queue:
      directory: {dir}/queue
      fsync: always
      num_consumers: 1
""" + H.FAST_RETRY

N = 6


def queued(mport):
    samples, _ = H.parse_prometheus(H.http_get("http://127.0.0.1:%d/metrics" % mport)[1])
    return H.metric(samples, "profgate_exporter_queue_size", exporter="file") or 0


def main():
    binary = sys.argv[1]
    c = H.Checks()
    mport = H.free_port()
    pg = H.Profgate(binary, "")
    d = pg.dir
    pg.write_config(CONFIG.format(dir=d) + H.service_yaml(mport, ["file"], ["file"]))
    os.makedirs(os.path.join(d, "in"))
    pg.start()
    H.wait_until(lambda: H.http_get("http://127.0.0.1:%d/metrics" % mport)[0] == 200, what="metrics up")
    # break the target: the output folder becomes a regular file
    shutil.rmtree(os.path.join(d, "out"), ignore_errors=True)
    with open(os.path.join(d, "out"), "w") as f:
        f.write("not a folder")
    for i in range(N):
        src = "pprof/go_cpu.pb.gz" if i % 2 else "pprof/go_heap.pb.gz"
        shutil.copy(os.path.join(H.DATA, src), os.path.join(d, "in", "p%d.pb.gz" % i))
    H.wait_until(lambda: queued(mport) >= N, timeout=30, what="%d batches queued" % N)
    pg.kill9()
    c.check(len(os.listdir(os.path.join(d, "queue"))) >= N, "queue files on disk after kill -9")
    # fix the target and restart
    os.unlink(os.path.join(d, "out"))
    pg.start()
    H.wait_until(lambda: len(glob.glob(d + "/out/*")) >= N, timeout=30, what="all batches delivered")
    time.sleep(0.5)
    outs = glob.glob(d + "/out/*")
    c.check(len(outs) == N, "exactly %d deliveries (got %d)" % (N, len(outs)))
    H.wait_until(lambda: queued(mport) == 0, what="queue empty")
    H.finish(c, pg, "exit 0")


if __name__ == "__main__":
    main()
