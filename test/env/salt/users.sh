#!/usr/bin/env bash
# Creates the system group and user `salt` on the test machine, as Salt's own packages do when
# they install salt-master (3006+: the RPM's %pre, the deb's preinst): a system group `salt`, a
# system user `salt` in it, no home created (home /opt/saltstack/salt), no login shell. The
# head's states give files to that user and group (salt_master.sls), and
# test/integration/salt-config-permissions.test.ts reads files as it. Debian's slurm packages
# (test/env/packages/salt.txt) create the user `slurm` the same way.
# Idempotent: does nothing when both exist. Prints nothing on stdout (install.sh's stdout is the
# venv's path); fails when a `salt` user exists whose primary group is not `salt`.
set -euo pipefail

# A concurrent run may create them between the look-up and the add: then the add fails and the
# second look-up succeeds (the add's message stays on stderr).
if ! getent group salt >/dev/null; then
    groupadd --system salt || getent group salt >/dev/null
    echo "test/env/salt/users.sh: created the system group salt" >&2
fi
if ! getent passwd salt >/dev/null; then
    useradd --system --gid salt --no-create-home --home-dir /opt/saltstack/salt \
        --shell /usr/sbin/nologin --comment Salt salt || getent passwd salt >/dev/null
    echo "test/env/salt/users.sh: created the system user salt" >&2
fi
if [ "$(id -gn salt)" != salt ]; then
    echo "test/env/salt/users.sh: user salt exists with primary group $(id -gn salt), not salt" >&2
    exit 1
fi
