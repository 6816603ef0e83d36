"""
Dynamic Cluster stats collector (Salt execution module ``dc_stats``).

Salt's scheduler on each worker runs ``dc_stats.send`` every few seconds (see
``dynamic_cluster/worker/stats.sls``). One run reads /proc and statvfs, turns counters into
rates against the previous run's sample (kept in the minion's cache directory), and sends one
``dynamic-cluster/stats`` event to the master; the stats reactor forwards it to the Dynamic
Cluster service, which writes it to Graphite. Standard library only: it runs in Salt's onedir
Python. The parsing functions are pure and tested outside Salt (test/unit/salt-stats.test.ts).
"""

import json
import os
import time

__virtualname__ = "dc_stats"

EVENT_TAG = "dynamic-cluster/stats"
# Interfaces and filesystems that say nothing about a worker's load.
IGNORED_INTERFACE_PREFIXES = ("lo", "docker", "veth", "virbr")
MOUNTS = ("/", "/data", "/tmp")
CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def __virtual__():
    return __virtualname__


def parse_cpu(proc_stat_text):
    """Aggregate CPU jiffies from /proc/stat: {field: jiffies} for CPU_FIELDS."""
    for line in proc_stat_text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            values = [int(v) for v in parts[1 : 1 + len(CPU_FIELDS)]]
            values += [0] * (len(CPU_FIELDS) - len(values))
            return dict(zip(CPU_FIELDS, values))
    raise ValueError("no aggregate 'cpu' line in /proc/stat")


def parse_meminfo(meminfo_text):
    """/proc/meminfo as {key: bytes}."""
    result = {}
    for line in meminfo_text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        value = int(parts[0])
        result[key.strip()] = value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    return result


def parse_net_dev(net_dev_text):
    """/proc/net/dev as {interface: {"rx_bytes": n, "tx_bytes": n}}, ignored interfaces left out."""
    result = {}
    for line in net_dev_text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        name = name.strip()
        fields = rest.split()
        if not name or len(fields) < 9 or name.startswith(IGNORED_INTERFACE_PREFIXES):
            continue
        result[name] = {"rx_bytes": int(fields[0]), "tx_bytes": int(fields[8])}
    return result


def metric_name(text):
    """A Graphite-safe path element: letters, digits, '-' and '_' only."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in text.strip("/"))
    return cleaned or "root"


def compute_metrics(sample, previous):
    """
    Flat {metric: number} from one sample and, when given, the previous one (for rates).

    A sample is {"time", "cpu", "memory", "net", "disks", "load"}; see take_sample().
    """
    metrics = {}
    load = sample["load"]
    metrics["load.1m"], metrics["load.5m"], metrics["load.15m"] = load

    memory = sample["memory"]
    total = memory.get("MemTotal", 0)
    available = memory.get("MemAvailable", memory.get("MemFree", 0))
    metrics["memory.total_bytes"] = total
    metrics["memory.used_bytes"] = max(total - available, 0)
    metrics["memory.used_percent"] = round(100.0 * (total - available) / total, 2) if total else 0.0

    for mount, (size, free) in sample["disks"].items():
        name = metric_name(mount)
        metrics["disk.%s.total_bytes" % name] = size
        metrics["disk.%s.used_percent" % name] = round(100.0 * (size - free) / size, 2) if size else 0.0

    if previous:
        elapsed = sample["time"] - previous["time"]
        deltas = {k: sample["cpu"][k] - previous["cpu"].get(k, 0) for k in CPU_FIELDS}
        busy_total = sum(deltas.values())
        if busy_total > 0 and all(d >= 0 for d in deltas.values()):
            for key in ("user", "system", "iowait", "steal"):
                metrics["cpu.%s_percent" % key] = round(100.0 * deltas[key] / busy_total, 2)
            metrics["cpu.busy_percent"] = round(
                100.0 * (busy_total - deltas["idle"] - deltas["iowait"]) / busy_total, 2
            )
        if elapsed > 0:
            for interface, counters in sample["net"].items():
                before = previous["net"].get(interface)
                if not before:
                    continue
                for key in ("rx_bytes", "tx_bytes"):
                    delta = counters[key] - before[key]
                    if delta >= 0:  # a counter reset gives no rate this round
                        metrics["net.%s.%s_per_second" % (metric_name(interface), key)] = round(
                            delta / elapsed, 2
                        )
    return metrics


def _read(path):
    with open(path, encoding="ascii", errors="replace") as handle:
        return handle.read()


def take_sample(proc="/proc", mounts=MOUNTS):
    """Reads one sample from the running system."""
    disks = {}
    for mount in mounts:
        if os.path.ismount(mount):
            stat = os.statvfs(mount)
            disks[mount] = (stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize)
    return {
        "time": time.time(),
        "cpu": parse_cpu(_read(os.path.join(proc, "stat"))),
        "memory": parse_meminfo(_read(os.path.join(proc, "meminfo"))),
        "net": parse_net_dev(_read(os.path.join(proc, "net/dev"))),
        "disks": disks,
        "load": list(os.getloadavg()),
    }


def _state_path():
    return os.path.join(__opts__.get("cachedir", "/var/cache/salt/minion"), "dc_stats.json")


def collect(state_path=None):
    """Takes a sample, computes the metrics against the saved one, saves the new one."""
    path = state_path or _state_path()
    previous = None
    try:
        with open(path, encoding="utf-8") as handle:
            previous = json.load(handle)
    except (OSError, ValueError):
        previous = None
    sample = take_sample()
    metrics = compute_metrics(sample, previous)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(sample, handle)
    os.replace(temporary, path)
    return {"time": int(sample["time"]), "metrics": metrics}


def send():
    """
    Collects and sends one ``dynamic-cluster/stats`` event to the master.

    CLI Example:

    .. code-block:: bash

        salt-call dc_stats.send
    """
    payload = collect()
    return __salt__["event.send"](EVENT_TAG, payload)
