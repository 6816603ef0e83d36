#!/bin/bash
# The tests' real OpenStack: Debian bookworm's own OpenStack Zed packages - Keystone, Nova,
# Placement, Glance, Cinder (Cinder's own fake volume driver) and Neutron (ML2 and the L3 router
# plugin) - bound to 127.0.0.1 and started by hand (no systemd). Two compute hosts:
# - osbox: Nova's fake virt driver, for the many API-level tests (servers ACTIVE in seconds, no
#   guest runs);
# - osbox-qemu: the libvirt driver with virt_type=qemu (software emulation: this machine's KVM is
#   paravirtual and runs no stock kernel), for tests that boot real guests. Its ports are Linux
#   bridges plugged by the real linuxbridge agent; the DHCP agent (dnsmasq) serves the guests'
#   addresses; the L3 agent routes them and NATs floating IPs onto the host bridge osbox-ext
#   (10.199.113.0/24, or OSBOX_EXT_CIDR; this machine forwards nothing from it and guests open
#   no connection to it, so no guest packet leaves the machine); user data reaches guests on a
#   config drive. Guests reach the APIs only through the gateway namespace osbox-api on that
#   bridge (its address .2 relays to the APIs' 127.0.0.1 ports; the catalog's 'admin'
#   endpoints name it), as a head node's service on a real cloud reaches them. Only flavors that require the trait
#   CUSTOM_OSBOX_QEMU (dc.vm, created here) run there, and only they: the host sits in an
#   aggregate that Nova's isolated-aggregate filter keeps for them.
#
# Usage: bash test/env/openstack/up.sh   idempotent: installs missing packages, starts what is
#                                        stopped, about 1 s when everything is up (services
#                                        started with another version of the configurations
#                                        written here are all restarted)
#        OSBOX_RESET=1 bash up.sh        stop, wipe state, start from scratch (from seed-zed.tgz)
# Stop:  bash test/env/openstack/down.sh  (only what up.sh started, by recorded PIDs)
# Check: /usr/bin/python3 test/env/openstack/smoke.py  (volumes, routers, floating IPs as demo)
# Stdout is only the `export OS_...` lines of the demo user (eval-able); logs go to stderr and
# to $OSBOX_DIR/logs. Also writes $OSBOX_DIR/{openrc,admin-openrc,clouds.yaml}.
set -euo pipefail

BOX=${OSBOX_DIR:-/var/tmp/dc-osbox}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# A database snapshot of a freshly bootstrapped box (same package versions only).
OSBOX_SEED=${OSBOX_SEED:-$HERE/seed-zed.tgz}
ETC=$BOX/etc; ST=$BOX/state; LOG=$BOX/logs; RUN=$BOX/run; LIB=$BOX/lib
# Debian's python, never a pyenv/venv one that may come first on PATH.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PY=/usr/bin/python3
PGBIN=/usr/lib/postgresql/15/bin
PGPORT=15432
DB=postgresql+psycopg2://osbox:osboxpass@127.0.0.1:$PGPORT
RABBIT=rabbit://guest:guest@127.0.0.1:5672/
HOSTNAME_NOVA=osbox
# The compute host of real guests, and the host of the Neutron agents that serve them.
HOSTNAME_QEMU=osbox-qemu
# The host bridge of the guests' external network (floating IPs), and its address.
EXT_BRIDGE=osbox-ext
# OSBOX_EXT_CIDR: another private range, should this one be in use here; up.sh refuses a range
# that overlaps a route of this machine (a registry mirror may sit in a documentation range).
EXT_CIDR=${OSBOX_EXT_CIDR:-10.199.113.1/24}
# The guests' way to the APIs: a network namespace on the external bridge whose one address
# (the range's second) forwards to the APIs on this machine's 127.0.0.1 (api_gateway.py), and
# the catalog's 'admin' endpoints at that address. A head node's service authenticates there
# (`pulumi config set serviceAuthUrl http://<address>:5000/v3`, `serviceInterface admin`). The
# 'admin' interface because Debian's OpenStack services call each other through 'internal'
# (keystonemiddleware's and the keystoneauth adapters' default) and must keep 127.0.0.1.
API_NS=osbox-api
API_PORTS="5000 8774 9696 8776 9292 8778"
API_ADDR=$($PY -c 'import ipaddress, sys; print(ipaddress.ip_interface(sys.argv[1]).network[2])' "$EXT_CIDR" 2>/dev/null || echo "")
export DEBIAN_FRONTEND=noninteractive

T_START=$(date +%s%N)
secs_since() { local d=$(( ($(date +%s%N) - $1) / 100000000 )); printf '%d.%ds' $((d / 10)) $((d % 10)); }
ts() { printf '%7s' "$(secs_since "$T_START")"; }
say() { echo "[osbox $(ts)] $*" >&2; }
die() { echo "[osbox $(ts)] ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

# Pipe through this to drop eventlet's harmless exit-time logging noise.
quiet() { grep -vE "Exception ignored in|^Traceback|^  File |_acquireLock|getcurrent|^    +\^|known eventlet monkey|INFO alembic|^\s+(self|raise|return|acquire|if |with )" || true; }

# ---------------------------------------------------------------- packages
# cinder-volume depends on lvm2, qemu-utils and tgt|open-iscsi: installed, never used (the fake
# driver runs no command). python3-fixtures: the fake driver imports cinder.tests.unit, which
# needs it.
PKGS="keystone nova-api nova-conductor nova-scheduler placement-api glance-api
neutron-server python3-openstackclient rabbitmq-server memcached postgresql-15
uwsgi-core uwsgi-plugin-python3 python3-psycopg2 curl
cinder-api cinder-scheduler cinder-volume python3-fixtures
python3-libvirt libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
genisoimage neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent
ceph-mon ceph-osd ceph-mgr ceph-common qemu-block-extra uuid-runtime"

install_packages() {
  local missing=""
  for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
  done
  if [ -z "$missing" ]; then say "packages already installed"; return; fi
  say "installing:$missing (apt's output: $LOG/apt-install.log)"
  # Never let a package start its daemon: we start everything by hand.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# osbox: no service starts from dpkg\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  # Answer every dbconfig-common / openstack-pkg-tools question with "no".
  debconf-set-selections <<'EOF'
dbconfig-common dbconfig-common/dbconfig-install boolean false
dbconfig-common dbconfig-common/remember-admin-pass boolean false
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
nova-common nova/configure_db boolean false
nova-common nova/configure_rabbit boolean false
nova-common nova/configure_ksat boolean false
nova-common nova/configure_neutron boolean false
nova-common nova/configure_placement boolean false
nova-api novaapi/configure_db boolean false
nova-api nova/configure_api-endpoint boolean false
glance-common glance/configure_db boolean false
glance-common glance/configure_rabbit boolean false
glance-common glance/configure_ksat boolean false
glance-api glance/configure_api-endpoint boolean false
placement-common placement/configure_db boolean false
placement-common placement/configure_ksat boolean false
placement-api placement/configure_api-endpoint boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron/configure_rabbit boolean false
neutron-common neutron/configure_ksat boolean false
neutron-common neutron/configure_nova boolean false
neutron-api neutron/configure_api-endpoint boolean false
cinder-common cinder/configure_db boolean false
cinder-common cinder/configure_rabbit boolean false
cinder-common cinder/configure_ksat boolean false
cinder-common cinder/volume_group string
cinder-api cinder/configure_api-endpoint boolean false
EOF
  local t0; t0=$(date +%s)
  if [ ! -e "$BOX/.apt-updated" ]; then
    apt-get -o DPkg::Lock::Timeout=1200 update >"$LOG/apt-update.log" 2>&1 ||
      { tail -n 30 "$LOG/apt-update.log" >&2; die "apt-get update failed, see $LOG/apt-update.log"; }
    touch "$BOX/.apt-updated"
  fi
  # eatmydata + unsafe-io: dpkg skips its fsync()s (a throwaway CI box).
  echo 'man-db man-db/auto-update boolean false' | debconf-set-selections
  local APT="apt-get -o DPkg::Lock::Timeout=1200 -o Dpkg::Options::=--force-unsafe-io"
  [ -n "${OSBOX_APT_ARCHIVES:-}" ] && { mkdir -p "$OSBOX_APT_ARCHIVES/partial"; APT="$APT -o Dir::Cache::Archives=$OSBOX_APT_ARCHIVES"; }
  command -v eatmydata >/dev/null || $APT install -y --no-install-recommends eatmydata >"$LOG/apt-install.log" 2>&1 || true
  local EMD=""; command -v eatmydata >/dev/null && EMD=eatmydata
  # shellcheck disable=SC2086
  # Only the missing ones: naming an installed package would upgrade it.
  $EMD $APT install -y --no-install-recommends $missing \
      >>"$LOG/apt-install.log" 2>&1 ||
      { tail -n 30 "$LOG/apt-install.log" >&2; die "apt-get install failed, see $LOG/apt-install.log"; }
  say "packages installed in $(( $(date +%s) - t0 ))s"
}

# ---------------------------------------------------------------- helpers
# A recorded PID that runs and is not a zombie (PID 1 here reaps slowly).
alive() {
  local st
  [ -s "$RUN/$1.pid" ] || return 1
  st=$(ps -o stat= -p "$(cat "$RUN/$1.pid")" 2>/dev/null) || return 1
  [[ $st != Z* ]]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # name port timeout
  local _
  for _ in $(seq 1 $(( $3 * 4 ))); do port_open "$2" && return 0; sleep 0.25; done
  die "$1 did not open 127.0.0.1:$2 within $3s (logs in $LOG)"
}
wait_http() { # name url timeout
  local c
  for _ in $(seq 1 $(( $3 * 4 ))); do
    c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$2" 2>/dev/null || true)
    case "$c" in 2*|3*|401) return 0;; esac
    sleep 0.25
  done
  die "$1 did not answer $2 within $3s (last code $c; logs in $LOG)"
}
start_bg() { # name cmd... ; records the PID of the started process
  local name=$1; shift
  if alive "$name"; then return 0; fi
  # 3>&-: fd 3 is this script's real stdout; a daemon holding it would keep `$(up.sh)` waiting.
  nohup "$@" >"$LOG/$name.out" 2>&1 3>&- &
  echo $! >"$RUN/$name.pid"
}
# shellcheck source=test/env/openstack/ceph.sh
. "$HERE/ceph.sh"
psql_q() { /usr/bin/psql -h 127.0.0.1 -p $PGPORT -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

# ---------------------------------------------------------------- configs
write_configs() {
  mkdir -p "$ETC"/{keystone,nova,placement,glance,neutron,cinder,rabbitmq}
  authtoken() { # user service-type
    # service_type lets keystonemiddleware enforce application-credential access rules (the
    # Dynamic Cluster service's credential is restricted by them); without it such tokens get 401.
    cat <<EOF
[keystone_authtoken]
service_type = $2
www_authenticate_uri = http://127.0.0.1:5000/
auth_url = http://127.0.0.1:5000/
memcached_servers = 127.0.0.1:11211
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = ${1}pass
region_name = RegionOne
service_token_roles_required = true
EOF
  }
  svcauth() { # section user
    cat <<EOF
[$1]
region_name = RegionOne
auth_type = password
auth_url = http://127.0.0.1:5000/v3
project_name = service
project_domain_name = Default
user_domain_name = Default
username = $2
password = ${2}pass
EOF
  }
  cache='[cache]
enabled = true
backend = oslo_cache.memcache_pool
memcache_servers = 127.0.0.1:11211'

  # RabbitMQ: loopback only, including Erlang distribution and epmd.
  cat >"$ETC/rabbitmq/rabbitmq.conf" <<'EOF'
listeners.tcp.1 = 127.0.0.1:5672
loopback_users.guest = true
log.file.level = warning
EOF
  : >"$ETC/rabbitmq/rabbitmq-env.conf"
  echo '[].' >"$ETC/rabbitmq/enabled_plugins"

  cat >"$ETC/keystone/keystone.conf" <<EOF
[DEFAULT]
log_file = $LOG/keystone.log
[database]
connection = $DB/keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $ST/keystone/fernet-keys
[fernet_receipts]
key_repository = $ST/keystone/fernet-keys
[credential]
key_repository = $ST/keystone/credential-keys
$cache
EOF

  cp /etc/nova/api-paste.ini "$ETC/nova/api-paste.ini"
  { cat <<EOF
[DEFAULT]
host = $HOSTNAME_NOVA
my_ip = 127.0.0.1
state_path = $ST/nova
instances_path = $ST/nova/instances
transport_url = $RABBIT
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
metadata_listen = 127.0.0.1
osapi_compute_workers = 1
graceful_shutdown_timeout = 5
periodic_fuzzy_delay = 0
metadata_workers = 1
[api]
auth_strategy = keystone
[api_database]
connection = $DB/nova_api
[database]
connection = $DB/nova
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 5
# Hosts in an aggregate that requires a trait (osbox-qemu: CUSTOM_OSBOX_QEMU) take only
# flavors that require it: the fake-driver tests never land on the real-guest host.
enable_isolated_aggregate_filtering = true
[glance]
region_name = RegionOne
[cinder]
# Volume attach/detach goes through Cinder's attachments API, found in the catalog as volumev3
# (Nova's default, spelled out). Requests carry the user's token; the password below is only for
# nova-compute's periodic tasks, which have none.
catalog_info = volumev3::publicURL
os_region_name = RegionOne
auth_type = password
auth_url = http://127.0.0.1:5000/v3
project_name = service
project_domain_name = Default
user_domain_name = Default
username = nova
password = novapass
[oslo_concurrency]
lock_path = $ST/nova/lock
[oslo_messaging_notifications]
driver = noop
[wsgi]
api_paste_config = $ETC/nova/api-paste.ini
[vnc]
enabled = false
[spice]
enabled = false
[service_user]
send_service_user_token = true
auth_url = http://127.0.0.1:5000/
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = novapass
$cache
EOF
    authtoken nova compute; svcauth placement placement; svcauth neutron neutron
  } >"$ETC/nova/nova.conf"

  { cat <<EOF
[DEFAULT]
log_file = $LOG/placement.log
[api]
auth_strategy = keystone
[placement_database]
connection = $DB/placement
EOF
    authtoken placement placement
  } >"$ETC/placement/placement.conf"

  cp /etc/glance/glance-api-paste.ini "$ETC/glance/glance-api-paste.ini"
  { cat <<EOF
[DEFAULT]
log_file = $LOG/glance-api.log
bind_host = 127.0.0.1
workers = 1
enabled_backends = file:file
[database]
connection = $DB/glance
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = $ST/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $ST/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $ST/glance/tasks
[paste_deploy]
flavor = keystone
[oslo_concurrency]
lock_path = $ST/glance/lock
[oslo_messaging_notifications]
driver = noop
EOF
    authtoken glance image
  } >"$ETC/glance/glance-api.conf"

  cp /etc/neutron/api-paste.ini "$ETC/neutron/api-paste.ini"
  { cat <<EOF
[DEFAULT]
core_plugin = ml2
# The L3 plugin: routers, external gateways and floating IPs, plumbed by the L3 agent on
# osbox-qemu. ML2 itself brings external-net and subnet-service-types (project.py uses both).
service_plugins = router
auth_strategy = keystone
transport_url = $RABBIT
bind_host = 127.0.0.1
bind_port = 9696
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
state_path = $ST/neutron
api_paste_config = $ETC/neutron/api-paste.ini
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
[database]
connection = $DB/neutron
[oslo_concurrency]
lock_path = $ST/neutron/lock
[oslo_messaging_notifications]
driver = noop
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
# linuxbridge binds the ports of osbox-qemu, where its agent runs; osbox_fake (lib/py) binds the
# fake-driver host's, where no packet ever flows.
mechanism_drivers = linuxbridge,osbox_fake
extension_drivers = port_security
[experimental]
# Zed marks the Linux bridge driver experimental (Open vSwitch is the default, and this machine's
# kernel has no openvswitch module).
linuxbridge = true
[ml2_type_vxlan]
vni_ranges = 1:1000
[ml2_type_flat]
flat_networks = *
[securitygroup]
enable_security_group = true
EOF
    authtoken neutron network; svcauth nova nova
  } >"$ETC/neutron/neutron.conf"

  # Cinder with its own test driver (python3-cinder ships cinder/tests/fake_driver.py): an LVM
  # driver whose every command is a no-op and whose one pool reports infinite capacity, so any
  # size fits and nothing touches a disk (no device-mapper on this machine, LVM is impossible).
  # target_helper = fake picks cinder.volume.targets.fake.FakeTarget (LVMVolumeDriver looks the
  # helper up by that name); initialize_connection answers an 'iscsi' connection that Nova's
  # fake virt driver only stores.
  cp /usr/share/cinder-common/api-paste.ini "$ETC/cinder/api-paste.ini"
  { cat <<EOF
[DEFAULT]
host = $HOSTNAME_NOVA
my_ip = 127.0.0.1
state_path = $ST/cinder
transport_url = $RABBIT
auth_strategy = keystone
api_paste_config = $ETC/cinder/api-paste.ini
osapi_volume_listen = 127.0.0.1
osapi_volume_workers = 1
enabled_backends = fake,ceph
# Volumes created without a type get 'fake' (bootstrap.py creates it, bound to this backend);
# Cinder's own __DEFAULT__ type works too (no extra specs: any backend).
default_volume_type = fake
# Like Nova's: the volume service reports its pool at once instead of after up to 60 s, and
# again every 10 s (not 60) should the first report be lost (bootstrap.py pools waits for it).
periodic_fuzzy_delay = 0
periodic_interval = 10
[fake]
volume_driver = cinder.tests.fake_driver.FakeLoggingVolumeDriver
volume_backend_name = fake
target_helper = fake
# Volumes that attach to real guests (volume type ceph): RBD images in the one-node Ceph
# (ceph.sh), opened by QEMU itself with client.cinder's key (the libvirt secret).
[ceph]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = ceph
rbd_pool = volumes
rbd_ceph_conf = $ETC/ceph/ceph.conf
rbd_user = cinder
rbd_secret_uuid = $CEPH_SECRET_UUID
rados_connect_timeout = 10
[database]
connection = $DB/cinder
[coordination]
backend_url = file://$ST/cinder/coordination
[oslo_concurrency]
lock_path = $ST/cinder/lock
[oslo_messaging_notifications]
driver = noop
$cache
EOF
    authtoken cinder volumev3; svcauth nova cinder
  } >"$ETC/cinder/cinder.conf"

  uwsgi_ini() { # name port wsgi-file env processes [extra ini line]
    cat >"$ETC/$1/uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$2
wsgi-file = $3
${4:+env = $4}
master = true
processes = $5
threads = 1
enable-threads = true
lazy-apps = true
die-on-term = true
no-orphans = true
buffer-size = 65535
; uwsgi's http-socket closes every connection: say so, or keep-alive
; clients (python-requests, undici) reuse a dead socket.
add-header = Connection: close
http-auto-chunked = true
http-chunked-input = true
http-raw-body = true
wsgi-manage-chunked-input = true
socket-timeout = 60
name = $1-api
logto = $LOG/$1-api.log
${6:-}
EOF
  }
  uwsgi_ini keystone 5000 /usr/bin/keystone-wsgi-public "OS_KEYSTONE_CONFIG_DIR=$ETC/keystone" 2
  uwsgi_ini placement 8778 /usr/bin/placement-api "OS_PLACEMENT_CONFIG_DIR=$ETC/placement" 1
  uwsgi_ini nova 8774 /usr/bin/nova-api-wsgi "OS_NOVA_CONFIG_DIR=$ETC/nova" 2
  uwsgi_ini glance 9292 /usr/bin/glance-wsgi-api "OS_GLANCE_CONFIG_DIR=$ETC/glance" 1
  # cinder-wsgi reads no config-dir variable: it parses sys.argv, which pyargv sets.
  uwsgi_ini cinder 8776 /usr/bin/cinder-wsgi "" 1 "pyargv = --config-file $ETC/cinder/cinder.conf"

  # nova-compute's console script lives in the nova-compute package, which
  # drags in libvirt/qemu; python3-nova has the code, so call it directly.
  mkdir -p "$BOX/bin"
  cat >"$BOX/bin/nova-compute" <<'EOF'
#!/usr/bin/python3
import sys
from nova.cmd.compute import main
if __name__ == "__main__":
    sys.exit(main())
EOF
  chmod +x "$BOX/bin/nova-compute"
}

# ---------------------------------------------------------------- real guests
# osbox-qemu's configuration, read after nova.conf (oslo.config: the later file wins), libvirtd's,
# and the Neutron agents' (each read after neutron.conf).
write_guest_configs() {
  mkdir -p "$ETC/libvirt" "$ETC/nova/provider-qemu" "$ETC/neutron/agents"
  cat >"$ETC/nova/nova-qemu.conf" <<EOF
[DEFAULT]
host = $HOSTNAME_QEMU
compute_driver = libvirt.LibvirtDriver
state_path = $ST/nova-qemu
instances_path = $ST/nova-qemu/instances
# User data and network configuration on a config drive (genisoimage): no metadata service.
force_config_drive = true
# A guest under software emulation is slow; its port is up only once the agent has wired it.
vif_plugging_timeout = 300
resume_guests_state_on_host_boot = false
[libvirt]
virt_type = qemu
cpu_mode = none
connection_uri = qemu:///system
# RBD volumes (Cinder's ceph backend): the libvirt secret with client.cinder's key.
rbd_user = cinder
rbd_secret_uuid = $CEPH_SECRET_UUID
[compute]
provider_config_location = $ETC/nova/provider-qemu
[oslo_concurrency]
lock_path = $ST/nova-qemu/lock
EOF
  # The trait that ties the real-guest flavor to this host (the aggregate: bootstrap.py guests).
  cat >"$ETC/nova/provider-qemu/osbox-qemu.yaml" <<'EOF'
meta:
  schema_version: '1.0'
providers:
  - identification:
      name: '$COMPUTE_NODE'
    traits:
      additional:
        - CUSTOM_OSBOX_QEMU
EOF
  cat >"$ETC/libvirt/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 0
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$LOG/libvirtd.log"
EOF
  local agent_common="[DEFAULT]
host = $HOSTNAME_QEMU
interface_driver = linuxbridge
[agent]
# The agents run as root: no sudo/rootwrap in front of their commands.
root_helper = env
report_interval = 10"
  cat >"$ETC/neutron/agents/linuxbridge.ini" <<EOF
$agent_common
[linux_bridge]
bridge_mappings = ext:$EXT_BRIDGE
[vxlan]
enable_vxlan = true
local_ip = ${EXT_CIDR%/*}
l2_population = false
[securitygroup]
enable_security_group = true
firewall_driver = iptables
EOF
  cat >"$ETC/neutron/agents/dhcp.ini" <<EOF
$agent_common
dhcp_driver = neutron.agent.linux.dhcp.Dnsmasq
# Metadata comes from the config drive; dnsmasq forwards no query anywhere.
enable_isolated_metadata = false
dnsmasq_local_resolv = false
EOF
  cat >"$ETC/neutron/agents/l3.ini" <<EOF
$agent_common
agent_mode = legacy
enable_metadata_proxy = false
EOF
}

# The host side of real guests, idempotent: the account libvirt's QEMU driver looks up at start,
# its configuration (libvirtd reads it only from /etc/libvirt/qemu.conf; no installed package owns
# that file here), and the external bridge.
prepare_guest_host() {
  getent passwd libvirt-qemu >/dev/null ||
    adduser --system --no-create-home --group --home /var/lib/libvirt libvirt-qemu >/dev/null
  mkdir -p /etc/libvirt
  # No systemd, no cgroup delegation, no AppArmor here: QEMU runs as root, unconfined, in no
  # cgroup of its own.
  cat >/etc/libvirt/qemu.conf <<'EOF'
# Written by Dynamic Cluster's test/env/openstack/up.sh (osbox), for a machine without systemd.
user = "root"
group = "root"
cgroup_controllers = [ ]
security_driver = "none"
namespaces = [ ]
remember_owner = 0
EOF
  # The range must be nobody else's: no route of this machine (but the bridge's own), gateway,
  # name server, or address of a package registry the project installs from (a mirror may sit in
  # a private or documentation range) may fall in it.
  local clash host registries
  registries="deb.debian.org registry.npmjs.org pypi.org files.pythonhosted.org proxy.golang.org
    $(grep -hoE '^(deb|URIs:)[^#]*https?://[^/ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
      sed -E 's|.*https?://||' | sort -u | tr '\n' ' ' || true)"
  clash=$({ ip -4 route show | awk -v br="$EXT_BRIDGE" '$0 !~ (" dev " br " ") {print $1; if ($2 == "via") print $3}'
            awk '$1 == "nameserver" {print $2}' /etc/resolv.conf
            for host in $registries; do getent ahostsv4 "$host" | awk '{print $1}' || true; done; } |
    $PY -c 'import ipaddress, sys
ext = ipaddress.ip_interface(sys.argv[1]).network
for line in sys.stdin:
    dst = line.strip()
    if dst == "default":
        continue
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        continue
    if net.version == 4 and net.overlaps(ext):
        print(dst)' "$EXT_CIDR" | sort -u | tr '\n' ' ')
  [ -z "$clash" ] || die "the guests' external range $EXT_CIDR is in use on this machine ($clash): set OSBOX_EXT_CIDR to a free private range, e.g. 10.199.114.1/24"
  ip link show "$EXT_BRIDGE" >/dev/null 2>&1 || ip link add "$EXT_BRIDGE" type bridge
  # An address of an earlier range goes (the bridge holds only this one).
  ip -4 -o addr show dev "$EXT_BRIDGE" | awk '{print $4}' | while read -r old; do
    [ "$old" = "$EXT_CIDR" ] || ip addr del "$old" dev "$EXT_BRIDGE"
  done
  ip -4 addr show dev "$EXT_BRIDGE" | grep -q "inet $EXT_CIDR" || ip addr add "$EXT_CIDR" dev "$EXT_BRIDGE"
  ip link set "$EXT_BRIDGE" up
  # Guests may reach this machine's bridge address and nothing beyond it: should this machine
  # forward (a Docker host does), nothing that comes in from the bridge is routed anywhere.
  iptables -C FORWARD -i "$EXT_BRIDGE" ! -o "$EXT_BRIDGE" -j DROP 2>/dev/null ||
    iptables -I FORWARD -i "$EXT_BRIDGE" ! -o "$EXT_BRIDGE" -j DROP
  # Nor does a guest open a connection to this machine: only answers to the tests' own
  # connections (SSH to a floating IP) come back in.
  iptables -C INPUT -i "$EXT_BRIDGE" -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP 2>/dev/null ||
    iptables -I INPUT -i "$EXT_BRIDGE" -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP
}
# The guests' API gateway (see API_NS): its namespace, plugged into the external bridge.
start_api_gateway() {
  [ -n "$API_ADDR" ] || die "no gateway address in $EXT_CIDR"
  local prefix=${EXT_CIDR#*/}
  [ -e "/run/netns/$API_NS" ] || ip netns add "$API_NS"
  if ! ip link show osbox-api-h >/dev/null 2>&1; then
    ip link add osbox-api-h type veth peer name osbox-api-g
    ip link set osbox-api-g netns "$API_NS"
  fi
  ip link set osbox-api-h master "$EXT_BRIDGE" up
  ip -n "$API_NS" link set lo up
  ip -n "$API_NS" link set osbox-api-g up
  ip -n "$API_NS" -4 -o addr show dev osbox-api-g | awk '{print $4}' | while read -r old; do
    [ "$old" = "$API_ADDR/$prefix" ] || ip -n "$API_NS" addr del "$old" dev osbox-api-g
  done
  ip -n "$API_NS" -4 addr show dev osbox-api-g | grep -q "inet $API_ADDR/$prefix" ||
    ip -n "$API_NS" addr add "$API_ADDR/$prefix" dev osbox-api-g
  # shellcheck disable=SC2086 # one argument per port
  start_bg api-gateway $PY "$LIB/api_gateway.py" "$API_NS" "$API_ADDR" $API_PORTS
}
# ---------------------------------------------------------------- helpers in python
# Written by this script so that up.sh is all one needs to copy.
write_lib() {
  mkdir -p "$LIB/py/osbox_neutron" "$LIB/py/osbox_neutron-0.1.dist-info"
  cat >"$LIB/api_gateway.py" <<'OSBOX_PY_EOF'
#!/usr/bin/python3
"""Forwards TCP connections from an address inside a network namespace to 127.0.0.1.

Usage: api_gateway.py NETNS ADDRESS PORT...
The listening sockets are opened inside NETNS (setns, then back to this process's own
namespace), so ADDRESS:PORT exists only there; each connection is relayed to 127.0.0.1:PORT of
the namespace this process runs in. One process, no threads: asyncio relays both directions,
passing a half-close on.
"""
import asyncio
import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'setns: ' + os.strerror(err))


def listen_in(netns, address, ports):
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    target = os.open('/run/netns/' + netns, os.O_RDONLY)
    socks = []
    _setns(target)
    try:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(128)
            sock.setblocking(False)
            socks.append((port, sock))
    finally:
        _setns(home)
        os.close(home)
        os.close(target)
    return socks


async def relay(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


def handler(port):
    async def handle(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection('127.0.0.1', port)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(relay(client_reader, up_writer),
                                 relay(up_reader, client_writer))
        finally:
            for w in (up_writer, client_writer):
                w.close()
    return handle


async def main(netns, address, ports):
    servers = [await asyncio.start_server(handler(port), sock=sock)
               for port, sock in listen_in(netns, address, ports)]
    print('api_gateway: %s:%s in %s -> 127.0.0.1' % (address, ','.join(map(str, ports)), netns),
          flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == '__main__':
    asyncio.run(main(sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]))
OSBOX_PY_EOF
  cat >"$LIB/bootstrap.py" <<'OSBOX_PY_EOF'
#!/usr/bin/python3
"""Idempotent API-level bootstrap for osbox.

phase "keystone": projects, users, roles, services, endpoints.
phase "cloud":    flavors, the tiny image, the volume type.
phase "guests":   the real-guest flavors, the aggregate that isolates osbox-qemu, the volume
                  type ceph.
phase "pools":    waits until the volume scheduler knows every volume backend.
phase "canary":   a server and a volume attached to it, then both deleted.
Talks only to 127.0.0.1.
"""
import sys
import time

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client

AUTH = 'http://127.0.0.1:5000/v3'
REGION = 'RegionOne'
SERVICES = [
    # type, name, url
    ('compute', 'nova', 'http://127.0.0.1:8774/v2.1'),
    ('placement', 'placement', 'http://127.0.0.1:8778'),
    ('image', 'glance', 'http://127.0.0.1:9292'),
    ('network', 'neutron', 'http://127.0.0.1:9696'),
    # Cinder under both names clients look for: Nova's catalog_info and gophercloud v1 (the
    # Pulumi/Terraform OpenStack provider) ask for exactly 'volumev3'; openstacksdk and
    # gophercloud v2 prefer the official 'block-storage'. One API, one URL.
    ('volumev3', 'cinderv3', 'http://127.0.0.1:8776/v3/%(project_id)s'),
    ('block-storage', 'cinder', 'http://127.0.0.1:8776/v3/%(project_id)s'),
]
SERVICE_USERS = ['nova', 'placement', 'glance', 'neutron', 'cinder']
NOVA = 'http://127.0.0.1:8774/v2.1'
CINDER = 'http://127.0.0.1:8776/v3/'  # + project id


def admin_session():
    auth = v3.Password(auth_url=AUTH, username='admin', password='adminpass',
                       project_name='admin', user_domain_id='default',
                       project_domain_id='default')
    return ks_session.Session(auth=auth)


def one(lst):
    return lst[0] if lst else None


def keystone_phase(sess):
    ks = ks_client.Client(session=sess, interface='public')

    def project(name, desc):
        return one(ks.projects.list(name=name, domain='default')) or \
            ks.projects.create(name, 'default', description=desc)

    def role(name):
        return one(ks.roles.list(name=name)) or ks.roles.create(name)

    def user(name, pw, proj):
        return one(ks.users.list(name=name, domain='default')) or \
            ks.users.create(name, domain='default', password=pw,
                            default_project=proj)

    admin_r, member_r, reader_r = role('admin'), role('member'), role('reader')
    service_r = role('service')
    service_p = project('service', 'service users')
    demo_p = project('demo', 'project for tests')
    admin_u = one(ks.users.list(name='admin', domain='default'))
    for n in SERVICE_USERS:
        u = user(n, n + 'pass', service_p)
        ks.roles.grant(admin_r, user=u, project=service_p)
        ks.roles.grant(service_r, user=u, project=service_p)
    demo_u = user('demo', 'demopass', demo_p)
    ks.roles.grant(member_r, user=demo_u, project=demo_p)
    ks.roles.grant(reader_r, user=demo_u, project=demo_p)
    ks.roles.grant(admin_r, user=admin_u, project=demo_p)
    for typ, name, url in SERVICES:
        s = one(ks.services.list(type=typ)) or \
            ks.services.create(name, type=typ)
        have = {e.interface for e in ks.endpoints.list(service=s)}
        for itf in ('public', 'internal', 'admin'):
            if itf not in have:
                ks.endpoints.create(s, url, interface=itf, region=REGION)
    print('keystone: projects/users/roles/endpoints ok')


def cloud_phase(sess, image_file):
    def req(method, url, **kw):
        kw.setdefault('raise_exc', True)
        return sess.request(url, method, **kw)

    nova = 'http://127.0.0.1:8774/v2.1'
    flavors = {f['name']: f for f in
               req('GET', nova + '/flavors').json()['flavors']}
    for fid, name, vcpus, ram, disk in (('1', 'm1.tiny', 1, 512, 1),
                                        ('2', 'm1.small', 1, 1024, 1),
                                        ('3', 'm1.medium', 2, 2048, 1)):
        if name not in flavors:
            req('POST', nova + '/flavors', json={'flavor': {
                'id': fid, 'name': name, 'vcpus': vcpus, 'ram': ram,
                'disk': disk, 'os-flavor-access:is_public': True}})
    glance = 'http://127.0.0.1:9292/v2'
    imgs = req('GET', glance + '/images?name=tiny').json()['images']
    imgs = [i for i in imgs if i['status'] == 'active']
    if imgs:
        image_id = imgs[0]['id']
    else:
        image_id = req('POST', glance + '/images', json={
            'name': 'tiny', 'disk_format': 'raw', 'container_format': 'bare',
            'visibility': 'public', 'min_disk': 0, 'min_ram': 0}).json()['id']
        with open(image_file, 'rb') as f:
            req('PUT', glance + '/images/%s/file' % image_id, data=f.read(),
                headers={'Content-Type': 'application/octet-stream'})
        for _ in range(60):
            st = req('GET', glance + '/images/' + image_id).json()['status']
            if st == 'active':
                break
            time.sleep(0.5)
    # The volume type named in cinder.conf's default_volume_type, bound to the fake backend.
    cinder = CINDER + sess.get_project_id()
    if not [t for t in req('GET', cinder + '/types').json()['volume_types']
            if t['name'] == 'fake']:
        req('POST', cinder + '/types', json={'volume_type': {
            'name': 'fake', 'description': 'osbox: Cinder fake driver',
            'os-volume-type-access:is_public': True,
            'extra_specs': {'volume_backend_name': 'fake'}}})
    print('cloud: flavors m1.tiny/m1.small/m1.medium, image tiny=%s, '
          'volume type fake' % image_id)


# The compute and volume host, and its volume backends (cinder.conf's enabled_backends).
HOST = 'osbox'
VOLUME_BACKENDS = ['fake', 'ceph']
# The real-guest host: flavor, trait and aggregate (see up.sh's header).
GUEST_HOST = 'osbox-qemu'
GUEST_TRAIT = 'CUSTOM_OSBOX_QEMU'
# name, vCPUs, MiB, GiB: a Debian 12 worker, and a head node.
GUEST_FLAVORS = [('dc.vm', 1, 1536, 8), ('dc.vm.large', 1, 2048, 8)]


def guests_phase(sess):
    """Flavors dc.vm and dc.vm.large, which require the trait only osbox-qemu's provider has, and
    the aggregate that keeps osbox-qemu for such flavors (Nova's isolated-aggregate filtering):
    fake-driver flavors never land there, these land nowhere else."""
    def req(method, url, **kw):
        kw.setdefault('raise_exc', True)
        return sess.request(url, method, **kw)

    flavors = {f['name']: f for f in req('GET', NOVA + '/flavors?is_public=None').json()['flavors']}
    for name, vcpus, ram, disk in GUEST_FLAVORS:
        if name in flavors:
            continue
        fid = req('POST', NOVA + '/flavors', json={'flavor': {
            'id': name, 'name': name, 'vcpus': vcpus, 'ram': ram, 'disk': disk,
            'os-flavor-access:is_public': True}}).json()['flavor']['id']
        req('POST', NOVA + '/flavors/%s/os-extra_specs' % fid, json={'extra_specs': {
            'trait:' + GUEST_TRAIT: 'required'}})
    aggs = {a['name']: a for a in req('GET', NOVA + '/os-aggregates').json()['aggregates']}
    agg = aggs.get(GUEST_HOST)
    if agg is None:
        agg = req('POST', NOVA + '/os-aggregates', json={'aggregate': {
            'name': GUEST_HOST}}).json()['aggregate']
    if agg.get('metadata', {}).get('trait:' + GUEST_TRAIT) != 'required':
        req('POST', NOVA + '/os-aggregates/%s/action' % agg['id'], json={'set_metadata': {
            'metadata': {'trait:' + GUEST_TRAIT: 'required'}}})
    if GUEST_HOST not in agg.get('hosts', []):
        req('POST', NOVA + '/os-aggregates/%s/action' % agg['id'], json={'add_host': {
            'host': GUEST_HOST}})
    # Volumes of real guests: the RBD backend (ceph.sh); the default type stays the fake one.
    cinder = CINDER + sess.get_project_id()
    if not [t for t in req('GET', cinder + '/types').json()['volume_types'] if t['name'] == 'ceph']:
        req('POST', cinder + '/types', json={'volume_type': {
            'name': 'ceph', 'description': 'osbox: RBD in the one-node Ceph; attaches to real guests',
            'os-volume-type-access:is_public': True,
            'extra_specs': {'volume_backend_name': 'ceph'}}})
    print('guests: flavors %s run only on %s; volume type ceph' % (
        ', '.join('%s (%d vCPU, %d MiB, %d GiB)' % f for f in GUEST_FLAVORS), GUEST_HOST))


def wait_for(what, get, done, timeout=90):
    """Poll get() every 0.25 s until done(value); return (value, seconds)."""
    t0 = time.time()
    value = get()
    while not done(value) and time.time() - t0 < timeout:
        time.sleep(0.25)
        value = get()
    if not done(value):
        sys.exit('bootstrap: %s: still %r after %ds' % (what, value, timeout))
    return value, time.time() - t0


def pools_phase(sess):
    """Waits until Cinder's scheduler has heard from every volume backend: cinder-volume's
    first report can reach RabbitMQ before the scheduler's fanout exchange exists, and until the
    next one (periodic_interval) every create fails with NoValidBackend."""
    cinder = CINDER + sess.get_project_id()
    want = ['%s@%s' % (HOST, b) for b in VOLUME_BACKENDS]

    def known():
        pools = sess.get(cinder + '/scheduler-stats/get_pools').json()['pools']
        return sorted({p['name'].split('#')[0] for p in pools})

    pools, took = wait_for('the volume scheduler to know ' + ', '.join(want), known,
                           lambda have: all(w in have for w in want), timeout=180)
    if not all(w in pools for w in want):
        sys.exit('pools: the volume scheduler knows %s, not %s (see cinder-*.log)' % (pools, want))
    print('pools: the volume scheduler knows %s (%.1fs)' % (', '.join(pools), took))


def canary_phase(sess):
    """End to end: boot a server with no network and create a 1 GiB volume
    at the same time; attach the volume through Nova until Cinder says in-use
    on that server, detach it until available; delete both."""
    hdr = {'OpenStack-API-Version': 'compute 2.37'}
    cinder = CINDER + sess.get_project_id()
    img = sess.get('http://127.0.0.1:9292/v2/images?name=tiny').json()
    srv = sess.post(NOVA + '/servers', headers=hdr, json={'server': {
        'name': 'osbox-canary', 'imageRef': img['images'][0]['id'],
        'flavorRef': '1', 'networks': 'none'}}).json()['server']
    vol = sess.post(cinder + '/volumes', json={'volume': {
        'name': 'osbox-canary', 'size': 1}}).json()['volume']

    def server():
        return sess.get(NOVA + '/servers/' + srv['id'],
                        headers=hdr).json()['server']['status']

    def volume():
        v = sess.get(cinder + '/volumes/' + vol['id']).json()['volume']
        return v['status'], [a['server_id'] for a in v['attachments']]

    status, t_srv = wait_for('server', server,
                             lambda st: st in ('ACTIVE', 'ERROR'))
    if status != 'ACTIVE':
        sys.exit('canary: server %s' % status)
    _, t_vol = wait_for('volume', volume, lambda v: v[0] != 'creating')
    if volume()[0] != 'available':
        sys.exit('canary: volume %s' % (volume(),))
    sess.post(NOVA + '/servers/%s/os-volume_attachments' % srv['id'],
              headers=hdr, json={'volumeAttachment': {'volumeId': vol['id']}})
    _, t_att = wait_for('attach', volume,
                        lambda v: v == ('in-use', [srv['id']]))
    sess.delete(NOVA + '/servers/%s/os-volume_attachments/%s' %
                (srv['id'], vol['id']), headers=hdr)
    _, t_det = wait_for('detach', volume, lambda v: v == ('available', []))
    sess.delete(cinder + '/volumes/' + vol['id'])
    sess.delete(NOVA + '/servers/' + srv['id'], headers=hdr)
    gone = (lambda url, **kw: lambda: sess.get(
        url, raise_exc=False, **kw).status_code == 404)
    _, t_del = wait_for('server delete',
                        gone(NOVA + '/servers/' + srv['id'], headers=hdr),
                        bool)
    wait_for('volume delete', gone(cinder + '/volumes/' + vol['id']), bool)
    print('canary: server ACTIVE in %.1fs, volume available %.1fs later, '
          'in-use in %.1fs, detached in %.1fs, both deleted in %.1fs' %
          (t_srv, t_vol, t_att, t_det, t_del))


def gateway_phase(sess, address):
    """The 'admin' endpoints at the guests' API gateway (api_gateway.py at address)."""
    ks = ks_client.Client(session=sess, interface='public')
    for svc in ks.services.list():
        for ep in ks.endpoints.list(service=svc, interface='admin'):
            want = ep.url.replace('127.0.0.1', address, 1)
            if ep.url != want:
                ks.endpoints.update(ep, url=want)
    print('keystone: admin endpoints at %s' % address)


def main():
    sess = admin_session()
    for phase in sys.argv[1:]:
        if phase.startswith('gateway='):
            gateway_phase(sess, phase.split('=', 1)[1])
        elif phase == 'keystone':
            keystone_phase(sess)
        elif phase == 'pools':
            pools_phase(sess)
        elif phase == 'guests':
            guests_phase(sess)
        elif phase == 'canary':
            canary_phase(sess)
        elif phase.startswith('cloud='):
            cloud_phase(sess, phase.split('=', 1)[1])
        else:
            sys.exit('unknown phase ' + phase)


if __name__ == '__main__':
    main()
OSBOX_PY_EOF
  # ML2 mechanism driver, found by stevedore through this entry point when
  # neutron-server runs with PYTHONPATH=$LIB/py.
  cat >"$LIB/py/osbox_neutron/mech_fake.py" <<'OSBOX_PY_EOF'
"""ML2 mechanism driver for the hosts of a test box that have no L2 agent.

It binds every port of such a host (vif_type 'ovs'), and marks it ACTIVE, so
that nova-compute with the fake virt driver can boot servers on a network.
No packet ever flows: this only makes the Neutron API/DB behave as if a real
L2 backend had plugged the port. Hosts named in OSBOX_REAL_HOSTS (comma-
separated) run real agents: their ports are left to the real drivers, so a
port that no real driver can bind there fails as it would on a real cloud.
"""
import os

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


class OsboxFakeMechanismDriver(api.MechanismDriver):

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        if context.host in os.environ.get('OSBOX_REAL_HOSTS', '').split(','):
            return
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS,
                                {portbindings.CAP_PORT_FILTER: True,
                                 portbindings.OVS_HYBRID_PLUG: False},
                                status=constants.PORT_STATUS_ACTIVE)
            return
OSBOX_PY_EOF
  : >"$LIB/py/osbox_neutron/__init__.py"
  printf 'Metadata-Version: 2.1\nName: osbox-neutron\nVersion: 0.1\n' \
    >"$LIB/py/osbox_neutron-0.1.dist-info/METADATA"
  printf '[neutron.ml2.mechanism_drivers]\nosbox_fake = osbox_neutron.mech_fake:OsboxFakeMechanismDriver\n' \
    >"$LIB/py/osbox_neutron-0.1.dist-info/entry_points.txt"
}

# ---------------------------------------------------------------- start
start_postgres() {
  if [ ! -s "$ST/pg/PG_VERSION" ]; then
    mkdir -p "$ST/pg"; chown postgres:postgres "$ST/pg"
    setpriv --reuid=postgres --regid=postgres --init-groups \
      $PGBIN/initdb -D "$ST/pg" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$LOG/initdb.log" 2>&1
    cat >>"$ST/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$RUN/pg'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 64MB
EOF
  fi
  mkdir -p "$RUN/pg"; chown postgres:postgres "$RUN/pg"
  if ! alive postgres; then
    rm -f "$ST/pg/postmaster.pid"
    nohup setpriv --reuid=postgres --regid=postgres --init-groups \
      $PGBIN/postgres -D "$ST/pg" >"$LOG/postgres.log" 2>&1 3>&- &
    echo $! >"$RUN/postgres.pid"
  fi
  local _i; for _i in $(seq 1 120); do $PGBIN/pg_isready -q -h 127.0.0.1 -p $PGPORT -U postgres && break; sleep 0.25; done
  psql_q -c "select 1 from pg_roles where rolname='osbox'" | grep -q 1 ||
    psql_q -c "CREATE ROLE osbox LOGIN PASSWORD 'osboxpass'"
  local db
  # FRESH_DB=1: every database is new (a seed can be restored into them). NEW_DBS: how many are
  # new; some but not all are when an older up.sh made the state (then the migrations run).
  NEW_DBS=0
  for db in $DBS; do
    if ! psql_q -c "select 1 from pg_database where datname='$db'" | grep -q 1; then
      psql_q -c "CREATE DATABASE $db OWNER osbox"; NEW_DBS=$((NEW_DBS + 1))
    fi
  done
  FRESH_DB=0; [ "$NEW_DBS" = "$(wc -w <<<"$DBS")" ] && FRESH_DB=1
  return 0
}
# Keep in step with seed.sh, which dumps these databases and stamps these versions.
DBS="keystone nova_api nova nova_cell0 placement glance neutron cinder"
SEED_PKGS="keystone python3-keystone python3-nova python3-glance python3-placement python3-neutron
python3-cinder"
# shellcheck disable=SC2086 # a list of package names
seed_versions() { dpkg-query -W -f '${Package}=${Version}\n' $SEED_PKGS | sort; }

# A seed (lib/seed.sh save) holds the databases, keys and image of a box
# that up.sh bootstrapped: restoring it replaces ~15 slow CLI runs.
restore_seed() { # file -> 0 if restored
  local f=$1 tmp
  [ -f "$f" ] || return 1
  tmp=$(mktemp -d)
  tar -xzf "$f" -C "$tmp"
  if [ "$(cat "$tmp/VERSIONS")" != "$(seed_versions)" ]; then
    say "seed $f was made with other package versions: ignoring it"; rm -rf "$tmp"; return 1
  fi
  local db
  for db in $DBS; do
    /usr/bin/pg_restore -h 127.0.0.1 -p $PGPORT -U postgres -d "$db" --exit-on-error "$tmp/$db.dump" ||
      die "pg_restore $db failed"
  done
  mkdir -p "$ST/keystone" "$ST/glance"
  cp -a "$tmp/keystone/." "$ST/keystone/"
  cp -a "$tmp/glance/." "$ST/glance/"
  rm -rf "$tmp"
}

rabbit_env() {
  export HOME=$ST/rabbitmq ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=4369
  export RABBITMQ_NODENAME=osbox@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=5672 RABBITMQ_DIST_PORT=25672 \
    RABBITMQ_CONFIG_FILE=$ETC/rabbitmq/rabbitmq.conf \
    RABBITMQ_CONF_ENV_FILE=$ETC/rabbitmq/rabbitmq-env.conf \
    RABBITMQ_ENABLED_PLUGINS_FILE=$ETC/rabbitmq/enabled_plugins \
    RABBITMQ_MNESIA_BASE=$ST/rabbitmq/mnesia RABBITMQ_LOG_BASE=$LOG/rabbitmq \
    RABBITMQ_PID_FILE=$RUN/rabbitmq-beam.pid \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
start_rabbit() {
  mkdir -p "$ST/rabbitmq" "$LOG/rabbitmq"
  ( rabbit_env
    # Our own epmd, so that it listens on loopback only and has a known PID.
    start_bg epmd epmd -address 127.0.0.1 -port 4369
    sleep 0.3
    start_bg rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server )
}

# The "quiet" filter hides eventlet noise; failures still stop the script
# (pipefail) and the full output is in $LOG/dbsync-*.log.
dbsync() { # name cmd...
  local name=$1; shift
  if ! "$@" >"$LOG/dbsync-$name.log" 2>&1; then
    quiet <"$LOG/dbsync-$name.log" | tail -20 >&2; die "db sync $name failed"
  fi
}

keystone_db() {
  local KM=(keystone-manage --config-file "$ETC/keystone/keystone.conf")
  mkdir -p "$ST/keystone"
  dbsync keystone "${KM[@]}" db_sync
  [ -e "$ST/keystone/fernet-keys/0" ] || dbsync ks-fernet "${KM[@]}" fernet_setup --keystone-user root --keystone-group root
  [ -e "$ST/keystone/credential-keys/0" ] || dbsync ks-cred "${KM[@]}" credential_setup --keystone-user root --keystone-group root
  dbsync ks-bootstrap "${KM[@]}" bootstrap --bootstrap-password adminpass \
    --bootstrap-admin-url http://127.0.0.1:5000/v3/ \
    --bootstrap-internal-url http://127.0.0.1:5000/v3/ \
    --bootstrap-public-url http://127.0.0.1:5000/v3/ \
    --bootstrap-region-id RegionOne
}
nova_db() {
  local NM=(nova-manage --config-file "$ETC/nova/nova.conf")
  mkdir -p "$ST/nova/instances" "$ST/nova/lock"
  dbsync nova-api "${NM[@]}" api_db sync
  local cells=""
  [ "$FRESH_DB" = 1 ] || cells=$("${NM[@]}" cell_v2 list_cells 2>/dev/null || true)
  case "$cells" in *" cell0 "*) ;; *)
    dbsync nova-cell0 "${NM[@]}" cell_v2 map_cell0 --database_connection "$DB/nova_cell0";; esac
  case "$cells" in *" cell1 "*) ;; *)
    dbsync nova-cell1 "${NM[@]}" cell_v2 create_cell --name cell1 --database_connection "$DB/nova" --transport-url "$RABBIT";; esac
  dbsync nova "${NM[@]}" db sync
}
other_dbs() {
  dbsync placement placement-manage --config-file "$ETC/placement/placement.conf" db sync
  dbsync glance glance-manage --config-file "$ETC/glance/glance-api.conf" db_sync
  dbsync neutron neutron-db-manage --config-file "$ETC/neutron/neutron.conf" upgrade heads
  dbsync cinder cinder-manage --config-file "$ETC/cinder/cinder.conf" db sync
}

NC=(--config-file "$ETC/nova/nova.conf")
CC=(--config-file "$ETC/cinder/cinder.conf")
start_services() { # everything but nova-compute, all at once (CPU-bound imports)
  start_bg keystone uwsgi --ini "$ETC/keystone/uwsgi.ini"
  start_bg placement uwsgi --ini "$ETC/placement/uwsgi.ini"
  start_bg glance uwsgi --ini "$ETC/glance/uwsgi.ini"
  PYTHONPATH=$LIB/py OSBOX_REAL_HOSTS=$HOSTNAME_QEMU start_bg neutron-server /usr/bin/neutron-server \
    --config-file "$ETC/neutron/neutron.conf" --log-file "$LOG/neutron-server.log"
  start_bg nova-api uwsgi --ini "$ETC/nova/uwsgi.ini"
  start_bg nova-conductor /usr/bin/nova-conductor "${NC[@]}" --log-file "$LOG/nova-conductor.log"
  start_bg nova-scheduler /usr/bin/nova-scheduler "${NC[@]}" --log-file "$LOG/nova-scheduler.log"
  start_bg cinder-api uwsgi --ini "$ETC/cinder/uwsgi.ini"
  start_bg cinder-scheduler /usr/bin/cinder-scheduler "${CC[@]}" --log-file "$LOG/cinder-scheduler.log"
  # cinder-volume forks one child per backend; down.sh stops the recorded parent and its children.
  start_bg cinder-volume /usr/bin/cinder-volume "${CC[@]}" --log-file "$LOG/cinder-volume.log"
}

QC=(--config-file "$ETC/nova/nova.conf" --config-file "$ETC/nova/nova-qemu.conf")
NEUTRON_AGENTS="neutron-linuxbridge-agent:linuxbridge neutron-dhcp-agent:dhcp neutron-l3-agent:l3"
start_libvirt() {
  start_bg virtlogd /usr/sbin/virtlogd
  start_bg libvirtd /usr/sbin/libvirtd -f "$ETC/libvirt/libvirtd.conf"
  local _
  for _ in $(seq 1 120); do virsh -c qemu:///system uri >/dev/null 2>&1 && return 0; sleep 0.25; done
  die "libvirtd did not answer on /run/libvirt/libvirt-sock ($LOG/libvirtd.log)"
}
# The agents' first RPC calls (report state, sync) wait up to 60 s for an answer: start them once
# neutron-server answers.
start_neutron_agents() {
  local a
  for a in $NEUTRON_AGENTS; do
    start_bg "${a%%:*}" "/usr/bin/${a%%:*}" --config-file "$ETC/neutron/neutron.conf" \
      --config-file "$ETC/neutron/agents/${a#*:}.ini" --log-file "$LOG/${a%%:*}.log"
  done
}

env_block() { # user project
  cat <<EOF
export OS_AUTH_URL=http://127.0.0.1:5000/v3
export OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne
export OS_INTERFACE=public
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_USERNAME=$1
export OS_PASSWORD=${1}pass
export OS_PROJECT_NAME=$2
EOF
}

print_env() { # the real stdout (fd 3): only the demo user's export lines
  say "demo user (roles member,reader in project demo): $BOX/openrc; admin: $BOX/admin-openrc"
  cat "$BOX/openrc" >&3
}

# ================================================================ main
# Everything but print_env goes to stderr, so stdout stays eval-able.
exec 3>&1 1>&2
mkdir -p "$BOX" "$ST" "$LOG" "$RUN"
if [ "${OSBOX_RESET:-0}" = 1 ]; then
  say "OSBOX_RESET=1: stopping and wiping state"
  bash "$HERE/down.sh" || true
  rm -rf "$ST" "$RUN"; mkdir -p "$ST" "$RUN"
fi
install_packages
STAMP=$ST/.bootstrapped
ALL_SVCS="postgres epmd rabbitmq-beam memcached keystone placement glance neutron-server nova-api
nova-conductor nova-scheduler nova-compute cinder-api cinder-scheduler cinder-volume
ceph-mon ceph-osd ceph-mgr virtlogd libvirtd nova-compute-qemu neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent
api-gateway"
# Running services keep the configuration they were started with. Its fingerprint: the code that
# writes the configurations and starts the services (declare -f drops comments, so editing a
# comment restarts nothing), recorded in run/up.sum when they start.
UP_SUM=$(declare -f write_configs write_guest_configs prepare_guest_host write_lib rabbit_env \
  start_services start_libvirt start_neutron_agents write_ceph_config ceph_bootstrap start_ceph \
  define_ceph_secret start_api_gateway | sha256sum | cut -d' ' -f1)
all_alive=1; any_alive=0
for s in $ALL_SVCS; do if alive "$s"; then any_alive=1; else all_alive=0; fi; done
if [ "$all_alive" = 1 ] && [ -f "$STAMP" ] && [ "$(cat "$RUN/up.sum" 2>/dev/null)" = "$UP_SUM" ] &&
   curl -sf -o /dev/null --max-time 5 http://127.0.0.1:8774/v2.1/; then
  say "already up (PIDs in $RUN)"
  print_env; exit 0
fi
if [ "$any_alive" = 1 ] && [ "$(cat "$RUN/up.sum" 2>/dev/null)" != "$UP_SUM" ]; then
  # Starting only what is stopped would mix old and new configurations (say, a Nova without
  # [cinder] auth beside a new Cinder): stop everything (the state stays).
  say "the configurations changed since the running services were started: restarting them all"
  bash "$HERE/down.sh" >&2
fi
T_SVC=$(date +%s%N)
T_SVC_UTC=$(date -u '+%Y-%m-%d %H:%M:%S')

# Refuse to start if a port we need is held by a process osbox did not start.
for pn in 5000:keystone 8774:nova-api 8778:placement 9292:glance 9696:neutron-server 8776:cinder-api \
          5672:rabbitmq-beam 25672:rabbitmq-beam 4369:epmd 11211:memcached $PGPORT:postgres; do
  if port_open "${pn%%:*}" && ! alive "${pn#*:}"; then
    ss -ltnpH "sport = :${pn%%:*}" >&2 || true
    die "127.0.0.1:${pn%%:*} is already in use by a process osbox did not start"
  fi
done

# Another libvirtd (a distribution's, say) would own the socket Nova connects to.
if [ -S /run/libvirt/libvirt-sock ] && ! alive libvirtd &&
   virsh -c qemu:///system uri >/dev/null 2>&1; then
  die "a libvirtd that osbox did not start answers on /run/libvirt/libvirt-sock; stop it first"
fi

write_configs
write_guest_configs
write_lib
prepare_guest_host
mkdir -p "$ST/nova/instances" "$ST/nova/lock" "$ST"/glance/{images,staging,tasks,lock} \
  "$ST/neutron/lock" "$ST/cinder/lock" "$ST/cinder/coordination" \
  "$ST/nova-qemu/instances" "$ST/nova-qemu/lock"
echo "$UP_SUM" >"$RUN/up.sum"
say "starting postgres, rabbitmq, memcached"
start_postgres
start_rabbit
start_bg memcached memcached -u memcache -l 127.0.0.1 -p 11211 -U 0 -m 64
start_libvirt
start_api_gateway
say "starting Ceph"
start_ceph
define_ceph_secret
# cinder-volume's RBD backend connects at start: the OSD must serve the pool first.
wait_ceph_ready

SEEDED=0
if [ "$NEW_DBS" = 0 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(seed_versions)" ]; then
  SEEDED=1
  say "reusing bootstrapped state in $ST; starting services"
  start_services
elif [ "$FRESH_DB" = 1 ] && [ -n "${OSBOX_SEED:-}" ] && restore_seed "$OSBOX_SEED"; then
  SEEDED=1
  say "restored databases, keys and image from seed $OSBOX_SEED; starting services"
  start_services
else
  say "syncing databases"
  keystone_db &  P1=$!
  nova_db &      P2=$!
  other_dbs &    P3=$!
  wait $P1 || die "keystone db"
  # Services look up their endpoints in the catalog at start-up: register
  # users/services/endpoints before starting them (other syncs go on).
  start_bg keystone uwsgi --ini "$ETC/keystone/uwsgi.ini"
  wait_http keystone http://127.0.0.1:5000/v3 90
  $PY "$LIB/bootstrap.py" keystone
  wait $P2 || die "nova db"
  wait $P3 || die "other dbs"
  say "databases synced, keystone bootstrapped; starting services"
  start_services
fi
wait_port rabbitmq 5672 60
wait_http keystone http://127.0.0.1:5000/v3 90
wait_http placement http://127.0.0.1:8778/ 90
# nova-compute creates its resource provider at start-up: needs both.
start_bg nova-compute "$BOX/bin/nova-compute" "${NC[@]}" --log-file "$LOG/nova-compute.log"
start_bg nova-compute-qemu "$BOX/bin/nova-compute" "${QC[@]}" --log-file "$LOG/nova-compute-qemu.log"
wait_http glance http://127.0.0.1:9292/ 90
wait_http neutron http://127.0.0.1:9696/ 90
start_neutron_agents
wait_http nova-api http://127.0.0.1:8774/v2.1/ 90
wait_http cinder-api http://127.0.0.1:8776/ 90
say "APIs answer; waiting for both compute hosts to register and be mapped, for cinder-volume and the Neutron agents"
# Ready = both compute hosts mapped to cell1 (scheduler's periodic discovery), both nova-computes,
# cinder-volume's fake backend and the three Neutron agents have reported in since this script
# started them.
ok=0
for _ in $(seq 1 240); do
  n=$(psql_q -d nova_api -c "select count(*) from host_mappings where host in ('$HOSTNAME_NOVA', '$HOSTNAME_QEMU')" 2>/dev/null || echo 0)
  m=$(psql_q -d nova -c "select count(*) from services where host in ('$HOSTNAME_NOVA', '$HOSTNAME_QEMU') and \"binary\"='nova-compute' and deleted=0 and last_seen_up >= '$T_SVC_UTC'" 2>/dev/null || echo 0)
  v=$(psql_q -d cinder -c "select count(*) from services where host in ('$HOSTNAME_NOVA@fake', '$HOSTNAME_NOVA@ceph') and \"binary\"='cinder-volume' and not deleted and updated_at >= '$T_SVC_UTC'" 2>/dev/null || echo 0)
  g=$(psql_q -d neutron -c "select count(*) from agents where host='$HOSTNAME_QEMU' and admin_state_up and heartbeat_timestamp >= '$T_SVC_UTC'" 2>/dev/null || echo 0)
  [ "$n" = 2 ] && [ "$m" = 2 ] && [ "$v" = 2 ] && [ "$g" = 3 ] && { ok=1; break; }
  for s in $ALL_SVCS; do
    alive "$s" || die "$s died; last log lines: $(tail -n 5 "$LOG/$s.log" "$LOG/$s-api.log" "$LOG/$s.out" 2>/dev/null | cut -c1-300)"
  done
  sleep 0.5
done
[ "$ok" = 1 ] || die "compute, volume or network agents never became ready (mapped=$n of 2, computes=$m of 2, volumes=$v of 2, agents=$g of 3)"
say "compute, volume and network agents ready ($(secs_since "$T_SVC") after packages were in place)"

if [ "$SEEDED" = 0 ]; then
  printf 'osbox tiny image\n' >"$ST/tiny.img"
  $PY "$LIB/bootstrap.py" "cloud=$ST/tiny.img"
fi
$PY "$LIB/bootstrap.py" guests || die "real-guest flavor and aggregate set-up failed"
$PY "$LIB/bootstrap.py" "gateway=$API_ADDR" || die "the admin endpoints at the guests' API gateway"
$PY "$LIB/bootstrap.py" pools || die "Cinder's scheduler never heard from the volume backends"
if [ "${OSBOX_CANARY:-1}" = 1 ]; then
  # End-to-end readiness: boot one server, attach a volume to it, detach, delete both.
  $PY "$LIB/bootstrap.py" canary || die "canary failed (see $LOG/nova-*.log and $LOG/cinder-*.log)"
fi

OSBOX_EXT_CIDR=$EXT_CIDR $PY "$HERE/project.py" >&2 || die "project set-up (quotas, test network) failed"
env_block demo demo >"$BOX/openrc"
env_block admin admin >"$BOX/admin-openrc"
cat >"$BOX/clouds.yaml" <<'EOF'
clouds:
  osbox-demo:
    auth: {auth_url: "http://127.0.0.1:5000/v3", username: demo, password: demopass,
           project_name: demo, user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
    interface: public
    identity_api_version: 3
  osbox-admin:
    auth: {auth_url: "http://127.0.0.1:5000/v3", username: admin, password: adminpass,
           project_name: admin, user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
    interface: public
    identity_api_version: 3
EOF
seed_versions >"$STAMP"
say "up in $(ts | tr -d ' ') total; PIDs in $RUN, logs in $LOG"
print_env
