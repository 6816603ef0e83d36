#!/usr/bin/env bash
# The project's test command (`npm test`). On a fresh machine it does all set-up itself:
# npm dependencies, Debian tools (test/env/tools.sh), then, in the background while the unit
# stage runs: the real local OpenStack (test/env/openstack/up.sh), the real Pulumi toolchain built
# from Go modules (test/env/pulumi/build.sh) and Salt from PyPI (test/env/salt/install.sh). The
# last two are cached outside the clone, in ${DC_CACHE_DIR:-/var/cache/dynamic-cluster}.
# Stages: type check, lint, unit tests (one process per file), then integration tests against
# real services, one file at a time. `npm test -- unit` or `npm test -- integration` runs one
# stage. Services this script started are stopped at the end unless DC_KEEP_SERVICES=1. Before the
# integration stage's services start, test/env/sweep.sh stops what an interrupted earlier run left,
# and the local OpenStack starts from a fresh state (DC_OSBOX_KEEP_STATE=1 keeps it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stage="${1:-all}"
case "${stage}" in all | unit | integration) ;; *)
    echo "usage: npm test [-- all|unit|integration]" >&2
    exit 2
    ;;
esac
out="test/.out"
# The no-leaks check looks only at what this run created: it compares the temporary directory
# with this list of what it held at the start (the start time is the fallback; the rule is in
# test/helpers/leaks.ts).
DC_TEST_RUN_STARTED="$(date +%s)"
mkdir -p "${out}"
DC_TEST_TMP_BEFORE="${PWD}/${out}/tmp-at-start.txt"
find "${TMPDIR:-/tmp}" -mindepth 1 -maxdepth 1 -name 'dc-*' -printf '%f\n' >"${DC_TEST_TMP_BEFORE}"
export DC_TEST_RUN_STARTED DC_TEST_TMP_BEFORE

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-fund --no-audit
fi
# Debian tools: one line per step here, apt's output in the log (its end on failure).
DC_TOOLS_LOG="${PWD}/${out}/tools.log" bash test/env/tools.sh
# The system accounts the head's states and firewall rules name (salt, nginx, graphite).
bash test/env/accounts.sh

# What an interrupted earlier run left (its namespaces and daemons), before anything of this run
# starts: the sweep stops processes by the test directories they name.
if [ "${stage}" != unit ]; then
    bash test/env/sweep.sh
fi

# The local OpenStack starts from a fresh state (a snapshot: about a minute), so that nothing an
# interrupted earlier run created in it (a stack's floating IP, servers, volumes) meets this run.
# DC_OSBOX_KEEP_STATE=1 keeps a running box and its state instead (a developer's quicker loop).
osbox_pid=""
osbox_started_here=0
osbox="test/env/openstack"
if [ "${stage}" != unit ] && [ -f "${osbox}/up.sh" ]; then
    osbox_reset=1
    if [ "${DC_OSBOX_KEEP_STATE:-0}" = 1 ]; then
        osbox_reset=0
        if ! bash "${osbox}/status.sh" >/dev/null 2>&1; then
            osbox_started_here=1
        fi
    else
        osbox_started_here=1
    fi
    OSBOX_RESET="${osbox_reset}" bash "${osbox}/up.sh" >"${out}/openstack.env" 2>"${out}/openstack.log" &
    osbox_pid=$!
fi

# Builds that the integration stage needs, started now (each logs to test/.out/<name>.log and
# prints its result, a directory, to test/.out/<name>.path).
background_pids=()
background_names=()
start_background() { # name command...
    local name=$1
    shift
    "$@" >"${out}/${name}.path" 2>"${out}/${name}.log" &
    background_pids+=("$!")
    background_names+=("${name}")
}
if [ "${stage}" != unit ]; then
    start_background pulumi-toolchain bash test/env/pulumi/build.sh
    start_background salt bash test/env/salt/install.sh
    start_background node-lts bash test/env/node-lts.sh
    # The Debian 12 image the real-machine tests boot (cached by content; a cold build takes
    # several minutes: debootstrap, the family map's packages, Salt, Graphite, Node.js).
    start_background image-debian bash scripts/image/build-debian.sh
fi
# Waits for the background build NAME (in this shell: `wait` needs its parent); shows its log and
# stops when it failed. Its result is then in test/.out/NAME.path.
finish_background() { # name
    local i
    for i in "${!background_names[@]}"; do
        [ "${background_names[$i]}" = "$1" ] || continue
        if ! wait "${background_pids[$i]}"; then
            tail -n 40 "${out}/$1.log" >&2
            echo "$1 failed; see ${out}/$1.log" >&2
            exit 1
        fi
        return 0
    done
    echo "no background build named $1" >&2
    exit 1
}

cleanup() {
    if [ "${osbox_started_here}" = 1 ] && [ "${DC_KEEP_SERVICES:-0}" != 1 ]; then
        bash "${osbox}/down.sh" >>"${out}/openstack.log" 2>&1 || true
    fi
}
trap cleanup EXIT

if [ "${stage}" != integration ]; then
    echo "== type check"
    npx tsc --noEmit -p .
    npx tsc --noEmit -p autoscaler/dashboard/page
    echo "== lint"
    npx eslint .
    npx prettier --check . >/dev/null || { npx prettier --check . || true; echo "formatting: run npm run format" >&2; exit 1; }
    echo "== unit tests"
    node --import tsx --test test/unit/*.test.ts
fi

if [ "${stage}" != unit ]; then
    # Salt from PyPI, pinned (a cold install takes about a minute); the real Pulumi CLI, language
    # host and providers (a cold build takes tens of minutes; then a second).
    echo "== waiting for Salt (log: ${out}/salt.log)"
    finish_background salt
    DC_SALT_VENV="$(cat "${out}/salt.path")"
    # The head node's Node.js (seconds cold), for test/integration/service-bundle-node-lts.test.ts.
    finish_background node-lts
    DC_NODE_LTS="$(cat "${out}/node-lts.path")"
    echo "== waiting for the Pulumi toolchain (log: ${out}/pulumi-toolchain.log)"
    finish_background pulumi-toolchain
    DC_PULUMI_TOOLCHAIN="$(cat "${out}/pulumi-toolchain.path")"
    echo "== waiting for the Debian 12 image (log: ${out}/image-debian.log)"
    finish_background image-debian
    DC_IMAGE_DEBIAN="$(cat "${out}/image-debian.path")"
    export DC_SALT_VENV DC_PULUMI_TOOLCHAIN DC_NODE_LTS DC_IMAGE_DEBIAN
    shopt -s nullglob
    integration=(test/integration/*.test.ts)
    if [ -n "${osbox_pid}" ]; then
        echo "== waiting for the local OpenStack (log: ${out}/openstack.log)"
        if ! wait "${osbox_pid}"; then
            tail -n 60 "${out}/openstack.log" >&2
            echo "test/env/openstack/up.sh failed; see ${out}/openstack.log" >&2
            exit 1
        fi
        set -a
        # shellcheck disable=SC1091
        source "${out}/openstack.env"
        set +a
    fi
    if [ "${#integration[@]}" -gt 0 ]; then
        echo "== integration tests (real services)"
        # A file's tests share one 40-minute limit (node:test times the whole file too): the VM
        # deployment (vm-cluster) runs about 25 minutes here; a test that hangs still ends.
        node --import tsx --test --test-concurrency=1 --test-timeout=2400000 "${integration[@]}"
    fi
fi
