#!/usr/bin/env bash
# Powers a worker "host" off: its network, then its slurmd and every process in its namespace
# (job steps), then the namespace. Usage: DC_SLURM_DIR=/path bash host-down.sh NAME
set -uo pipefail
# shellcheck source=test/env/slurm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
name=${1:?usage: host-down.sh NAME}
ns=$(netns_of "$name")
# Like a VM that is deleted: the network goes first (nothing more reaches the controller), then
# every process in the namespace dies at once.
ip -n "$HEAD_NS" link del "$(veth_of "$name")" 2>/dev/null || true
if ip netns list | grep -qw "^$ns"; then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break; sleep 0.1; done
    ip netns del "$ns" 2>/dev/null || true
fi
rm -f "$DIR/run/slurmd-$name.pid"
