#!/usr/bin/env bash
# Boots a worker "host": network namespace dcw-NAME with ADDRESS, wired to the head's bridge
# (inside the head's namespace), then, in its own UTS and mount namespace with host name NAME:
# - by default its slurmd, registering as node NAME with -b (a fresh boot), fetching slurm.conf
#   from the controller (configless, as the worker states run it); prints slurmd's PID;
# - with --salt-minion CONFDIR, instead, the real salt-minion of the pinned PyPI Salt
#   (DC_SALT_VENV) with the configuration in CONFDIR (written from the server's user-data, as
#   cloud-init writes it); the worker's highstate then starts slurmd in this same namespace, as
#   the worker states do. Prints the minion's PID;
# - with --no-slurmd, nothing (the bare network).
# Usage: DC_SLURM_DIR=/path bash host-up.sh NAME ADDRESS [--no-slurmd | --salt-minion CONFDIR]
set -euo pipefail
# shellcheck source=test/env/slurm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
name=${1:?usage: host-up.sh NAME ADDRESS [--no-slurmd | --salt-minion CONFDIR]}
address=${2:?usage: host-up.sh NAME ADDRESS [--no-slurmd | --salt-minion CONFDIR]}
ns=$(netns_of "$name")
veth=$(veth_of "$name")

if ! ip netns list | grep -qw "^$ns"; then
    ip netns add "$ns"
fi
if ! ip -n "$HEAD_NS" link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" netns "$HEAD_NS"
fi
ip -n "$HEAD_NS" link set "$veth" master "$BRIDGE" up
ip -n "$ns" link set lo up
ip -n "$ns" addr replace "$address/$NET_PREFIX" dev eth0
ip -n "$ns" link set eth0 up
[[ ${3:-} == --no-slurmd ]] && exit 0

head=$(controller_name)
port=$(sed -n 's/^SlurmctldPort=//p' "$SLURM_CONF" | head -n 1)
mkdir -p "$DIR/hosts" "$DIR/log"
printf '127.0.0.1 localhost\n%s %s\n%s %s\n' "$address" "$name" "$HEAD_IP" "$head" >"$DIR/hosts/$name"
pidfile=$DIR/run/slurmd-$name.pid
rm -f "$pidfile"
# nsenter, not `ip netns exec`, which remounts /sys and hides the cgroup tree slurmd needs.
# In its own mount namespace the host sees the cluster's munged at the default socket path
# (/run/munge), as a real worker does: configless slurmd authenticates before it has a config.
mkdir -p /run/munge
# shellcheck disable=SC2016  # $1.. belong to the inner sh
# The host's namespaces: its network, and its own mount and UTS namespace.
# shellcheck disable=SC2016  # $1.. belong to the inner sh
in_host=(nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation private
    sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /run/munge && hostname "$3" &&
        shift 3 && exec "$@"' sh "$DIR/hosts/$name" "$DIR/munge" "$name")
if [[ ${3:-} == --salt-minion ]]; then
    confdir=${4:?"--salt-minion needs the minion configuration directory"}
    venv=${DC_SALT_VENV:?"set DC_SALT_VENV (bash test/env/salt/install.sh prints it)"}
    # Its own session; host-down.sh kills every process of the namespace.
    setsid "${in_host[@]}" env -u SLURM_CONF "$venv/bin/salt-minion" -c "$confdir" \
        </dev/null >"$DIR/log/salt-minion-$name.out" 2>&1 &
    pid=$!
    record_pid "salt-minion-$name" "$pid"
    echo "$pid"
    exit 0
fi
"${in_host[@]}" env -u SLURM_CONF slurmd --conf-server "$HEAD_IP:${port:-6817}" -N "$name" -b
pid=$(wait_pidfile "$pidfile" 20) || { log "slurmd $name did not start; see $DIR/log"; exit 1; }
record_pid "slurmd-$name" "$pid"
echo "$pid"
