#!/usr/bin/env bash
# Starts the service tests' real Salt master: the pinned PyPI Salt (install.sh), running as user
# `salt` as Salt's packages run it, from the configuration the test wrote into DIR:
#   DIR/etc/salt/master            root_dir DIR, user salt, default_include master.d/*.conf
#   DIR/etc/salt/master.d/*.conf   the master config the head's states generate, verbatim
#   DIR/etc/salt/pki/master/       the cluster's master key pair (salt-owned)
#   DIR/upper/etc/...              /etc/dynamic-cluster with the reactors' token header file,
#                                  owners and modes as the head's states set them
#   DIR/upper/srv/{salt,pillar}    the Salt tree and the generated pillar, as on a head node
# Where: in the head's network namespace (test/env/slurm/lib.sh: the workers reach the master
# at 192.0.2.1, the address the generated config listens on) and in its own mount namespace in
# which /etc and /srv are overlays of DIR/upper on the machine's own, so the absolute paths the
# generated config and the reactors use (/srv/salt/reactor/..., /etc/dynamic-cluster/...) are
# the test's and nothing is written outside DIR.
# The reactors post to http://127.0.0.1:8081, hard-coded as on a head node: a socat in the head's
# namespace forwards that port to the service, which runs in the machine's own namespace.
# Usage: DC_SALT_VENV=/path bash master-up.sh DIR SERVICE_PORT   (prints the master's PID)
# Stop with master-down.sh DIR.
set -euo pipefail
dir=${1:?usage: master-up.sh DIR SERVICE_PORT}
service_port=${2:?usage: master-up.sh DIR SERVICE_PORT}
venv=${DC_SALT_VENV:?set DC_SALT_VENV (bash test/env/salt/install.sh prints it)}
head_ns=dcslurm-head
host_ns=dcslurm-host
[ -e "/run/netns/${head_ns}" ] || { echo "master-up.sh: no ${head_ns} namespace (start test/env/slurm/up.sh first)" >&2; exit 1; }
dir=$(cd "${dir}" && pwd)
for layer in etc srv; do
    mkdir -p "${dir}/upper/${layer}" "${dir}/work/${layer}"
done
log="${dir}/var/log/salt/master"
mkdir -p "$(dirname "${log}")"

# shellcheck disable=SC2016 # $1.. belong to the inner shell
setsid nsenter --net="/run/netns/${head_ns}" unshare --mount --propagation private sh -c '
    set -e
    for layer in etc srv; do
        mount -t overlay overlay \
            -o "lowerdir=/$layer,upperdir=$1/upper/$layer,workdir=$1/work/$layer" "/$layer"
    done
    exec "$2/bin/salt-master" -c "$1/etc/salt" --log-file-level=info
' sh "${dir}" "${venv}" </dev/null >"${dir}/master.out" 2>&1 &
echo "$!" >"${dir}/master.pid"

# The reactors' local API: 127.0.0.1:8081 in the head's namespace -> the service.
setsid nsenter --net="/run/netns/${head_ns}" socat TCP-LISTEN:8081,bind=127.0.0.1,reuseaddr,fork \
    "EXEC:nsenter --net=/run/netns/${host_ns} socat STDIO TCP\:127.0.0.1\:${service_port}" \
    </dev/null >"${dir}/forwarder.out" 2>&1 &
echo "$!" >"${dir}/forwarder.pid"

# Ready when the master publishes and takes requests (ports 4505 and 4506 on 192.0.2.1).
for _ in $(seq 1 300); do
    if ! kill -0 "$(cat "${dir}/master.pid")" 2>/dev/null; then
        echo "master-up.sh: salt-master exited; its output:" >&2
        cat "${dir}/master.out" "${log}" >&2 2>/dev/null || true
        exit 1
    fi
    if nsenter --net="/run/netns/${head_ns}" bash -c '(exec 3<>/dev/tcp/192.0.2.1/4506) && (exec 3<>/dev/tcp/192.0.2.1/4505)' 2>/dev/null; then
        cat "${dir}/master.pid"
        exit 0
    fi
    sleep 0.1
done
echo "master-up.sh: the master did not listen on 192.0.2.1:4505/4506 within 30 s; see ${log}" >&2
exit 1
