"""Runtime: a loadbalancing tier in front of three profgate gateways, backends as `file`
exporters each read by its gateway (lb_tier.py): each series on exactly one gateway, a
backend dropped on reload moves only its series, nothing lost."""
# ctest: TIMEOUT 300 RUN_SERIAL TRUE
import sys

import lb_tier

if __name__ == "__main__":
    lb_tier.run(sys.argv[1], "file")
