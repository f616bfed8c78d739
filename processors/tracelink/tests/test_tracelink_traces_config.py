"""Runtime: `profgate validate` on traces pipelines. A valid one (otlp -> tracelink with
span_index.enabled and no endpoint) passes; each wrong shape exits 2 with a message at the
file:line:column of the offending id: a profiles-only receiver, processor or exporter in a
traces pipeline, a traces pipeline without processors, tracelink in a traces pipeline
without span_index.enabled, and an enabled span index that nothing feeds."""
import os
import subprocess
import sys
import tempfile

import harness as H

HEAD = """receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
  file:
    include: [/tmp/none/*]
processors:
  tracelink:
    span_index:
      enabled: {enabled}
  filter:
exporters:
  nop:
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    profiles:
      receivers: [otlp]
      processors: [tracelink]
      exporters: [nop]
"""
# line 24 is the first line after HEAD
TRACES = """    traces:
      receivers: [{receivers}]
{processors}{exporters}"""


def validate(binary, d, name, enabled="true", receivers="otlp", processors="tracelink", exporters=None,
             traces=True):
    text = HEAD.format(enabled=enabled)
    if traces:
        text += TRACES.format(receivers=receivers,
                              processors="      processors: [%s]\n" % processors if processors else "",
                              exporters="      exporters: [%s]\n" % exporters if exporters else "")
    path = os.path.join(d, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([binary, "validate", "--config", path], capture_output=True, timeout=60)
    return r.returncode, r.stderr.decode(), path


def main():
    binary = sys.argv[1]
    c = H.Checks()
    d = tempfile.mkdtemp(prefix="pg-traces-config-")
    rc, err, _ = validate(binary, d, "good")
    c.check(rc == 0, "otlp -> tracelink traces pipeline, no endpoint: valid (%s)" % err)

    cases = [
        ("file_receiver", dict(receivers="otlp, file"), ":25:25:",
         'receiver "file" does not handle traces (it handles profiles only)'),
        ("filter", dict(processors="tracelink, filter"), ":26:31:",
         'processor "filter" does not handle traces'),
        ("exporter", dict(exporters="nop"), ":27:19:", 'exporter "nop" does not handle traces'),
        ("no_processor", dict(processors=None), ":24:5:", "has no processor that handles traces"),
        ("disabled", dict(enabled="false"), ":9:3:",
         "processor tracelink: in a traces pipeline: set span_index.enabled: true"),
        ("unfed", dict(traces=False), ":9:3:", "span_index: nothing feeds the index"),
    ]
    for name, kw, where, want in cases:
        rc, err, path = validate(binary, d, name, **kw)
        c.check(rc == 2, "%s: exit 2 (%d)" % (name, rc))
        c.check(path + where in err and want in err, "%s: %s%s %s in:\n%s" % (name, path, where, want, err))
    c.finish()


if __name__ == "__main__":
    main()
