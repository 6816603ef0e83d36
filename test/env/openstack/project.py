#!/usr/bin/python3
"""Dynamic Cluster's own idempotent setup on top of the local OpenStack (run by up.sh).

- Compute quotas of project demo high enough for 60+ m1.tiny servers at once (the tests lower
  them temporarily to force partial failures and put them back).
- Neutron quotas (ports, security groups) likewise.
- As demo: network `dc-test-net` with subnet 192.0.2.0/24 (database rows only: no traffic ever
  leaves loopback) and security group `dc-test-sg`.
Talks only to 127.0.0.1.
"""
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

AUTH = 'http://127.0.0.1:5000/v3'
NOVA = 'http://127.0.0.1:8774/v2.1'
NEUTRON = 'http://127.0.0.1:9696/v2.0'


def session(user, project):
    auth = v3.Password(auth_url=AUTH, username=user, password=user + 'pass',
                       project_name=project, user_domain_id='default',
                       project_domain_id='default')
    return ks_session.Session(auth=auth)


def main():
    admin = session('admin', 'admin')
    demo = session('demo', 'demo')
    project_id = demo.get_project_id()
    admin.put(NOVA + '/os-quota-sets/' + project_id, json={'quota_set': {
        'instances': 200, 'cores': 400, 'ram': 200 * 1024 * 1024,
        'metadata_items': 128, 'server_groups': 50, 'server_group_members': 200}})
    admin.put(NEUTRON + '/quotas/' + project_id, json={'quota': {
        'port': 1000, 'security_group': 100, 'security_group_rule': 1000,
        'network': 50, 'subnet': 50}})

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
    print('project: quotas raised; network dc-test-net=%s; security group dc-test-sg' % net_id)


if __name__ == '__main__':
    main()
