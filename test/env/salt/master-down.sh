#!/usr/bin/env bash
# Stops what master-up.sh DIR started: the forwarder, then the master and the processes it
# forked (its workers run in its process group). The mount namespace goes with them.
# Usage: bash master-down.sh DIR
set -uo pipefail
dir=${1:?usage: master-down.sh DIR}
stop() { # pid-file
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    # Each was started in its own session (setsid): the group holds its children.
    kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "${pid}" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true
    rm -f "$1"
}
stop "${dir}/forwarder.pid"
stop "${dir}/master.pid"
# Anything of the master left (it daemonizes nothing, but its children may outlive it).
pkill -KILL -f -- "salt-master -c ${dir}/etc/salt" 2>/dev/null || true
exit 0
