# shellcheck shell=bash
# Sourced by test/env/openstack/up.sh: a one-node Ceph (Debian 12's Pacific: one monitor, one
# manager, one OSD whose BlueStore lives in a sparse 20 GiB file) behind Cinder's RBD driver, so
# that a volume really attaches to a real guest. This machine's kernel has no iSCSI, NFS,
# device-mapper or NBD, so no other Cinder driver can reach a QEMU guest here; QEMU opens RBD
# images itself (librbd, qemu-block-extra) and needs none of them. Everything binds to 127.0.0.1
# on ports 13300 (msgr2), 13789 (msgr1) and 13800-13899 (OSD, manager), clear of Slurm's 6817/6818
# and of the ephemeral range the tests' free ports come from.
#
# Uses up.sh's ST, ETC, LOG, RUN, start_bg, alive, say and die. State: $ST/ceph (the monitor's
# store, the OSD's block file, the keys); config: $ETC/ceph. The cluster is made once and kept
# (OSBOX_RESET=1 wipes it with the rest); the pool `volumes` and the user client.cinder (rbd
# profile on that pool only) are ensured on every start.

CEPH_MON_V2=127.0.0.1:13300
CEPH_MON_V1=127.0.0.1:13789
# The libvirt secret Nova's guests open the volumes with (its value: client.cinder's key).
CEPH_SECRET_UUID=0b5b0ac5-6e3f-4c8e-9d59-1a7c0d2e0c11

ceph_cmd() { ceph -c "$ETC/ceph/ceph.conf" "$@" 2>>"$LOG/ceph-cli.log"; }

write_ceph_config() { # fsid
  mkdir -p "$ETC/ceph"
  cat >"$ETC/ceph/ceph.conf" <<EOF
[global]
fsid = $1
mon_host = [v2:$CEPH_MON_V2,v1:$CEPH_MON_V1]
public_network = 127.0.0.0/8
ms_bind_port_min = 13800
ms_bind_port_max = 13899
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
# One OSD: one copy of everything, and no warning about it.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
mon_data_avail_warn = 5
run_dir = $ST/ceph/run
admin_socket = $ST/ceph/run/\$cluster-\$name.asok
log_file = $LOG/ceph/\$cluster-\$name.log
# Clients' keys (client.admin, client.cinder) beside this file; the daemons' in their data.
keyring = $ETC/ceph/\$cluster.\$name.keyring
[mon]
mon_data = $ST/ceph/mon/\$cluster-\$id
keyring = \$mon_data/keyring
[osd]
osd_data = $ST/ceph/osd/\$cluster-\$id
keyring = \$osd_data/keyring
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = 21474836480
bluestore_cache_size = 134217728
osd_memory_target = 939524096
[mgr]
mgr_data = $ST/ceph/mgr/\$cluster-\$id
keyring = \$mgr_data/keyring
EOF
}

# Makes the cluster once: monitor store, admin key, OSD 0 (its BlueStore file), manager key.
# The monitor must run for the OSD's and manager's registration: starts it.
ceph_bootstrap() {
  local fsid osd_uuid
  if [ -s "$ST/ceph/fsid" ]; then
    write_ceph_config "$(cat "$ST/ceph/fsid")"
    return 0
  fi
  say "making a one-node Ceph cluster in $ST/ceph"
  rm -rf "$ST/ceph" "$ETC/ceph"
  mkdir -p "$ST/ceph"/{run,mon/ceph-a,osd/ceph-0,mgr/ceph-x} "$LOG/ceph"
  fsid=$(uuidgen)
  write_ceph_config "$fsid"
  local K=$ETC/ceph
  ceph-authtool --create-keyring "$ST/ceph/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$K/ceph.client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  ceph-authtool "$ST/ceph/mon.keyring" --import-keyring "$K/ceph.client.admin.keyring" >/dev/null
  monmaptool --create --addv a "[v2:$CEPH_MON_V2,v1:$CEPH_MON_V1]" --fsid "$fsid" \
    "$ST/ceph/monmap" >/dev/null
  ceph-mon -c "$K/ceph.conf" --mkfs -i a --monmap "$ST/ceph/monmap" \
    --keyring "$ST/ceph/mon.keyring" >>"$LOG/ceph-mkfs.log" 2>&1 || die "ceph-mon --mkfs failed ($LOG/ceph-mkfs.log)"
  start_ceph_mon
  osd_uuid=$(uuidgen)
  [ "$(ceph_cmd osd new "$osd_uuid")" = 0 ] || die "ceph osd new did not give OSD 0 ($LOG/ceph-cli.log)"
  ceph-authtool --create-keyring "$ST/ceph/osd/ceph-0/keyring" --gen-key -n osd.0 >/dev/null
  ceph_cmd auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$ST/ceph/osd/ceph-0/keyring" || die "ceph auth add osd.0 failed"
  ceph-osd -c "$K/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$LOG/ceph-mkfs.log" 2>&1 ||
    die "ceph-osd --mkfs failed ($LOG/ceph-mkfs.log)"
  ceph_cmd auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
    -o "$ST/ceph/mgr/ceph-x/keyring" || die "ceph auth mgr.x failed"
  echo "$fsid" >"$ST/ceph/fsid"
}

start_ceph_mon() {
  mkdir -p "$ST/ceph/run" "$LOG/ceph"
  start_bg ceph-mon ceph-mon -f -c "$ETC/ceph/ceph.conf" -i a
  local _
  for _ in $(seq 1 120); do ceph_cmd -s --connect-timeout 2 >/dev/null && return 0; sleep 0.25; done
  die "the Ceph monitor did not answer on $CEPH_MON_V2 ($LOG/ceph/ceph-mon.a.log)"
}

# Starts the daemons (the monitor may already run) and ensures the pool and Cinder's user.
start_ceph() {
  ceph_bootstrap
  alive ceph-mon || start_ceph_mon
  start_bg ceph-osd ceph-osd -f -c "$ETC/ceph/ceph.conf" -i 0
  start_bg ceph-mgr ceph-mgr -f -c "$ETC/ceph/ceph.conf" -i x
  if ! ceph_cmd osd pool ls | grep -qx volumes; then
    ceph_cmd osd pool create volumes 32 >/dev/null || die "ceph osd pool create volumes failed"
    ceph_cmd osd pool application enable volumes rbd >/dev/null || die "ceph: rbd on volumes failed"
  fi
  ceph_cmd auth get-or-create client.cinder mon 'profile rbd' osd 'profile rbd pool=volumes' \
    mgr 'profile rbd pool=volumes' -o "$ETC/ceph/ceph.client.cinder.keyring" ||
    die "ceph auth client.cinder failed"
}

# After libvirtd runs: the ephemeral secret that holds client.cinder's key for the guests.
define_ceph_secret() {
  local xml=$ST/ceph/secret.xml key
  key=$(ceph_cmd auth get-key client.cinder) || die "ceph auth get-key client.cinder failed"
  cat >"$xml" <<EOF
<secret ephemeral='yes' private='yes'>
  <uuid>$CEPH_SECRET_UUID</uuid>
  <usage type='ceph'><name>client.cinder secret</name></usage>
</secret>
EOF
  virsh -c qemu:///system secret-define "$xml" >/dev/null || die "virsh secret-define failed"
  virsh -c qemu:///system secret-set-value "$CEPH_SECRET_UUID" "$key" >/dev/null 2>&1 ||
    die "virsh secret-set-value failed"
}

# Ready when the OSD is up and the pool's placement groups are active (I/O would block before).
wait_ceph_ready() {
  local _ s
  for _ in $(seq 1 240); do
    s=$(ceph_cmd pg stat --connect-timeout 5 || true)
    if [[ $s =~ ^([0-9]+)\ pgs:\ ([0-9]+)\ active\+clean\; ]] &&
       [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && ceph_cmd osd stat | grep -q "1 up"; then
      return 0
    fi
    sleep 0.5
  done
  die "Ceph's OSD never became ready (last: $s; logs in $LOG/ceph)"
}
