#!/usr/bin/env bash
# Runs COMMAND as root with an overlay over /etc, in a private mount namespace of its own, so
# that whatever it writes under /etc goes to DIR/upper and the machine's /etc is never touched:
#
#   etc-overlay.sh DIR COMMAND [ARG...]
#
# DIR/upper and DIR/work (created if missing) are overlayfs's upper and work directories; /etc is
# the lower layer. Each call mounts a fresh overlay on the same upper directory, so what one call
# wrote is there for the next, as on a machine whose /etc persists. The namespace has no other
# process: it, and the mount, go away when COMMAND exits. Used by
# test/integration/salt-config-permissions.test.ts. Exit status: COMMAND's; 90 if the sandbox
# could not be set up (then COMMAND did not run).
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: etc-overlay.sh DIR COMMAND [ARG...]" >&2
    exit 2
fi
dir=$1
shift

fail() {
    echo "etc-overlay.sh: $*" >&2
    exit 90
}
if [ -z "${DC_ETC_OVERLAY_OUTER_NS:-}" ]; then
    # Run this script again in a new mount namespace, telling it which one it came from.
    DC_ETC_OVERLAY_OUTER_NS="$(readlink /proc/self/ns/mnt)"
    export DC_ETC_OVERLAY_OUTER_NS
    exec unshare --mount --propagation private -- bash "${BASH_SOURCE[0]}" "${dir}" "$@"
fi
# Never mount over the machine's own /etc: refuse unless this is a new mount namespace.
[ "$(readlink /proc/self/ns/mnt)" != "${DC_ETC_OVERLAY_OUTER_NS}" ] ||
    fail "not in a mount namespace of its own"
unset DC_ETC_OVERLAY_OUTER_NS
mkdir -p "${dir}/upper" "${dir}/work"
mount -t overlay dc-etc-overlay \
    -o "lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work" /etc ||
    fail "cannot mount the overlay over /etc"
[ "$(findmnt --noheadings --output FSTYPE --mountpoint /etc | tail -n 1)" = overlay ] ||
    fail "/etc is not the overlay"
exec "$@"
