"""Runtime: the loadbalancing tier of lb_tier.py with `otlp` exporters as backends and
gateways listening with the otlp receiver (gRPC). Skipped (exit 77) while this build has
no `otlp` exporter."""
# ctest: TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
import subprocess
import sys

import lb_tier

if __name__ == "__main__":
    types = subprocess.run([sys.argv[1], "components"], capture_output=True, text=True).stdout
    if "exporter otlp" not in types:
        print("no otlp exporter in this build: skipped")
        sys.exit(77)
    lb_tier.run(sys.argv[1], "otlp")
