#!/usr/bin/env bash
# Stops what up.sh and host-up.sh started (by recorded PID, after checking the command name),
# removes every worker namespace and the head's namespace (with the bridge). Logs and state stay in $DC_SLURM_DIR.
# Usage: DC_SLURM_DIR=/path bash test/env/slurm/down.sh
set -uo pipefail
# shellcheck source=test/env/slurm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here=$(dirname "${BASH_SOURCE[0]}")
if [[ -e /run/netns/$HEAD_NS ]] && in_head scontrol ping 2>/dev/null | grep -q UP; then
    in_head squeue -h -o %i 2>/dev/null | xargs -r nsenter --net="/run/netns/$HEAD_NS" scancel --quiet 2>/dev/null || true
fi
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^dcw-' || true); do
    bash "$here/host-down.sh" "${ns#dcw-}"
done
if [[ -f $PIDS ]]; then
    for comm in slurmd slurmctld munged; do
        while read -r name pid; do
            case $name in
                "$comm" | "$comm"-*) stop_pid "$pid" "$comm" ;;
            esac
        done <"$PIDS"
    done
fi
ip netns del "$HEAD_NS" 2>/dev/null || true
# Only removes the name: the machine's own namespace lives on.
ip netns del "$HOST_NS" 2>/dev/null || true
