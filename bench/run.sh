#!/usr/bin/env bash
# The project's benchmark command (`npm run bench [-- <name>]`). Like `npm test`, it sets up what
# the benchmarks need itself, on a Debian 12 machine as root: the npm dependencies, the Debian
# tools (test/env/tools.sh), the local OpenStack (test/env/openstack/up.sh) and Salt from PyPI
# (test/env/salt/install.sh, cached outside the clone) - only for the benchmarks that need them.
# Then it runs every benchmark in bench/ (or those whose file name contains <name>) one after
# another (bench/run.ts); each prints its figures and their ratios to a baseline measured in the
# same run. The local OpenStack is stopped at the end if this command started it, unless
# DC_KEEP_SERVICES=1. Set-up output goes to test/.out/bench-*.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

only="${1:-}"
out="test/.out"
mkdir -p "${out}"

# What each benchmark needs besides Node.js; a benchmark not listed gets everything.
needs() { # file name
    case "$1" in
    mock-program.ts | replay-speed.ts | pools-decide.ts) echo "" ;;
    workerpool-nova.ts) echo "openstack" ;;
    # The service runs on the head node's Node.js (24): its deployed options (--lite-mode) leave
    # this machine's Node.js 20 without WebAssembly, which its HTTP client needs.
    autoscaler-scale.ts) echo "openstack salt tools node-lts" ;;
    service-memory.ts) echo "node-lts" ;;
    dashboard-render.ts) echo "tools" ;;
    *) echo "openstack salt tools node-lts" ;;
    esac
}
need_openstack=0
need_salt=0
need_node_lts=0
need_tools=0
selected=0
for file in bench/*.ts; do
    name="$(basename "${file}")"
    [ "${name}" = run.ts ] && continue
    [ -n "${only}" ] && [[ ${name} != *"${only}"* ]] && continue
    selected=$((selected + 1))
    for what in $(needs "${name}"); do
        case "${what}" in
        openstack) need_openstack=1 ;;
        salt) need_salt=1 need_node_lts=1 ;;
        node-lts) need_node_lts=1 ;;
        tools) need_tools=1 ;;
        esac
    done
done
if [ "${selected}" -eq 0 ]; then
    echo "npm run bench: no benchmark in bench/ matches \"${only}\"" >&2
    exit 2
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-fund --no-audit
fi
if [ "${need_tools}" = 1 ]; then
    DC_TOOLS_LOG="${out}/bench-tools.log" bash test/env/tools.sh
fi

# Shows the end of a set-up log and stops.
failed() { # log what
    echo "---- last lines of $1" >&2
    tail -n 40 "$1" >&2
    echo "npm run bench: $2 failed; see $1" >&2
    exit 1
}

osbox="test/env/openstack"
osbox_started_here=0
cleanup() {
    if [ "${osbox_started_here}" = 1 ]; then
        if [ "${DC_KEEP_SERVICES:-0}" = 1 ]; then
            echo "== the local OpenStack keeps running (DC_KEEP_SERVICES=1); stop it with: bash ${osbox}/down.sh"
        else
            echo "== stopping the local OpenStack this command started (DC_KEEP_SERVICES=1 keeps it)"
            bash "${osbox}/down.sh" >>"${out}/bench-openstack.log" 2>&1 || true
        fi
    fi
}
trap cleanup EXIT
# An interrupted run still stops what it started.
trap 'exit 130' INT TERM

if [ "${need_openstack}" = 1 ]; then
    if bash "${osbox}/status.sh" >/dev/null 2>&1; then
        echo "== the local OpenStack is up"
    else
        osbox_started_here=1
        echo "== starting the local OpenStack (log: ${out}/bench-openstack.log)"
    fi
    bash "${osbox}/up.sh" >"${out}/bench-openstack.env" 2>"${out}/bench-openstack.log" ||
        failed "${out}/bench-openstack.log" "${osbox}/up.sh"
    set -a
    # shellcheck disable=SC1091
    source "${out}/bench-openstack.env"
    set +a
fi
if [ "${need_salt}" = 1 ]; then
    echo "== Salt from PyPI (log: ${out}/bench-salt.log)"
    DC_SALT_VENV="$(bash test/env/salt/install.sh 2>"${out}/bench-salt.log")" ||
        failed "${out}/bench-salt.log" "test/env/salt/install.sh"
    export DC_SALT_VENV
fi
if [ "${need_node_lts}" = 1 ]; then
    # The service runs on the head node's Node.js, as deployed (test/helpers/serviceNode.ts).
    echo "== the head node's Node.js (log: ${out}/bench-node-lts.log)"
    DC_NODE_LTS="$(bash test/env/node-lts.sh 2>"${out}/bench-node-lts.log")" ||
        failed "${out}/bench-node-lts.log" "test/env/node-lts.sh"
    export DC_NODE_LTS
fi

node --import tsx bench/run.ts ${only:+"${only}"}
