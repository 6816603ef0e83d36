#!/usr/bin/env bash
# Starts the tests' real Slurm 22.05 (Debian's slurmctld) for the slurm.conf in
# $DC_SLURM_DIR/etc/slurm.conf: munged with the cluster's own key, the bridge the worker
# namespaces hang off, and slurmctld as the head node (its own UTS and mount namespace, so its
# host name is SlurmctldHost's and its /etc/hosts names the head), all inside the head's network
# namespace (lib.sh says why). Worker hosts are added with
# host-up.sh. Stop everything with down.sh. Packages come from test/env/tools.sh.
# Usage: DC_SLURM_DIR=/path bash test/env/slurm/up.sh
set -euo pipefail
# shellcheck source=test/env/slurm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -f $SLURM_CONF ]] || { log "no $SLURM_CONF"; exit 2; }
if [[ -s $DIR/run/slurmctld.pid && -d /proc/$(tr -dc 0-9 <"$DIR/run/slurmctld.pid") ]]; then
    log "slurmctld already runs for $DIR; run down.sh first"
    exit 1
fi
if findmnt -no PROPAGATION / | grep -q shared; then
    log "/ is a shared mount: the private /etc/hosts of the head would leak to the machine; refusing"
    exit 1
fi
mkdir -p "$DIR"/{run,log,state,hosts,munge}
: >"$PIDS"

# Namespaces made later (by the tests, or inside slurmctld's mount namespace) must be visible
# everywhere: /run/netns is a shared mount.
mkdir -p /run/netns
mountpoint -q /run/netns || mount --bind /run/netns /run/netns
mount --make-shared /run/netns
# A handle on the machine's own namespace (see lib.sh).
ip netns list | grep -qw "^$HOST_NS" || ip netns attach "$HOST_NS" $$
# The head's namespace with the bridge on the head address; no uplink, no route out.
ip netns list | grep -qw "^$HEAD_NS" || ip netns add "$HEAD_NS"
ip -n "$HEAD_NS" link set lo up
ip -n "$HEAD_NS" link show "$BRIDGE" >/dev/null 2>&1 || ip -n "$HEAD_NS" link add "$BRIDGE" type bridge
ip -n "$HEAD_NS" addr replace "$HEAD_IP/$NET_PREFIX" dev "$BRIDGE"
ip -n "$HEAD_NS" link set "$BRIDGE" up

# munged with the cluster's key ($DIR/munge/munge.key, written by the test from the pillar).
chown munge:munge "$DIR/munge"
chmod 0755 "$DIR/munge"
[[ -s $DIR/munge/munge.key ]] || runuser -u munge -- mungekey --create --keyfile="$DIR/munge/munge.key"
chown munge:munge "$DIR/munge/munge.key"
chmod 0400 "$DIR/munge/munge.key"
runuser -u munge -- munged --socket="$DIR/munge/munge.socket.2" --key-file="$DIR/munge/munge.key" \
    --log-file="$DIR/munge/munged.log" --pid-file="$DIR/munge/munged.pid" --seed-file="$DIR/munge/munged.seed"
record_pid munged "$(wait_pidfile "$DIR/munge/munged.pid")"
for _ in $(seq 100); do [[ -S $DIR/munge/munge.socket.2 ]] && break; sleep 0.05; done

head=$(controller_name)
printf '127.0.0.1 localhost\n%s %s\n' "$HEAD_IP" "$head" >"$DIR/hosts/$head"
bash "$(dirname "${BASH_SOURCE[0]}")/ctld.sh"
log "slurmctld up as $head ($HEAD_IP)"
