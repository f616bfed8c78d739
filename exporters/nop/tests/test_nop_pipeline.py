"""Runtime: file receiver -> nop exporter, from YAML, on the real binary. The nop exporter
keeps nothing, and its standard metrics count exactly what the receiver accepted."""
# ctest: TIMEOUT 120
import os
import shutil
import signal
import sys

import harness as H

CONFIG = """
receivers:
  file:
    include: [ "{dir}/in/*" ]
    poll_interval: 100ms
exporters:
  nop:
""" + H.service_yaml("{metrics}", ["file"], ["nop"])


def main():
    binary = sys.argv[1]
    c = H.Checks()
    pg, mport = H.start_with_metrics(binary, CONFIG)
    d = pg.dir
    for name, src in {"cpu.pb.gz": "pprof/go_cpu.pb.gz", "heap.pb.gz": "pprof/go_heap.pb.gz",
                      "heap.otlp": "otlp/go_heap.otlp"}.items():
        shutil.copy(os.path.join(H.DATA, src), os.path.join(d, "in", name))

    def settled():
        s = H.scrape(mport)
        acc = H.metric(s, "profgate_receiver_accepted_profiles_total", receiver="file")
        sent = H.metric(s, "profgate_exporter_sent_profiles_total", exporter="nop")
        # cpu: 2 sample types, heap: 4, each pprof + 1 Profile recording the mappings no sample
        # reaches (pprof.profile.table_entries, docs/translation.md); the OTLP heap: 4 + 1
        return s if acc and acc >= 3 + 5 + 4 and sent == acc else None

    s = H.wait_until(settled, what="nop exporter counts what the receiver accepted")
    acc_p = H.metric(s, "profgate_receiver_accepted_profiles_total", receiver="file")
    acc_s = H.metric(s, "profgate_receiver_accepted_samples_total", receiver="file")
    sent_s = H.metric(s, "profgate_exporter_sent_samples_total", exporter="nop")
    sent_b = H.metric(s, "profgate_exporter_sent_bytes_total", exporter="nop")
    c.check(acc_p == 12, "receiver accepted 12 profiles (%s)" % acc_p)
    c.check(sent_s == acc_s and acc_s > 0, "nop sent samples %s == accepted %s" % (sent_s, acc_s))
    c.check(sent_b is not None and sent_b > 1000, "nop sent bytes counted (%s)" % sent_b)
    failed = H.metric(s, "profgate_exporter_send_failed_profiles_total", exporter="nop")
    c.check(failed in (None, 0.0), "nothing failed (%s)" % failed)
    left = sorted(os.listdir(d))
    c.check(not any(n.endswith((".pb", ".gz", ".otlp", ".json")) for n in left),
            "nop wrote no output (%s)" % left)
    rc = pg.stop(signal.SIGTERM)
    c.check(rc == 0, "exit code 0 after SIGTERM (got %s)" % rc)
    if c.failed:
        print(pg.logs()[-3000:])
    c.finish()


if __name__ == "__main__":
    main()
