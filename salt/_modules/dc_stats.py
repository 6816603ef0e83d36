r"""
Dynamic Cluster stats collector (Salt execution module ``dc_stats``).

Salt's scheduler on each worker runs ``dc_stats.send`` every few seconds (see
``dynamic_cluster/worker/stats.sls``). One run reads /proc and statvfs, turns counters into
rates against the previous run's sample (kept in the minion's cache directory), and sends one
``dynamic-cluster/stats`` event to the master; the stats reactor forwards it to the Dynamic
Cluster service, which writes it to Graphite. Standard library only, except the signature (see
below), which uses the ``cryptography`` package Salt's onedir ships. The parsing functions are
pure and tested outside Salt (test/unit/salt-stats.test.ts).

The event's payload is ``{"time": <int, Unix seconds>, "metrics": {<name>: <number>},
"signed": <text>, "signature": <base64>}``. The signature lets the service check that the figures
come from the minion holding the key the master accepted for that minion ID (any minion can put
any event on the master's bus, in any minion's name). ``signed`` is the JSON text

    json.dumps({"id": <__opts__["id"]>, "time": <time>, "metrics": <metrics>},
               sort_keys=True, separators=(",", ":"))

and ``signature`` its RSA PKCS#1 v1.5 SHA-256 signature with the minion's private key
(``<pki_dir>/minion.pem``). The service verifies the text exactly as received against the key
the master accepted for the event's minion ID, checks that the ID inside is that one, and takes
the figures from the text (autoscaler/salt/stats.ts), so no number formatting has to agree
between Python and JavaScript. Values JSON cannot carry (NaN, infinities) are left out. Salt's
own ``salt.crypt.sign_message`` offers only SHA-1 and SHA-224 in 3006, hence ``cryptography``
directly (pycryptodomex, which Salt 3006 also ships, when ``cryptography`` cannot be imported).
If the key cannot be read the event goes out without "signed" and "signature" (logged at
WARNING); the service does not take unsigned figures.
"""

import base64
import json
import logging
import math
import os
import time

log = logging.getLogger(__name__)

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


def json_metrics(metrics):
    """The metrics JSON can carry: numbers (not booleans), finite."""
    return {
        str(name): value
        for name, value in metrics.items()
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    }


def canonical_bytes(minion_id, time_, metrics):
    """The text the signature covers (module header), as bytes: sorted-key compact JSON."""
    signed = {"id": minion_id, "time": time_, "metrics": metrics}
    return json.dumps(signed, sort_keys=True, separators=(",", ":")).encode("ascii")


def _sign_cryptography(key_pem, message):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def _sign_cryptodome(key_pem, message):
    from Cryptodome.Hash import SHA256
    from Cryptodome.PublicKey import RSA
    from Cryptodome.Signature import pkcs1_15

    return pkcs1_15.new(RSA.import_key(key_pem)).sign(SHA256.new(message))


def sign(message, key_path):
    """Base64 RSA PKCS#1 v1.5 SHA-256 signature of ``message`` (bytes) with the PEM key."""
    with open(key_path, "rb") as handle:
        key_pem = handle.read()
    try:
        import cryptography  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import

        signature = _sign_cryptography(key_pem, message)
    except ImportError:
        signature = _sign_cryptodome(key_pem, message)
    return base64.b64encode(signature).decode("ascii")


def _key_path():
    return os.path.join(__opts__.get("pki_dir", "/etc/salt/pki/minion"), "minion.pem")


def payload(state_path=None, key_path=None):
    """
    One collection as the event's payload: time, metrics and, when the minion's key
    can be read, the signed text and its signature (module header). ``state_path`` and
    ``key_path`` are for tests.

    CLI Example (shows what the next event would carry, without sending it):

    .. code-block:: bash

        salt-call dc_stats.payload
    """
    result = collect(state_path)
    result["metrics"] = json_metrics(result["metrics"])
    key = key_path or _key_path()
    message = canonical_bytes(__opts__["id"], result["time"], result["metrics"])
    try:
        result["signature"] = sign(message, key)
        result["signed"] = message.decode("ascii")
    except Exception as exc:  # pylint: disable=broad-except
        # Unsigned figures are still worth sending; the service decides what to do with them.
        log.warning(
            "dc_stats: cannot sign the stats with %s (%s: %s)", key, type(exc).__name__, exc
        )
    return result


def send():
    """
    Collects and sends one ``dynamic-cluster/stats`` event (signed payload) to the master.

    CLI Example:

    .. code-block:: bash

        salt-call dc_stats.send
    """
    return __salt__["event.send"](EVENT_TAG, payload())
