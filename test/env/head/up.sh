#!/usr/bin/env bash
# Starts an emulated head node for the real-engine deployment test: a host at the head's
# floating IP that the program's provisioning step reaches over real SSH.
#
# What it is: network namespace dch-<tag> holding ADDRESS (the floating IP the local Neutron
# hands out), wired to the machine by a veth whose machine side is GATEWAY (the "workstation"
# the test runs `pulumi` on reaches the head through it); a mount and UTS namespace with host
# name NAME in which /etc, /home, /opt, /srv, /usr/local, /var and /run are overlays on the
# machine's own (every write the provisioning makes lands in DIR/upper/<dir>, never on the
# machine); Debian's real sshd on ADDRESS:22 with fresh host keys; a login user USER (only in
# the overlay's /etc/passwd) with passwordless sudo, as the image's cloud user has, whose
# authorized_keys holds PUBKEY (what cloud-init copies from the Nova key pair).
#
# What it stands in for, and what it replaces (nothing else):
# - the head server Nova boots: the local Nova runs the fake virt driver, so no VM exists;
# - `cloud-init` (bin/cloud-init): reports the boot finished; the head's user-data is checked
#   separately (cloud-init schema in the unit tests; the test reads it back from Nova);
# - `salt-call` (bin/salt-call): Rocky's Salt packages and systemd cannot run here; the stand-in
#   records its arguments and checks what the provisioning delivered (see its header).
#
# Usage: bash test/env/head/up.sh DIR NAME ADDRESS GATEWAY USER PUBKEY_FILE
#        prints the sshd PID; stop with down.sh DIR. Needs root, iproute2, util-linux, sshd.
set -euo pipefail
trap 'echo "emulated head: failed at line ${LINENO}: ${BASH_COMMAND}" >&2' ERR

dir=${1:?usage: up.sh DIR NAME ADDRESS GATEWAY USER PUBKEY_FILE}
name=${2:?name}
address=${3:?address}
gateway=${4:?gateway}
user=${5:?user}
pubkey_file=${6:?pubkey file}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

tag=$(printf '%s' "${dir}" | md5sum | cut -c1-8)
ns="dch-${tag}"
veth="dchv${tag}"
uid=4242
mkdir -p "${dir}"
dir="$(cd "${dir}" && pwd)"
if [ -f "${dir}/netns" ]; then
    echo "emulated head: ${dir} holds a running head; stop it first: bash $(dirname "$0")/down.sh ${dir}" >&2
    exit 1
fi
rm -rf "${dir}/upper" "${dir}/work"
echo "${ns} ${veth}" >"${dir}/netns"

# --- network: ADDRESS inside, GATEWAY on the machine's side
ip netns add "${ns}"
ip link add "${veth}" type veth peer name eth0 netns "${ns}"
ip addr add "${gateway}/24" dev "${veth}"
ip link set "${veth}" up
ip -n "${ns}" link set lo up
ip -n "${ns}" addr add "${address}/24" dev eth0
ip -n "${ns}" link set eth0 up
ip -n "${ns}" route add default via "${gateway}"

# --- the head's own layer over the machine's file system
layers="etc home opt srv usr-local var run"
for layer in ${layers}; do
    mkdir -p "${dir}/upper/${layer}" "${dir}/work/${layer}"
done
etc="${dir}/upper/etc"
cp /etc/passwd /etc/group "${etc}/"
cp /etc/shadow "${etc}/shadow" && chmod 0640 "${etc}/shadow"
echo "${user}:x:${uid}:${uid}:cloud user:/home/${user}:/bin/bash" >>"${etc}/passwd"
echo "${user}:x:${uid}:" >>"${etc}/group"
echo "${user}:*:19000:0:99999:7:::" >>"${etc}/shadow"
printf '127.0.0.1 localhost\n%s %s\n' "${address}" "${name}" >"${etc}/hosts"
echo "${name}" >"${etc}/hostname"
mkdir -p "${etc}/sudoers.d" "${etc}/ssh"
echo "${user} ALL=(ALL) NOPASSWD:ALL" >"${etc}/sudoers.d/90-cloud-user"
chmod 0440 "${etc}/sudoers.d/90-cloud-user"
ssh-keygen -q -t ed25519 -N '' -C "${name}" -f "${etc}/ssh/ssh_host_ed25519_key"
cat >"${etc}/ssh/dc-emulated-head.conf" <<EOF
# sshd of the emulated head node (test/env/head/up.sh)
ListenAddress ${address}:22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
AllowUsers ${user}
LogLevel VERBOSE
EOF
home="${dir}/upper/home/${user}"
mkdir -p "${home}/.ssh"
cp "${pubkey_file}" "${home}/.ssh/authorized_keys"
chmod 0700 "${home}" "${home}/.ssh"
chmod 0600 "${home}/.ssh/authorized_keys"
chown -R "${uid}:${uid}" "${home}"
mkdir -p "${dir}/upper/usr-local/bin" "${dir}/upper/var/log/dc-emulated-head" "${dir}/upper/run/sshd"
install -m 0755 "${here}/bin/cloud-init" "${here}/bin/salt-call" "${dir}/upper/usr-local/bin/"
chmod 0755 "${dir}/upper/run/sshd"

# --- sshd inside the namespaces. nsenter (not `ip netns exec`, which would mount its own /sys)
# then a private mount and UTS namespace where the overlays are mounted.
# shellcheck disable=SC2016 # $1.. belong to the inner shell
nsenter --net="/run/netns/${ns}" unshare --mount --uts --propagation private sh -c '
    set -e
    dir=$1
    for layer in etc home opt srv var run; do
        mount -t overlay overlay \
            -o "lowerdir=/$layer,upperdir=$dir/upper/$layer,workdir=$dir/work/$layer" "/$layer"
    done
    mount -t overlay overlay \
        -o "lowerdir=/usr/local,upperdir=$dir/upper/usr-local,workdir=$dir/work/usr-local" /usr/local
    hostname "$2"
    exec /usr/sbin/sshd -D -f /etc/ssh/dc-emulated-head.conf -E /var/log/dc-emulated-head/sshd.log
' sh "${dir}" "${name}" </dev/null >/dev/null 2>&1 &
pid=$! # sshd logs to its own file; it must not hold the caller's stdout open
echo "${pid}" >"${dir}/sshd.pid"

for _ in $(seq 1 100); do
    if ! kill -0 "${pid}" 2>/dev/null; then
        echo "emulated head: sshd exited; log: ${dir}/upper/var/log/dc-emulated-head/sshd.log" >&2
        cat "${dir}/upper/var/log/dc-emulated-head/sshd.log" >&2 2>/dev/null || true
        exit 1
    fi
    if (exec 3<>"/dev/tcp/${address}/22") 2>/dev/null; then
        echo "${pid}"
        exit 0
    fi
    sleep 0.1
done
echo "emulated head: sshd did not answer on ${address}:22 within 10 s" >&2
exit 1
