#!/usr/bin/env bash
# (Re)starts slurmctld as the head node, in the head's network namespace, with its own UTS
# namespace (host name = SlurmctldHost) and mount namespace (a private /etc/hosts);
# --propagation unchanged keeps /run/netns shared.
# Usage: DC_SLURM_DIR=/path bash test/env/slurm/ctld.sh [slurmctld args]
set -euo pipefail
# shellcheck source=test/env/slurm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
head=$(controller_name)
rm -f "$DIR/run/slurmctld.pid"
# shellcheck disable=SC2016  # $1.. belong to the inner sh
in_head unshare --mount --uts --propagation unchanged \
    sh -c 'mount --bind "$1" /etc/hosts && hostname "$2" && shift 2 && exec "$@"' sh \
    "$DIR/hosts/$head" "$head" slurmctld -f "$SLURM_CONF" "$@"
record_pid slurmctld "$(wait_pidfile "$DIR/run/slurmctld.pid")"
for _ in $(seq 400); do in_head scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.05; done
in_head scontrol ping | grep -q UP
