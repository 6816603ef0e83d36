#!/usr/bin/env bash
# Installs the Debian packages the tests need, listed one per line in test/env/packages/*.txt.
# Idempotent: installs only what is missing, never upgrades what is there, and runs
# `apt-get update` only when a package is missing and cannot be found in the current lists.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

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
echo "test/env/tools.sh: installing ${todo[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start daemons (slurmctld, nginx, nfs): the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt_opts=(-o DPkg::Lock::Timeout=1200 -y --no-install-recommends)
if ! apt-get "${apt_opts[@]}" install "${todo[@]}" >&2; then
    apt-get -o DPkg::Lock::Timeout=1200 update >&2
    apt-get "${apt_opts[@]}" install "${todo[@]}" >&2
fi
