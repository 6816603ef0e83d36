#!/usr/bin/env bash
# `npm run image [-- --no-upload] [-- upload options]`: builds the Debian 12 head/worker image
# (build-debian.sh, cached by content) and, when OpenStack credentials are in the environment
# (OS_AUTH_URL, or OS_CLOUD for clouds.yaml), uploads it to Glance (upload.ts) and prints the
# `pulumi config set` lines that use it. Without credentials or with --no-upload it prints the
# built image's directory and how to upload it later.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"

upload=1
args=()
for arg in "$@"; do
    case "${arg}" in
        --no-upload) upload=0 ;;
        *) args+=("${arg}") ;;
    esac
done

dir=$(bash "${here}/build-debian.sh")
if [ "${upload}" = 0 ] || { [ -z "${OS_AUTH_URL:-}" ] && [ -z "${OS_CLOUD:-}" ]; }; then
    echo "${dir}"
    if [ "${upload}" = 1 ]; then
        echo "No OpenStack credentials in the environment, so nothing was uploaded. To upload it:" >&2
        echo "  source your openrc (or export OS_CLOUD=<cloud>), then: npx tsx scripts/image/upload.ts ${dir}" >&2
    fi
    exit 0
fi
exec "${root}/node_modules/.bin/tsx" "${here}/upload.ts" "${dir}" "${args[@]}"
