#!/usr/bin/python3
"""Runs salt/_modules/dc_stats.py outside Salt: its parsers on recorded /proc text, two real
collections on this machine, the metrics JSON can carry and the signed text (the signing itself
needs the cryptography package: test/integration/salt-stats-signature.test.ts).
Prints one JSON object for test/unit/salt-stats.test.ts."""
import json
import logging
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "salt", "_modules"))
import dc_stats  # noqa: E402

PROC_STAT = "cpu  100 5 50 800 20 1 2 3 0 0\ncpu0 50 2 25 400 10 0 1 1 0 0\nintr 1\n"
PROC_STAT_LATER = "cpu  160 5 70 900 30 1 2 3 0 0\ncpu0 80 2 35 450 15 0 1 1 0 0\n"
MEMINFO = "MemTotal:        8000000 kB\nMemFree:          500000 kB\nMemAvailable:    6000000 kB\nHugePages_Total:       0\n"
NET_DEV = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
    "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
    "  eth0: 5000 50 0 0 0 0 0 0 7000 70 0 0 0 0 0 0\n"
)
NET_DEV_LATER = NET_DEV.replace("5000 50", "15000 60").replace("7000 70", "6000 75")

def sample(stat, net, time):
    return {
        "time": time,
        "cpu": dc_stats.parse_cpu(stat),
        "memory": dc_stats.parse_meminfo(MEMINFO),
        "net": dc_stats.parse_net_dev(net),
        "disks": {"/": (1000, 250), "/data": (0, 0)},
        "load": [0.5, 0.25, 0.125],
    }

first = sample(PROC_STAT, NET_DEV, 100.0)
second = sample(PROC_STAT_LATER, NET_DEV_LATER, 110.0)
dc_stats.__opts__ = {}
def saved_cpu(state):
    """The CPU counters collect() saved with its sample (the next one's rates start there)."""
    with open(state, encoding="utf-8") as handle:
        return json.load(handle)["cpu"]


with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "dc_stats.json")
    live_first = dc_stats.collect(state)
    live_cpu = [saved_cpu(state)]
    # Two collections within one clock tick (10 ms) see the same counters and report no CPU
    # shares; wait (idle time counts too) until the counters have moved, at most 2 s.
    deadline = time.monotonic() + 2
    while dc_stats.parse_cpu(dc_stats._read("/proc/stat")) == live_cpu[0]:
        if time.monotonic() > deadline:
            raise SystemExit("the CPU counters in /proc/stat did not move for 2 s")
        time.sleep(0.005)
    live_second = dc_stats.collect(state)
    live_cpu.append(saved_cpu(state))

canonical_metrics = dc_stats.json_metrics(
    {"memory.used_percent": 25.0, "load.1m": 0.5, "net.eth0.rx_bytes_per_second": 1e-05,
     "cpu.busy_percent": float("nan"), "disk.root.total_bytes": float("inf"), "flag": True,
     "B": 1, "a": 2}
)
canonical = dc_stats.canonical_bytes("dc-\u00e9t\u00e9\x7f", 1795566503, canonical_metrics)

# payload() without a readable key: the figures go out unsigned, with a warning.
warnings = []
handler = logging.Handler(level=logging.WARNING)
handler.emit = lambda record: warnings.append(record.getMessage())
dc_stats.log.addHandler(handler)
dc_stats.__opts__ = {"id": "dc-unsigned"}
with tempfile.TemporaryDirectory() as tmp:
    unsigned = dc_stats.payload(os.path.join(tmp, "state.json"), os.path.join(tmp, "missing.pem"))

try:
    dc_stats.parse_cpu("intr 1\n")
    bad_stat = None
except ValueError as exc:
    bad_stat = str(exc)

print(json.dumps({
    "cpu": dc_stats.parse_cpu(PROC_STAT),
    "memory": dc_stats.parse_meminfo(MEMINFO),
    "net": dc_stats.parse_net_dev(NET_DEV),
    "first": dc_stats.compute_metrics(first, None),
    "second": dc_stats.compute_metrics(second, first),
    "names": [dc_stats.metric_name(n) for n in ["/", "/data", "eth0.100", "ib0:1"]],
    "live_first": live_first,
    "live_second": live_second,
    "live_cpu": live_cpu,
    "bad_stat": bad_stat,
    "canonical_metrics": canonical_metrics,
    "canonical": canonical.decode("ascii"),
    "unsigned": unsigned,
    "unsigned_warnings": warnings,
}))
