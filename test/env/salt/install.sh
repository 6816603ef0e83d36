#!/usr/bin/env bash
# Installs Salt from PyPI, pinned, into a virtualenv in a machine-level cache outside the clone
# (CI clones the repository afresh for every run on the same machine), and prints the venv's
# path on stdout. Idempotent: when the venv for this version and lock file is complete (its
# stamp matches), it prints the path and installs nothing.
#
# How: Salt's sdists do not always carry usable dependency metadata (saltstack/salt#67973,
# #69244), so the dependencies come from the version's own lock file for Linux and Python 3.11
# (requirements/static/pkg/py3.11/linux.lock, inside the sdist, hash pinned below), then Salt
# itself with --no-deps from the same sdist, then `pip check`. The interpreter is Debian's
# python3 (3.11, the version Salt's own packages bundle); timelib and contextvars build from
# source with gcc and the Python headers (test/env/packages/salt.txt).
#
# It also creates the system user and group `salt` that Salt's packages create (with the other
# accounts of test/env/accounts.sh), before anything else, so that a cached venv still gets them
# on a fresh machine.
#
# Environment: DC_CACHE_DIR (default /var/cache/dynamic-cluster) is where the venv, the
# downloaded sdist and pip's cache for it live; removing ${DC_CACHE_DIR}/salt-* makes the next
# run a cold install.
set -euo pipefail

# 3006 is Salt's LTS line (supported to 2027-07-31). 3006.28 is its newest release whose lock
# file installs from PyPI as this machine reaches it: 3006.29 and 3006.30 pin certifi releases
# (2026.10.19, 2026.10.23) it does not have.
SALT_VERSION="3006.28"
SALT_SDIST_SHA256="cb77fce146b3a23efd4af4199a3348b53c614f642df78506b59488c58c530237"
SALT_LOCK="requirements/static/pkg/py3.11/linux.lock"
SALT_LOCK_SHA256="5e2f95fc71599b51133ec8473c665e4e2b600338c465569d109b9144aab3fec9"
PYTHON="/usr/bin/python3"

cache="${DC_CACHE_DIR:-/var/cache/dynamic-cluster}"
venv="${cache}/salt-${SALT_VERSION}-${SALT_LOCK_SHA256:0:12}"
stamp_text="salt ${SALT_VERSION} lock ${SALT_LOCK_SHA256} python ${PYTHON}"

bash "$(dirname "${BASH_SOURCE[0]}")/../accounts.sh"
# shellcheck source=test/env/cache.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cache.sh"

dc_cache_done "${venv}" "${venv}/bin/salt-call" "${venv}/.dc-stamp" "${stamp_text}"
dc_cache_lock "${cache}/salt-install.lock"
# Another run may have finished the install while this one waited for the lock.
dc_cache_done "${venv}" "${venv}/bin/salt-call" "${venv}/.dc-stamp" "${stamp_text}"

log() { echo "test/env/salt/install.sh: $*" >&2; }
started=$(date +%s)
log "installing Salt ${SALT_VERSION} into ${venv}"
export PIP_CACHE_DIR="${cache}/salt-pip-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1
work="$(mktemp -d "${cache}/salt-install.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# The sdist, checked against the pinned hash (kept in the cache for the next cold install).
dist="${cache}/salt-dist"
sdist="${dist}/salt-${SALT_VERSION}.tar.gz"
if ! echo "${SALT_SDIST_SHA256}  ${sdist}" | sha256sum --check --status 2>/dev/null; then
    mkdir -p "${dist}"
    rm -f "${sdist}"
    printf 'salt==%s --hash=sha256:%s\n' "${SALT_VERSION}" "${SALT_SDIST_SHA256}" >"${work}/salt.req"
    "${PYTHON}" -m pip download --quiet --no-deps --no-binary salt --require-hashes \
        -r "${work}/salt.req" -d "${dist}" >&2
fi

tar -xzf "${sdist}" -C "${work}" "salt-${SALT_VERSION}/${SALT_LOCK}"
lock="${work}/salt-${SALT_VERSION}/${SALT_LOCK}"
if ! echo "${SALT_LOCK_SHA256}  ${lock}" | sha256sum --check --status; then
    log "the lock file in the sdist does not have the pinned hash ${SALT_LOCK_SHA256}"
    exit 1
fi

rm -rf "${venv}"
"${PYTHON}" -m venv "${venv}"
if ! {
    "${venv}/bin/python" -m pip install --quiet --use-pep517 -r "${lock}" >&2 &&
        "${venv}/bin/python" -m pip install --quiet --no-deps "${sdist}" >&2 &&
        "${venv}/bin/python" -m pip check >&2 &&
        "${venv}/bin/salt-call" --version >&2
}; then
    rm -rf "${venv}"
    log "installing Salt ${SALT_VERSION} failed"
    exit 1
fi
printf '%s\n' "${stamp_text}" >"${venv}/.dc-stamp"
log "Salt ${SALT_VERSION} installed in $(($(date +%s) - started)) s"
printf '%s\n' "${venv}"
