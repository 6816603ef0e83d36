#!/bin/bash
# Stops what test/env/openstack/up.sh started, by the PIDs it recorded in $OSBOX_DIR/run (and
# the children of those PIDs), never by process name. State stays in $OSBOX_DIR/state, so the
# next up.sh restarts without migrations.
set -uo pipefail
BOX=${OSBOX_DIR:-/var/tmp/dc-osbox}
RUN=$BOX/run

descendants() { # pid -> all descendant pids
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$c"; descendants "$c"
  done
}
# kill -0 succeeds on a zombie; PID 1 here may be slow to reap orphans.
running() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ $st != Z* ]]; }

stop_group() { # signal name... : signal all at once, then wait for all
  local sig=$1; shift
  local -A pid=() kids=()
  local n f t left
  for n in "$@"; do
    f=$RUN/$n.pid
    [ -s "$f" ] || continue
    if ! running "$(cat "$f")"; then rm -f "$f"; continue; fi
    pid[$n]=$(cat "$f")
    kids[$n]=$(descendants "${pid[$n]}" | tr '\n' ' ')
    kill -"$sig" "${pid[$n]}" 2>/dev/null
  done
  t=$(date +%s)
  for _ in $(seq 1 120); do          # up to 30 s
    left=0
    for n in "${!pid[@]}"; do running "${pid[$n]}" && left=1; done
    [ $left = 0 ] && break
    sleep 0.25
  done
  for n in "${!pid[@]}"; do
    if running "${pid[$n]}"; then
      echo "osbox: $n (${pid[$n]}) ignored SIG$sig for 30s, killing"
      kill -KILL "${pid[$n]}" 2>/dev/null
    fi
    for k in ${kids[$n]}; do running "$k" && kill -KILL "$k" 2>/dev/null; done
    rm -f "$RUN/$n.pid"
    echo "osbox: stopped $n (${pid[$n]}${kids[$n]:+; children ${kids[$n]% }})"
  done
  [ ${#pid[@]} -gt 0 ] && echo "osbox: group stopped in $(( $(date +%s) - t ))s"
  return 0
}

# Real guests first, while their libvirtd still runs: QEMU daemonizes, so no guest is a child
# of a recorded PID. Nova finds them shut off when it starts again.
if running "$(cat "$RUN/libvirtd.pid" 2>/dev/null || echo 0)"; then
  for guest in $(virsh -c qemu:///system list --name 2>/dev/null); do
    virsh -c qemu:///system destroy "$guest" >/dev/null 2>&1 && echo "osbox: stopped guest $guest"
  done
fi
stop_group TERM api-gateway nova-compute nova-compute-qemu nova-scheduler nova-conductor nova-api \
                cinder-volume cinder-scheduler cinder-api \
                neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent \
                neutron-server glance placement keystone
# The DHCP agent's dnsmasq processes daemonize too: each one's PID is in the agent's state.
for f in "$BOX"/state/neutron/dhcp/*/pid; do
  [ -s "$f" ] || continue
  p=$(cat "$f")
  if running "$p" && grep -q dnsmasq "/proc/$p/cmdline" 2>/dev/null; then
    kill -TERM "$p" && echo "osbox: stopped dnsmasq ($p)"
  fi
done
stop_group TERM libvirtd virtlogd ceph-mgr ceph-osd
stop_group TERM ceph-mon
stop_group TERM memcached rabbitmq-beam rabbitmq
stop_group TERM epmd
stop_group INT postgres               # PostgreSQL "fast" shutdown
exit 0
