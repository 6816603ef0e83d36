#!/usr/bin/python3
"""Dynamic Cluster's own idempotent setup on top of the local OpenStack (run by up.sh).

- Compute quotas of project demo high enough for 60+ m1.tiny servers at once (the tests lower
  them temporarily to force partial failures and put them back).
- Neutron quotas (ports, security groups, routers, floating IPs) likewise; Cinder quotas for 50
  volumes and 5000 GiB (20 volumes of 200 GiB and room to spare).
- As demo: network `dc-test-net` with subnet 192.0.2.0/24 (database rows only: no traffic ever
  leaves loopback) and security group `dc-test-sg`.
- As admin: the external network `dc-test-public` on 198.51.100.0/24 (TEST-NET-2, again rows
  only: its physical network is mapped to nothing), which demo uses for router gateways and
  floating IPs. The floating-IP pool is exactly one address, FLOATING_IP, which a test's
  emulated head host holds in a network namespace.
- As admin: the external network `dc-vm-public` of real guests (osbox-qemu), physical network
  `ext`: the linuxbridge agent's mapping to this machine's bridge osbox-ext, whose address
  up.sh passes as OSBOX_EXT_CIDR (the gateway; the pool is the rest of the range). Routers and
  floating IPs on it are real: the L3 agent plumbs them.
- Leftovers of earlier runs that were killed before their clean-up (this cloud persists in
  /var/tmp between runs): every server, floating IP, volume, router, application credential
  and test key pair of project demo, and every network and security group but the two above,
  are deleted, so each run starts from the same cloud. Nothing else uses project demo.
Talks only to 127.0.0.1.
"""
import ipaddress
import os
import time

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

AUTH = 'http://127.0.0.1:5000/v3'
NOVA = 'http://127.0.0.1:8774/v2.1'
NEUTRON = 'http://127.0.0.1:9696/v2.0'
CINDER = 'http://127.0.0.1:8776/v3'

FLOATING_IP = '198.51.100.10'
# Neutron's IPAM picks a random free address of a subnet's pools, and a router gateway port and
# a floating IP draw from the same external network. Subnet service types (an ML2 extension)
# keep them apart deterministically: a port whose device_owner is listed in some subnet's
# service_types only gets addresses from such subnets. The two halves of the /24 (subnets of
# one network must not overlap) are one for floating IPs, whose pool is FLOATING_IP alone (so
# every floating IP is that address, and a second one while it is taken gets Neutron's 409 "No
# more IP addresses available"), and one for router gateways (20 routers).
PUBLIC_NET = 'dc-test-public'
PUBLIC_SUBNETS = [
    {'name': 'dc-test-public-fip', 'cidr': '198.51.100.0/25', 'gateway_ip': '198.51.100.1',
     'allocation_pools': [{'start': FLOATING_IP, 'end': FLOATING_IP}],
     'service_types': ['network:floatingip']},
    {'name': 'dc-test-public-gw', 'cidr': '198.51.100.128/25', 'gateway_ip': '198.51.100.129',
     'allocation_pools': [{'start': '198.51.100.130', 'end': '198.51.100.149'}],
     'service_types': ['network:router_gateway']},
]


def session(user, project):
    auth = v3.Password(auth_url=AUTH, username=user, password=user + 'pass',
                       project_name=project, user_domain_id='default',
                       project_domain_id='default')
    return ks_session.Session(auth=auth)


# Real guests' external network: the host bridge's subnet; floating IPs and router gateways from
# one pool (any of them reaches the host).
VM_PUBLIC_NET = 'dc-vm-public'


def vm_public_subnets(bridge_interface):
    """The subnet of the host bridge (its address is the gateway), pool from .10 to .99."""
    iface = ipaddress.ip_interface(bridge_interface)
    hosts = list(iface.network.hosts())
    return [{'name': 'dc-vm-public-v4', 'cidr': str(iface.network),
             'gateway_ip': str(iface.ip),
             'allocation_pools': [{'start': str(hosts[9]), 'end': str(hosts[98])}],
             'service_types': []}]


def external_network(admin, name, physnet, subnets):
    """An external flat network and its subnets, owned by admin, created or corrected."""
    nets = admin.get(NEUTRON + '/networks?name=' + name).json()['networks']
    if nets:
        net_id = nets[0]['id']
    else:
        net_id = admin.post(NEUTRON + '/networks', json={'network': {
            'name': name, 'admin_state_up': True, 'router:external': True,
            'shared': False, 'provider:network_type': 'flat',
            'provider:physical_network': physnet}}).json()['network']['id']
    have = {s['name']: s for s in
            admin.get(NEUTRON + '/subnets?network_id=' + net_id).json()['subnets']}
    for want in subnets:
        cur = have.get(want['name'])
        if cur is None:
            admin.post(NEUTRON + '/subnets', json={'subnet': dict(
                want, network_id=net_id, ip_version=4, enable_dhcp=False)})
        elif cur['cidr'] != want['cidr']:
            # The range changed (OSBOX_EXT_CIDR): the network is remade with it.
            admin.delete(NEUTRON + '/networks/' + net_id)
            return external_network(admin, name, physnet, subnets)
        elif any(cur[k] != want[k] for k in ('allocation_pools', 'service_types')):
            admin.put(NEUTRON + '/subnets/' + cur['id'], json={'subnet': {
                k: want[k] for k in ('allocation_pools', 'service_types')}})
    return net_id


def wait_until(what, check, timeout=120):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit('project.py: timed out waiting for ' + what)
        time.sleep(0.5)


def purge_leftovers(demo, project_id):
    """Deletes what killed runs left in project demo; returns a summary (empty: nothing)."""
    done = []
    servers = demo.get(NOVA + '/servers').json()['servers']
    for server in servers:
        demo.delete(NOVA + '/servers/' + server['id'])
    wait_until('leftover servers to go',
               lambda: not demo.get(NOVA + '/servers').json()['servers'])
    if servers:
        done.append('%d servers' % len(servers))
    fips = demo.get(NEUTRON + '/floatingips').json()['floatingips']
    for fip in fips:
        demo.delete(NEUTRON + '/floatingips/' + fip['id'])
    if fips:
        done.append('%d floating IPs' % len(fips))
    routers = demo.get(NEUTRON + '/routers').json()['routers']
    for router in routers:
        ports = demo.get(NEUTRON + '/ports?device_id=' + router['id']).json()['ports']
        for port in ports:
            if port['device_owner'] == 'network:router_interface':
                demo.put(NEUTRON + '/routers/%s/remove_router_interface' % router['id'],
                         json={'port_id': port['id']})
        demo.delete(NEUTRON + '/routers/' + router['id'])
    if routers:
        done.append('%d routers' % len(routers))
    nets = [n for n in demo.get(NEUTRON + '/networks?project_id=' + project_id).json()['networks']
            if n['name'] != 'dc-test-net' and not n.get('router:external')]
    for net in nets:
        for port in demo.get(NEUTRON + '/ports?network_id=' + net['id']).json()['ports']:
            demo.delete(NEUTRON + '/ports/' + port['id'])
        demo.delete(NEUTRON + '/networks/' + net['id'])
    if nets:
        done.append('%d networks' % len(nets))
    groups = [g for g in demo.get(NEUTRON + '/security-groups?project_id=' + project_id)
              .json()['security_groups'] if g['name'] not in ('default', 'dc-test-sg')]
    for group in groups:
        demo.delete(NEUTRON + '/security-groups/' + group['id'])
    if groups:
        done.append('%d security groups' % len(groups))
    volumes_url = '%s/%s/volumes' % (CINDER, project_id)
    volumes = demo.get(volumes_url).json()['volumes']
    for volume in volumes:
        wait_until('volume %s to be detached' % volume['id'],
                   lambda v=volume: demo.get(volumes_url + '/' + v['id']).json()['volume']
                   ['status'] in ('available', 'error'))
        demo.delete(volumes_url + '/' + volume['id'])
    wait_until('leftover volumes to go', lambda: not demo.get(volumes_url).json()['volumes'])
    if volumes:
        done.append('%d volumes' % len(volumes))
    keypairs = [k['keypair']['name'] for k in demo.get(NOVA + '/os-keypairs').json()['keypairs']
                if k['keypair']['name'] != 'dc-test-key']
    for name in keypairs:
        demo.delete(NOVA + '/os-keypairs/' + name)
    if keypairs:
        done.append('%d key pairs' % len(keypairs))
    user_id = demo.get_user_id()
    creds = demo.get(AUTH + '/users/%s/application_credentials' % user_id).json()[
        'application_credentials']
    for cred in creds:
        demo.delete(AUTH + '/users/%s/application_credentials/%s' % (user_id, cred['id']))
    if creds:
        done.append('%d application credentials' % len(creds))
    return ', '.join(done)


def main():
    admin = session('admin', 'admin')
    demo = session('demo', 'demo')
    project_id = demo.get_project_id()
    admin.put(NOVA + '/os-quota-sets/' + project_id, json={'quota_set': {
        'instances': 200, 'cores': 400, 'ram': 200 * 1024 * 1024,
        'metadata_items': 128, 'server_groups': 50, 'server_group_members': 200}})
    admin.put(NEUTRON + '/quotas/' + project_id, json={'quota': {
        'port': 1000, 'security_group': 100, 'security_group_rule': 1000,
        'network': 50, 'subnet': 50, 'router': 20, 'floatingip': 20}})
    admin.put('%s/%s/os-quota-sets/%s' % (CINDER, admin.get_project_id(), project_id),
              json={'quota_set': {'volumes': 50, 'gigabytes': 5000, 'snapshots': 50}})
    # Leftovers first: a router or floating IP of theirs would hold an external network that
    # must be remade.
    purged = purge_leftovers(demo, project_id)
    if purged:
        print('project: deleted what earlier runs left: ' + purged)
    public_id = external_network(admin, PUBLIC_NET, 'public', PUBLIC_SUBNETS)
    vm_public_id = external_network(admin, VM_PUBLIC_NET, 'ext',
                                    vm_public_subnets(os.environ['OSBOX_EXT_CIDR']))

    nets = demo.get(NEUTRON + '/networks?name=dc-test-net').json()['networks']
    if nets:
        net_id = nets[0]['id']
    else:
        net_id = demo.post(NEUTRON + '/networks', json={'network': {
            'name': 'dc-test-net', 'admin_state_up': True}}).json()['network']['id']
    subnets = demo.get(NEUTRON + '/subnets?network_id=' + net_id).json()['subnets']
    if not subnets:
        demo.post(NEUTRON + '/subnets', json={'subnet': {
            'name': 'dc-test-subnet', 'network_id': net_id, 'ip_version': 4,
            'cidr': '192.0.2.0/24', 'enable_dhcp': False}})
    groups = demo.get(NEUTRON + '/security-groups?name=dc-test-sg').json()['security_groups']
    if not groups:
        demo.post(NEUTRON + '/security-groups', json={'security_group': {
            'name': 'dc-test-sg', 'description': 'Dynamic Cluster tests'}})
    print('project: quotas raised; network dc-test-net=%s; security group dc-test-sg; external '
          'network %s=%s (floating IP %s); real guests\' external network %s=%s' % (
              net_id, PUBLIC_NET, public_id, FLOATING_IP, VM_PUBLIC_NET, vm_public_id))


if __name__ == '__main__':
    main()
