#!/usr/bin/env bash
# Powers a worker "host" off: its slurmd and every process left in its namespace (job steps),
# then its veth and namespace. Usage: DC_SLURM_DIR=/path bash host-down.sh NAME
set -uo pipefail
# shellcheck source=test/env/slurm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
name=${1:?usage: host-down.sh NAME}
ns=$(netns_of "$name")
if [[ -s $DIR/run/slurmd-$name.pid ]]; then
    stop_pid "$(tr -dc 0-9 <"$DIR/run/slurmd-$name.pid")" slurmd
fi
if ip netns list | grep -qw "^$ns"; then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break; sleep 0.1; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
fi
ip -n "$HEAD_NS" link del "$(veth_of "$name")" 2>/dev/null || true
rm -f "$DIR/run/slurmd-$name.pid"
