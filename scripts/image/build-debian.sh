#!/usr/bin/env bash
# Builds the Debian 12 image for the head node and the workers (`npm run image`): a root file
# system with everything the highstate would install already installed, so the first state run
# only configures. Prints the directory that holds it (nothing else on stdout):
#   root.raw     ext4 root file system (label dc-root), for QEMU and for the image upload
#   vmlinuz, initrd.img   the kernel and initramfs inside it, for booting it directly
#   manifest.txt what is inside: packages and versions, Salt, Graphite, Node.js
# What goes in, each from the same source the states and tests use:
# - Debian 12 minbase (debootstrap from this machine's apt mirror) with systemd, Debian's cloud
#   kernel, cloud-init, sshd, locales;
# - every package of osfamilymap.yaml's Debian section (head and worker), installed with their
#   services left stopped (policy-rc.d) and disabled, so a built image is one image for both
#   roles;
# - Salt 3006.28 from PyPI, exactly as test/env/salt/install.sh installs it for the tests (same
#   sdist hash, same lock file), under /opt/saltstack, with salt-call, salt-master and
#   salt-minion on PATH and their systemd units (not enabled: the head's states and the
#   workers' user-data start the one each needs);
# - Graphite in /opt/graphite exactly as head/graphite.sls installs it (same command, same
#   requirements file, marked installed), so the state finds it done;
# - Node.js 24 (test/env/node-lts.sh, the build the service bundle targets) as /usr/bin/node.
# Removed before packing: the MUNGE key a package generated (the cluster's comes from the
# pillar), SSH host keys (cloud-init makes new ones per instance and prints their fingerprints),
# the machine ID, apt's lists and caches.
# Cached by content: ${DC_CACHE_DIR:-/var/cache/dynamic-cluster}/images/debian12-<hash>, where
# the hash covers this script, the family map, the Salt installer, Graphite's requirements and
# the Node.js installer; a complete image is only printed. Needs root on a Debian 12 machine
# with debootstrap and e2fsprogs (test/env/packages/vm.txt).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
say() { echo "scripts/image/build-debian.sh: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    say "must run as root (debootstrap, chroot, mounts)"
    exit 1
fi

map="${root}/salt/dynamic_cluster/osfamilymap.yaml"
salt_installer="${root}/test/env/salt/install.sh"
graphite_requirements="${root}/salt/dynamic_cluster/files/head/graphite/requirements.txt"
node_installer="${root}/test/env/node-lts.sh"
cache_helper="${root}/test/env/cache.sh"
hash=$(cat "${BASH_SOURCE[0]}" "${map}" "${salt_installer}" "${graphite_requirements}" "${node_installer}" \
    "${cache_helper}" | sha256sum | cut -c1-12)
cache="${DC_CACHE_DIR:-/var/cache/dynamic-cluster}"
out="${cache}/images/debian12-${hash}"
stamp_text="debian12 ${hash}"

# shellcheck source=test/env/cache.sh
. "${cache_helper}"
dc_cache_done "${out}" "${out}/root.raw" "${out}/.dc-stamp" "${stamp_text}"
dc_cache_lock "${cache}/images/build.lock"
dc_cache_done "${out}" "${out}/root.raw" "${out}/.dc-stamp" "${stamp_text}"

started=$(date +%s)
# Salt's sdist and wheels come from this machine's cache (test/env/salt/install.sh fills it, under
# its own lock); Node.js from test/env/node-lts.sh's.
bash "${salt_installer}" >/dev/null
node=$(bash "${node_installer}")
work="$(mktemp -d "${cache}/images/build.XXXXXX")"
rootfs="${work}/rootfs"
mounted=()
cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
    rm -rf "${work}"
}
trap cleanup EXIT

# The Debian packages the states install, from the family map (every list of the Debian section).
mapfile -t dc_packages < <(python3 -c '
import sys, yaml
packages = yaml.safe_load(open(sys.argv[1]))["Debian"]["packages"]
print("\n".join(sorted({p for names in packages.values() for p in names})))
' "${map}")
base="systemd-sysv,udev,dbus,linux-image-cloud-amd64,cloud-init,openssh-server,sudo,locales"
base="${base},python3,python3-yaml,python3-cffi-backend,python3-pip,ifupdown,isc-dhcp-client"
base="${base},iproute2,e2fsprogs,netbase,kmod,procps,ca-certificates,rsync,less,curl"

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "${mirror}" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "${mirror}" ] || mirror=http://deb.debian.org/debian
say "debootstrap bookworm from ${mirror} (log: ${work}/debootstrap.log)"
if ! debootstrap --arch=amd64 --variant=minbase --include="${base}" bookworm "${rootfs}" "${mirror}" \
    >"${work}/debootstrap.log" 2>&1; then
    tail -n 30 "${work}/debootstrap.log" >&2
    say "debootstrap failed"
    exit 1
fi

for fs in proc sys dev dev/pts; do
    mount --bind "/${fs}" "${rootfs}/${fs}"
    mounted+=("${rootfs}/${fs}")
done
cp /etc/resolv.conf "${rootfs}/etc/resolv.conf"
# pip inside the build trusts what this machine trusts (its CA bundle may hold a proxy's CA);
# the copy is removed with /tmp/dc before packing, the image keeps Debian's own bundle.
mkdir -p "${rootfs}/tmp/dc"
cp /etc/ssl/certs/ca-certificates.crt "${rootfs}/tmp/dc/build-ca.crt"
in_root() { chroot "${rootfs}" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive PIP_CERT=/tmp/dc/build-ca.crt \
    PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-180}" "$@"; }
# No service starts inside the build (invoke-rc.d asks policy-rc.d).
printf '#!/bin/sh\nexit 101\n' >"${rootfs}/usr/sbin/policy-rc.d"
chmod 0755 "${rootfs}/usr/sbin/policy-rc.d"

say "installing ${#dc_packages[@]} packages of the Debian family map: ${dc_packages[*]}"
if ! in_root apt-get install -y --no-install-recommends "${dc_packages[@]}" >"${work}/apt.log" 2>&1; then
    tail -n 30 "${work}/apt.log" >&2
    say "apt-get install failed"
    exit 1
fi

say "Salt from PyPI (test/env/salt/install.sh)"
# Salt's account, as the Salt Project's deb does (preinst): salt_master.sls gives files to it.
in_root useradd --system --user-group --no-create-home --home-dir /opt/saltstack/salt \
    --shell /usr/sbin/nologin --comment "Salt" salt
mkdir -p "${rootfs}/tmp/dc/salt"
cp "${salt_installer}" "${rootfs}/tmp/dc/salt/install.sh"
cp "${cache_helper}" "${rootfs}/tmp/dc/cache.sh"
printf '#!/bin/sh\n# The image build creates the salt account itself.\n' >"${rootfs}/tmp/dc/accounts.sh"
mkdir -p "${rootfs}/opt/saltstack" "${cache}/salt-pip-cache" "${cache}/salt-dist"
for d in salt-pip-cache salt-dist; do
    mkdir -p "${rootfs}/opt/saltstack/${d}"
    mount --bind "${cache}/${d}" "${rootfs}/opt/saltstack/${d}"
    mounted+=("${rootfs}/opt/saltstack/${d}")
done
if ! salt_venv=$(in_root env DC_CACHE_DIR=/opt/saltstack bash /tmp/dc/salt/install.sh 2>"${work}/salt.log"); then
    tail -n 30 "${work}/salt.log" >&2
    say "installing Salt failed"
    exit 1
fi
for d in salt-pip-cache salt-dist; do
    umount "${rootfs}/opt/saltstack/${d}"
    rmdir "${rootfs}/opt/saltstack/${d}"
done
mounted=("${rootfs}/proc" "${rootfs}/sys" "${rootfs}/dev" "${rootfs}/dev/pts")
ln -sfn "$(basename "${salt_venv}")" "${rootfs}/opt/saltstack/salt"
for cmd in salt-call salt-master salt-minion salt-key salt-run salt; do
    ln -sfn "/opt/saltstack/salt/bin/${cmd}" "${rootfs}/usr/bin/${cmd}"
done
for daemon in master minion; do
    cat >"${rootfs}/etc/systemd/system/salt-${daemon}.service" <<UNIT
[Unit]
Description=The Salt ${daemon^} (Salt 3006.28 from PyPI, Dynamic Cluster image)
Documentation=man:salt-${daemon}(1) https://docs.saltproject.io/en/latest/contents.html
After=network.target

[Service]
LimitNOFILE=100000
Type=simple
ExecStart=/usr/bin/salt-${daemon}
KillMode=process
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
done
mkdir -p "${rootfs}/etc/salt/master.d" "${rootfs}/etc/salt/minion.d"

say "Graphite in /opt/graphite (head/graphite.sls's own command)"
cp "${graphite_requirements}" "${rootfs}/tmp/dc/graphite-requirements.txt"
if ! in_root sh -c 'mkdir -p /opt/graphite && cp /tmp/dc/graphite-requirements.txt /opt/graphite/requirements.txt &&
    python3 -m venv /opt/graphite &&
    /opt/graphite/bin/pip install --quiet --no-cache-dir --no-deps --require-virtualenv -r /opt/graphite/requirements.txt &&
    /opt/graphite/bin/pip check &&
    cp /opt/graphite/requirements.txt /opt/graphite/requirements.installed' >"${work}/graphite.log" 2>&1; then
    tail -n 30 "${work}/graphite.log" >&2
    say "installing Graphite failed"
    exit 1
fi

say "Node.js (test/env/node-lts.sh)"
install -m 0755 "${node}" "${rootfs}/usr/bin/node"

# One image for both roles: the packages' daemons stay disabled until the states enable and start
# what each role runs (MUNGE would also fail at boot without the cluster's key).
in_root systemctl disable --quiet munge slurmctld slurmd nfs-server nginx netfilter-persistent

# The console is what Nova's console log shows: cloud-init's SSH host key fingerprints must not
# be swallowed by a login prompt on it.
ln -sf /dev/null "${rootfs}/etc/systemd/system/serial-getty@ttyS0.service"
printf 'LABEL=dc-root / ext4 defaults,noatime 0 1\n' >"${rootfs}/etc/fstab"
printf 'C.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n' >"${rootfs}/etc/locale.gen"
in_root locale-gen >/dev/null

{
    echo "Dynamic Cluster image, Debian 12, build ${hash}, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "Salt: $(in_root /usr/bin/salt-call --version 2>/dev/null)"
    echo "Node.js: $(in_root /usr/bin/node --version)"
    echo "Graphite: $(grep -E '^(graphite-web|carbon|whisper)==' "${graphite_requirements}" | tr '\n' ' ')"
    echo "Packages:"
    # shellcheck disable=SC2016 # dpkg-query's format, not the shell's
    in_root dpkg-query -W -f='  ${Package} ${Version}\n'
} >"${work}/manifest.txt"

# Nothing instance-specific or secret stays in the image.
rm -f "${rootfs}/usr/sbin/policy-rc.d" "${rootfs}"/etc/ssh/ssh_host_* "${rootfs}/etc/munge/munge.key"
: >"${rootfs}/etc/machine-id"
rm -rf "${rootfs}/tmp/dc" "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/cache/apt/*.bin
in_root apt-get clean
rm -f "${rootfs}/etc/resolv.conf" "${rootfs}/opt/saltstack/salt-install.lock"
for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}"; done
mounted=()

mkdir -p "${work}/out"
cp -L "${rootfs}/vmlinuz" "${work}/out/vmlinuz"
cp -L "${rootfs}/initrd.img" "${work}/out/initrd.img"
mv "${work}/manifest.txt" "${work}/out/manifest.txt"
size_mb=$(($(du -sm "${rootfs}" | cut -f1) * 2 + 1024))
mkfs.ext4 -q -L dc-root -d "${rootfs}" "${work}/out/root.raw" "${size_mb}M" >&2
printf '%s\n' "${stamp_text}" >"${work}/out/.dc-stamp"
rm -rf "${out}"
mv "${work}/out" "${out}"
# Older builds (another hash) are not used any more.
find "${cache}/images" -mindepth 1 -maxdepth 1 -name 'debian12-*' ! -path "${out}" -exec rm -rf {} +
say "built ${out} in $(($(date +%s) - started)) s ($(du -sh --apparent-size "${out}/root.raw" | cut -f1) root, $(du -sh "${out}/root.raw" | cut -f1) used)"
printf '%s\n' "${out}"
