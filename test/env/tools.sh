#!/usr/bin/env bash
# Installs the Debian packages the tests need, listed one per line in test/env/packages/*.txt.
# Idempotent: installs only what is missing, never upgrades what is there, and runs
# `apt-get update` only when a package is missing and cannot be found in the current lists.
# Prints one line per step; apt's own output goes to the log (DC_TOOLS_LOG, default
# test/.out/tools.log), whose end is printed when a step fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
log="${DC_TOOLS_LOG:-${root}/test/.out/tools.log}"

wanted() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "${here}"/packages/*.txt | sort -u | sed '/^$/d'
}

missing() {
    local pkg
    while read -r pkg; do
        if ! dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed"; then
            printf '%s\n' "${pkg}"
        fi
    done < <(wanted)
}

mapfile -t todo < <(missing)
if [ "${#todo[@]}" -eq 0 ]; then
    exit 0
fi
mkdir -p "$(dirname "${log}")"
: >"${log}"
started=$(date +%s)
say() { echo "test/env/tools.sh: $*" >&2; }
# Runs one apt-get step with its output in the log; false when it failed.
step() { # description command...
    local what=$1
    shift
    say "${what} (log: ${log})"
    echo "+ $*" >>"${log}"
    "$@" >>"${log}" 2>&1
}
failed() {
    echo "---- last lines of ${log}" >&2
    tail -n 40 "${log}" >&2
    say "FAILED: $*; see ${log}"
    exit 1
}

export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start daemons (slurmctld, nginx, nfs): the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt_opts=(-o DPkg::Lock::Timeout=1200 -y --no-install-recommends)
if ! step "installing Debian packages: ${todo[*]}" apt-get "${apt_opts[@]}" install "${todo[@]}"; then
    step "that failed; refreshing the package lists (apt-get update)" \
        apt-get -o DPkg::Lock::Timeout=1200 update || failed "apt-get update"
    step "installing them again" \
        apt-get "${apt_opts[@]}" install "${todo[@]}" || failed "apt-get install ${todo[*]}"
fi
say "installed ${#todo[@]} package(s) in $(($(date +%s) - started)) s"
