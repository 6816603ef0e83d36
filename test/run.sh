#!/usr/bin/env bash
# The project's test command (`npm test`). On a fresh machine it does all set-up itself:
# npm dependencies, Debian tools (test/env/tools.sh), and the real local OpenStack
# (test/env/openstack/up.sh, started in the background while the unit stage runs).
# Stages: type check, lint, unit tests (one process per file), then integration tests against
# real services, one file at a time. `npm test -- unit` or `npm test -- integration` runs one
# stage. Services this script started are stopped at the end unless DC_KEEP_SERVICES=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stage="${1:-all}"
case "${stage}" in all | unit | integration) ;; *)
    echo "usage: npm test [-- all|unit|integration]" >&2
    exit 2
    ;;
esac
out="test/.out"
# The no-leaks check looks only at what this run created.
DC_TEST_RUN_STARTED="$(date +%s)"
export DC_TEST_RUN_STARTED
mkdir -p "${out}"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-fund --no-audit
fi
bash test/env/tools.sh

osbox_pid=""
osbox_started_here=0
osbox="test/env/openstack"
if [ "${stage}" != unit ] && [ -f "${osbox}/up.sh" ]; then
    if ! bash "${osbox}/status.sh" >/dev/null 2>&1; then
        osbox_started_here=1
    fi
    bash "${osbox}/up.sh" >"${out}/openstack.env" 2>"${out}/openstack.log" &
    osbox_pid=$!
fi

cleanup() {
    if [ "${osbox_started_here}" = 1 ] && [ "${DC_KEEP_SERVICES:-0}" != 1 ]; then
        bash "${osbox}/down.sh" >>"${out}/openstack.log" 2>&1 || true
    fi
}
trap cleanup EXIT

if [ "${stage}" != integration ]; then
    echo "== type check"
    npx tsc --noEmit -p .
    echo "== lint"
    npx eslint .
    npx prettier --check . >/dev/null || { npx prettier --check . || true; echo "formatting: run npm run format" >&2; exit 1; }
    echo "== unit tests"
    node --import tsx --test test/unit/*.test.ts
fi

if [ "${stage}" != unit ]; then
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
        node --import tsx --test --test-concurrency=1 --test-timeout=900000 "${integration[@]}"
    fi
fi
