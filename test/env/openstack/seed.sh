#!/bin/bash
# test/env/openstack/seed.sh save FILE : snapshot the databases, keystone keys and glance
# image of a box that up.sh has just bootstrapped (box must be running).
# Restore happens in up.sh when OSBOX_SEED=FILE and the databases are new.
set -euo pipefail
BOX=${OSBOX_DIR:-/var/tmp/dc-osbox}; ST=$BOX/state
if [ "${1:-}" != save ] || [ -z "${2:-}" ]; then echo "usage: $0 save FILE" >&2; exit 2; fi
out=$(readlink -f "$2")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# The same databases and package versions as DBS and SEED_PKGS in up.sh.
for db in keystone nova_api nova nova_cell0 placement glance neutron cinder; do
  /usr/bin/pg_dump -h 127.0.0.1 -p 15432 -U postgres -Fc -d "$db" -f "$tmp/$db.dump"
done
mkdir -p "$tmp/keystone" "$tmp/glance"
cp -a "$ST/keystone/fernet-keys" "$ST/keystone/credential-keys" "$tmp/keystone/"
cp -a "$ST/glance/images" "$tmp/glance/"
dpkg-query -W -f '${Package}=${Version}\n' keystone python3-keystone python3-nova \
  python3-glance python3-placement python3-neutron python3-cinder | sort >"$tmp/VERSIONS"
tar -czf "$out" -C "$tmp" .
ls -la "$out"
