#!/bin/bash
# Exit 0 when the local OpenStack that up.sh started is up: every recorded service runs and
# nova-api and cinder-api answer. Prints nothing on success; says what is down otherwise.
set -uo pipefail
BOX=${OSBOX_DIR:-/var/tmp/dc-osbox}
RUN=$BOX/run
for service in postgres epmd rabbitmq-beam memcached keystone placement glance neutron-server \
    nova-api nova-conductor nova-scheduler nova-compute cinder-api cinder-scheduler cinder-volume \
    ceph-mon ceph-osd ceph-mgr virtlogd libvirtd nova-compute-qemu neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent; do
    pid_file=$RUN/$service.pid
    if [ ! -s "$pid_file" ]; then
        echo "osbox: $service is not running (no $pid_file)" >&2
        exit 1
    fi
    state=$(ps -o stat= -p "$(cat "$pid_file")" 2>/dev/null) || {
        echo "osbox: $service is not running" >&2
        exit 1
    }
    if [[ $state == Z* ]]; then
        echo "osbox: $service is a zombie" >&2
        exit 1
    fi
done
if ! curl -sf -o /dev/null --max-time 5 http://127.0.0.1:8774/v2.1/; then
    echo "osbox: nova-api does not answer" >&2
    exit 1
fi
if ! curl -sf -o /dev/null --max-time 5 http://127.0.0.1:8776/; then
    echo "osbox: cinder-api does not answer" >&2
    exit 1
fi
