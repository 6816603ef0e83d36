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
#   dcslurm-*: the test Slurm cluster), then the namespace; a veth pair goes with its end inside.
#   A name that points at this machine's own namespace (test/env/slurm/up.sh names it
#   dcslurm-host) loses only its name: the processes in it are everyone's;
# - every process whose command line names a test directory in the temporary directory
#   (${TMPDIR:-/tmp}/dc-*: Slurm, munge, carbon, the service, Pulumi, salt daemons of a test).
# Never this script or a process it runs under. Prints one line per thing it stopped; nothing
# when the machine is clean.
# Usage: bash test/env/sweep.sh
# (DC_SWEEP_NETNS, an extended regular expression, replaces the namespace names: the sweep's
# own test uses names no other test does.)
set -euo pipefail

tmp="${TMPDIR:-/tmp}"
tmp="${tmp%/}"
netns_pattern="${DC_SWEEP_NETNS:-^(dch|dcw|dcslurm)-}"

# This script and every process it runs under: never stopped.
declare -A spared=([1]=1)
pid=$$
while [ -n "${pid}" ] && [ "${pid}" != 0 ] && [ "${pid}" != 1 ]; do
    spared[${pid}]=1
    pid=$(ps -o ppid= -p "${pid}" 2>/dev/null | tr -d ' ')
done

# kill_all PIDS...: TERM, a few seconds' grace, then KILL; spared processes are left out.
kill_all() {
    local targets=() pid _
    for pid in "$@"; do
        [ -n "${spared[${pid}]:-}" ] || targets+=("${pid}")
    done
    [ "${#targets[@]}" -gt 0 ] || return 0
    kill -TERM "${targets[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "${targets[@]}"; do
            if kill -0 "${pid}" 2>/dev/null; then alive=1; fi
        done
        [ "${alive}" = 0 ] && return 0
        sleep 0.1
    done
    kill -KILL "${targets[@]}" 2>/dev/null || true
}

own_netns=$(stat -L -c %i /proc/self/ns/net)
for ns in $(ip netns list | awk '{print $1}' | grep -E "${netns_pattern}" || true); do
    if [ "$(stat -L -c %i "/run/netns/${ns}" 2>/dev/null)" = "${own_netns}" ]; then
        echo "sweep: network namespace name ${ns} left by an earlier run (this machine's own namespace: only the name goes)"
        ip netns delete "${ns}" 2>/dev/null || true
        continue
    fi
    pids=$(ip netns pids "${ns}" 2>/dev/null | tr '\n' ' ')
    echo "sweep: network namespace ${ns} left by an earlier run (processes: ${pids:-none})"
    # shellcheck disable=SC2086 # a list of PIDs
    kill_all ${pids}
    ip netns delete "${ns}" 2>/dev/null || true
done

pids=()
while read -r pid args; do
    [ -n "${spared[${pid}]:-}" ] && continue
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
