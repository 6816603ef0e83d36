#!/usr/bin/env bash
# Clears what an interrupted earlier test run left on this machine, before the integration stage
# starts (test/run.sh): a run killed half-way (Ctrl-C, a lost session, a timeout) cannot run its
# own clean-up, and its network namespaces and daemons would then break the next run (an
# emulated head still holding the head's floating IP, a worker host's name taken) and fail its
# no-leaks check. The local OpenStack's leftovers go with its state (test/run.sh starts it from
# a fresh state when it starts it).
#
# What it stops, and only that (each is something only the tests create):
# - every process inside a test network namespace (dch-*: emulated heads, dcw-*: worker hosts,
#   dcslurm-*: the test Slurm cluster), then the namespace; a veth pair goes with its end inside;
# - every process whose command line names a test directory in the temporary directory
#   (${TMPDIR:-/tmp}/dc-*: Slurm, munge, carbon, the service, Pulumi, salt daemons of a test).
# Prints one line per thing it stopped; nothing when the machine is clean.
# Usage: bash test/env/sweep.sh
set -euo pipefail

tmp="${TMPDIR:-/tmp}"
tmp="${tmp%/}"

# kill_all PIDS...: TERM, a few seconds' grace, then KILL.
kill_all() {
    [ "$#" -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null || true
    local pid _
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "$@"; do
            if kill -0 "${pid}" 2>/dev/null; then alive=1; fi
        done
        [ "${alive}" = 0 ] && return 0
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null || true
}

for ns in $(ip netns list | awk '{print $1}' | grep -E '^(dch|dcw|dcslurm)-' || true); do
    # shellcheck disable=SC2046 # a list of PIDs
    pids=$(ip netns pids "${ns}" 2>/dev/null | tr '\n' ' ')
    echo "sweep: network namespace ${ns} left by an earlier run (processes: ${pids:-none})"
    # shellcheck disable=SC2086 # a list of PIDs
    kill_all ${pids}
    ip netns delete "${ns}" 2>/dev/null || true
done

pids=()
while read -r pid args; do
    case " ${args}" in
    *" ${tmp}/dc-"* | *"=${tmp}/dc-"*) pids+=("${pid}") ;;
    esac
done < <(pgrep -a -f -- "${tmp}/dc-" || true)
if [ "${#pids[@]}" -gt 0 ]; then
    echo "sweep: stopping ${#pids[@]} process(es) of an earlier run's test directories:"
    ps -o pid=,args= -p "$(
        IFS=,
        echo "${pids[*]}"
    )" | cut -c1-160 | sed 's/^/  /' || true
    kill_all "${pids[@]}"
fi
