#!/usr/bin/env bash
# Creates, on the test machine, the system accounts the head node's Rocky packages and states
# create, so that files and firewall rules naming them can be made and checked here as on a head
# node (Debian's packages name theirs differently, or not at all):
# - `salt` (group `salt`, home /opt/saltstack/salt), as Salt's own packages do when they install
#   salt-master (3006+: the RPM's %pre, the deb's preinst); salt_master.sls gives files to it;
# - `nginx` (group `nginx`, home /var/lib/nginx), as Rocky's nginx package does; the head's
#   firewall lets only it reach the service's and graphite-web's loopback ports;
# - `graphite` (group `graphite`, home /opt/graphite/storage), as graphite.sls does; the firewall
#   lets only it reach carbon's cache-query port.
# Debian's slurm packages (test/env/packages) create `slurm` the same way. Each: a system group
# of its name, a system user in it, no home created, no login shell.
# Idempotent: does nothing for an account that exists. Prints nothing on stdout (callers may use
# their stdout); fails when such a user exists whose primary group is not its own.
set -euo pipefail

account() { # name home comment
    local name=$1 home=$2 comment=$3
    # A concurrent run may create it between the look-up and the add: then the add fails and the
    # second look-up succeeds (the add's message stays on stderr).
    if ! getent group "${name}" >/dev/null; then
        groupadd --system "${name}" || getent group "${name}" >/dev/null
        echo "test/env/accounts.sh: created the system group ${name}" >&2
    fi
    if ! getent passwd "${name}" >/dev/null; then
        useradd --system --gid "${name}" --no-create-home --home-dir "${home}" \
            --shell /usr/sbin/nologin --comment "${comment}" "${name}" ||
            getent passwd "${name}" >/dev/null
        echo "test/env/accounts.sh: created the system user ${name}" >&2
    fi
    if [ "$(id -gn "${name}")" != "${name}" ]; then
        echo "test/env/accounts.sh: user ${name} exists with primary group $(id -gn "${name}"), not ${name}" >&2
        exit 1
    fi
}

account salt /opt/saltstack/salt Salt
account nginx /var/lib/nginx "Nginx web server"
account graphite /opt/graphite/storage Graphite
