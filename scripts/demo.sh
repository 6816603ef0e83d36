#!/usr/bin/env bash
# `npm run demo`: Dynamic Cluster on this one machine, for anyone without a cloud. Brings up the
# local OpenStack the tests use (test/env/openstack: Keystone, Nova with its libvirt driver under
# QEMU, Neutron, Cinder on a one-node Ceph; Debian's packages, bound to 127.0.0.1 and to a bridge
# of this machine in 10.199.113.0/24 that nothing routes), builds the Pulumi CLI from Go modules
# and the Debian 12 image (both cached), deploys a small cluster into VMs with `pulumi up`
# exactly as on a cloud, and prints how to log in, submit a job and open the dashboard.
#
# Usage: npm run demo             bring it up (about 15 minutes once the caches are warm)
#        npm run demo -- down     remove the cluster, its volume and key, and stop the OpenStack
#        npm run demo -- status   what is deployed
# Needs root (the local OpenStack starts libvirt, Ceph and network bridges). State and logs go to
# ${DC_DEMO_DIR:-/var/tmp/dc-demo}; the stack's settings to Pulumi.demo.yaml here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DEMO=${DC_DEMO_DIR:-/var/tmp/dc-demo}
STACK=demo
KEY_NAME=dc-demo
T0=$(date +%s)

step() { printf '[demo %4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
fail() {
    printf '[demo %4ds] FAILED: %s\n' "$(($(date +%s) - T0))" "$*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root: the local OpenStack starts libvirt, Ceph and network bridges."
mkdir -p "${DEMO}"
chmod 0700 "${DEMO}"

# The Pulumi CLI built from Go modules (test/env/pulumi/build.sh; cached), with its own home.
pulumi_cli() {
    local toolchain
    toolchain=$(bash test/env/pulumi/build.sh 2>>"${DEMO}/pulumi-build.log") ||
        fail "building the Pulumi CLI (log: ${DEMO}/pulumi-build.log)"
    mkdir -p "${DEMO}/pulumi-home" "${DEMO}/state"
    ln -sfn "${toolchain}/home/plugins" "${DEMO}/pulumi-home/plugins"
    export PULUMI_HOME="${DEMO}/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true \
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_IGNORE_AMBIENT_PLUGINS=true \
        NO_COLOR=1 PULUMI_CONFIG_PASSPHRASE_FILE="${DEMO}/passphrase"
    [ -s "${DEMO}/passphrase" ] || (umask 077 && head -c 24 /dev/urandom | base64 >"${DEMO}/passphrase")
    PULUMI="${toolchain}/bin/pulumi"
    "${PULUMI}" login "file://${DEMO}/state" >/dev/null
}

# The local OpenStack (idempotent: about a second when it already runs); its demo user's env.
openstack_up() {
    bash test/env/openstack/up.sh >"${DEMO}/openstack.env" 2>"${DEMO}/openstack.log" ||
        fail "the local OpenStack did not start (log: ${DEMO}/openstack.log)"
    set -a
    # shellcheck disable=SC1091 # written just now
    . "${DEMO}/openstack.env"
    set +a
}

# The head's floating IP, the dashboard password: the stack's outputs.
output() { "${PULUMI}" stack output --stack "${STACK}" --show-secrets "$1"; }

down() {
    step "stopping: pulumi destroy (log: ${DEMO}/destroy.log)"
    openstack_up
    pulumi_cli
    if "${PULUMI}" stack select "${STACK}" >/dev/null 2>&1; then
        "${PULUMI}" destroy --stack "${STACK}" --yes --skip-preview --non-interactive \
            >"${DEMO}/destroy.log" 2>&1 || fail "pulumi destroy (log: ${DEMO}/destroy.log)"
        "${PULUMI}" stack rm --stack "${STACK}" --yes --non-interactive >/dev/null
    fi
    rm -f "${ROOT}/Pulumi.${STACK}.yaml"
    openstack keypair delete "${KEY_NAME}" >/dev/null 2>&1 || true
    step "stopping the local OpenStack (its state stays in /var/tmp/dc-osbox)"
    bash test/env/openstack/down.sh >"${DEMO}/openstack-down.log" 2>&1
    step "removed"
}

status() {
    openstack_up
    pulumi_cli
    "${PULUMI}" stack --stack "${STACK}" 2>/dev/null ||
        echo "No demo cluster is deployed: npm run demo"
}

up() {
    [ -d node_modules ] || { step "installing npm dependencies"; npm ci --no-fund --no-audit >/dev/null; }
    step "local OpenStack (log: ${DEMO}/openstack.log)"
    openstack_up
    step "Pulumi CLI 3.248 from Go modules (cached; log: ${DEMO}/pulumi-build.log)"
    pulumi_cli
    step "Debian 12 image (cached by content; log: ${DEMO}/image.log)"
    local image_dir image
    image_dir=$(bash scripts/image/build-debian.sh 2>>"${DEMO}/image.log") ||
        fail "building the image (log: ${DEMO}/image.log)"
    image=$(npx tsx scripts/image/upload.ts "${image_dir}" 2>>"${DEMO}/image.log" |
        sed -n 's/^pulumi config set --path headNode.image //p')
    [ -n "${image}" ] || fail "uploading the image to Glance (log: ${DEMO}/image.log)"

    [ -s "${DEMO}/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C dc-demo -f "${DEMO}/id_ed25519"
    if ! openstack keypair show "${KEY_NAME}" >/dev/null 2>&1; then
        openstack keypair create --public-key "${DEMO}/id_ed25519.pub" "${KEY_NAME}" >/dev/null
    fi
    # The guests' external network and the gateway the head's service reaches the APIs through.
    local users_cidr gateway
    # An admin's read: a project does not see the subnets of another project's network.
    users_cidr=$(
        set -a
        # shellcheck disable=SC1091 # written by up.sh
        . /var/tmp/dc-osbox/admin-openrc
        openstack subnet show dc-vm-public-v4 -f value -c cidr
    ) || fail "the local OpenStack has no external network of real guests (dc-vm-public-v4)"
    gateway=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_network(sys.argv[1])[2])' "${users_cidr}")

    step "stack ${STACK}: settings in Pulumi.${STACK}.yaml"
    "${PULUMI}" stack select --create "${STACK}" --non-interactive >/dev/null 2>&1
    local setting
    while IFS='|' read -r -a setting; do
        "${PULUMI}" config set --stack "${STACK}" "${setting[@]}" >/dev/null
    done <<EOF
keyName|${KEY_NAME}
allowedCidr|${users_cidr}
externalNetwork|dc-vm-public
sshUser|debian
--path|headNode.flavor|dc.vm.large
--path|headNode.image|${image}
--path|workers.flavor|dc.vm
--path|workers.image|${image}
--path|workers.min|0
--path|workers.max|2
--path|workers.idleTimeout|300
--path|data.size|4
--path|data.volumeType|ceph
--path|data.protect|false
--path|users[0].name|fred
--path|users[0].uid|1001
--path|users[0].sshKeys[0]|$(cat "${DEMO}/id_ed25519.pub")
serviceAuthUrl|http://${gateway}:5000/v3
serviceInterface|admin
EOF
    "${PULUMI}" config set --stack "${STACK}" --secret sshPrivateKey <"${DEMO}/id_ed25519" >/dev/null

    step "pulumi up: network, head VM, its highstate (about 10 minutes; log: ${DEMO}/up.log)"
    "${PULUMI}" up --stack "${STACK}" --yes --skip-preview --non-interactive >"${DEMO}/up.log" 2>&1 ||
        fail "pulumi up (the end of ${DEMO}/up.log says which step; consoles: openstack console log show dc-head)"
    local head password
    head=$(output headAddress)
    password=$(output dashboardPassword)
    step "up in $(( ($(date +%s) - T0) / 60 )) minutes"
    cat <<EOF

Dynamic Cluster runs in VMs on this machine (reachable from here only).

  Log in as the cluster user fred:
      ssh -i ${DEMO}/id_ed25519 fred@${head}
  Submit a job from /data (the service boots a worker VM for it: about 3 minutes here):
      cd /data/home/fred && sbatch -N 1 -o hello-%j.out --wrap 'echo hello from \$(hostname)'
      squeue; sinfo          # or, as Torque users do: qsub script.pbs; qstat
  The dashboard (self-signed certificate):
      https://${head}/dashboard/   user admin, password ${password}
  The admin account: ssh -i ${DEMO}/id_ed25519 debian@${head}
  Remove everything:  npm run demo -- down

EOF
}

case "${1:-up}" in
up) up ;;
down) down ;;
status) status ;;
*) fail "unknown command '$1': use npm run demo, npm run demo -- down or npm run demo -- status" ;;
esac
