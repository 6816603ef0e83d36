#!/usr/bin/env bash
# Stops an emulated head node started by up.sh DIR: every process in its network namespace
# (sshd and any session left), then the namespace and its veth. The overlays go with the last
# process of their mount namespace. DIR itself is left for the caller to read or remove.
# Usage: bash test/env/head/down.sh DIR
set -euo pipefail
dir=${1:?usage: down.sh DIR}
[ -f "${dir}/netns" ] || exit 0
read -r ns veth <"${dir}/netns"
if ip netns list | grep -qw "^${ns}"; then
    for _ in $(seq 1 50); do
        pids=$(ip netns pids "${ns}" 2>/dev/null || true)
        [ -z "${pids}" ] && break
        # shellcheck disable=SC2086 # a list of PIDs
        kill -TERM ${pids} 2>/dev/null || true
        sleep 0.1
    done
    pids=$(ip netns pids "${ns}" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "${pids}" ] || kill -KILL ${pids} 2>/dev/null || true
    ip netns delete "${ns}"
fi
ip link delete "${veth}" 2>/dev/null || true
rm -f "${dir}/netns"
