# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared settings of the tests' real Slurm (test/env/slurm/*.sh). One cluster at a time.
#
# The cluster network lives entirely inside network namespaces, never in the machine's own:
# namespace HEAD_NS holds the bridge and slurmctld, on the gateway address of the local
# OpenStack's test subnet (192.0.2.1, never given to a server), and every worker "host" is a
# namespace wired to that bridge with the address Nova gave its server, so Slurm sees what it
# would see on a real cloud. The machine's own interfaces may use the same range (this CI
# machine's eth0 does); nothing here touches them. Slurm clients run inside HEAD_NS
# (`nsenter --net=/run/netns/$HEAD_NS`).
set -euo pipefail
DIR=${DC_SLURM_DIR:?set DC_SLURM_DIR to the cluster directory (it holds etc/slurm.conf)}
HEAD_NS=dcslurm-head
# A name for the machine's own network namespace, so programs slurmctld runs (the power-saving
# programs) can reach services on the machine's loopback: nsenter --net=/run/netns/$HOST_NS.
HOST_NS=dcslurm-host
BRIDGE=dcbr0
HEAD_IP=192.0.2.1
NET_PREFIX=24
export SLURM_CONF=$DIR/etc/slurm.conf
PIDS=$DIR/run/pids

log() { echo "[slurm-env $(date +%H:%M:%S)] $*" >&2; }

# Records "name pid" (flock: ResumeProgram runs concurrently with the tests).
record_pid() {
    mkdir -p "$DIR/run"
    (
        flock 9
        echo "$1 $2" >>"$PIDS"
    ) 9>"$DIR/run/pids.lock"
}

# Waits until file $1 holds the PID of a live process and prints it ($2 seconds, default 20).
wait_pidfile() {
    local file=$1 seconds=${2:-20} i pid
    for ((i = 0; i < seconds * 20; i++)); do
        if [[ -s $file ]]; then
            pid=$(tr -dc 0-9 <"$file")
            if [[ -n $pid && -d /proc/$pid ]]; then
                echo "$pid"
                return 0
            fi
        fi
        sleep 0.05
    done
    return 1
}

# Stops one PID this environment started, only if its command is still $2 (no PID reuse).
stop_pid() {
    local pid=$1 comm=$2 i
    [[ -n $pid && -d /proc/$pid ]] || return 0
    [[ $(cat /proc/"$pid"/comm 2>/dev/null) == "$comm" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        [[ -d /proc/$pid ]] || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# Network namespace and head-side veth of worker $1 (veth names are limited to 15 characters).
netns_of() { echo "dcw-$1"; }
veth_of() { echo "dcv$(printf '%s' "$1" | md5sum | cut -c1-10)"; }

# Runs a command in the head's network namespace.
in_head() { nsenter --net="/run/netns/$HEAD_NS" "$@"; }

# "NAME(ADDR)" of SlurmctldHost in slurm.conf -> "NAME".
controller_name() { sed -n 's/^SlurmctldHost=\([^(]*\).*/\1/p' "$SLURM_CONF" | head -n 1; }
