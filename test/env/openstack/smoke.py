#!/usr/bin/python3
"""Smoke test of what a Pulumi program needs from the local OpenStack, as the demo user.

Usage: /usr/bin/python3 test/env/openstack/smoke.py   (the box up: bash test/env/openstack/up.sh)

Volumes: typed, untyped and __DEFAULT__-typed volumes up to 200 GiB; attach to a server through
Nova until Cinder reports it in-use on that server, detach until available; a server deleted with
its volume attached releases it; 20 volumes of 200 GiB fit the quota.
Routers and floating IPs: a router with its gateway on dc-test-public, an interface on a demo
subnet, the floating IP 198.51.100.10 associated to a port on that subnet, a second floating IP
refused with 409, disassociation and release.
Everything it creates is named osbox-smoke-* and deleted at the end, also after a failure. Last
line: `N passed, N failed`; exit status 0 when all passed. Talks only to 127.0.0.1.
"""
import sys
import time

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

AUTH = 'http://127.0.0.1:5000/v3'
NOVA = 'http://127.0.0.1:8774/v2.1'
NEUTRON = 'http://127.0.0.1:9696/v2.0'
GLANCE = 'http://127.0.0.1:9292/v2'
COMPUTE = {'OpenStack-API-Version': 'compute 2.79'}
VOLUME = {'OpenStack-API-Version': 'volume 3.44'}
FLOATING_IP = '198.51.100.10'
PREFIX = 'osbox-smoke-'

demo = ks_session.Session(auth=v3.Password(
    auth_url=AUTH, username='demo', password='demopass', project_name='demo',
    user_domain_id='default', project_domain_id='default'))
CINDER = 'http://127.0.0.1:8776/v3/' + demo.get_project_id()
results = {'passed': 0, 'failed': 0}
cleanup = []  # (description, callable), run in reverse order


def req(method, url, expect=None, **kw):
    kw.setdefault('raise_exc', expect is None)
    r = demo.request(url, method, **kw)
    if expect is not None and r.status_code != expect:
        raise AssertionError('%s %s: %d %s' % (method, url, r.status_code, r.text[:300]))
    return r


def check(name, cond, detail=''):
    results['passed' if cond else 'failed'] += 1
    print('%s %s%s' % ('ok  ' if cond else 'FAIL', name, ': ' + detail if detail else ''))
    if not cond:
        raise AssertionError(name)


def wait(get, done, timeout=90):
    t0 = time.time()
    value = get()
    while not done(value) and time.time() - t0 < timeout:
        time.sleep(0.25)
        value = get()
    return value, time.time() - t0


def volume(vid):
    r = req('GET', CINDER + '/volumes/' + vid, headers=VOLUME, raise_exc=False)
    if r.status_code == 404:
        return ('deleted', [])
    v = r.json()['volume']
    return v['status'], [a['server_id'] for a in v['attachments']]


def create_volume(name, size, vtype=None):
    body = {'name': PREFIX + name, 'size': size}
    if vtype:
        body['volume_type'] = vtype
    v = req('POST', CINDER + '/volumes', headers=VOLUME, json={'volume': body}).json()['volume']
    cleanup.append(('volume ' + name, lambda: delete_volume(v['id'])))
    return v


def delete_volume(vid):
    if volume(vid)[0] != 'deleted':
        req('DELETE', CINDER + '/volumes/' + vid, headers=VOLUME, raise_exc=False)
        wait(lambda: volume(vid)[0], lambda st: st in ('deleted', 'error_deleting'))


def server_status(sid):
    r = req('GET', NOVA + '/servers/' + sid, headers=COMPUTE, raise_exc=False)
    return 'DELETED' if r.status_code == 404 else r.json()['server']['status']


def boot(name):
    image = req('GET', GLANCE + '/images?name=tiny').json()['images'][0]['id']
    s = req('POST', NOVA + '/servers', headers=COMPUTE, json={'server': {
        'name': PREFIX + name, 'imageRef': image, 'flavorRef': '1',
        'networks': 'none'}}).json()['server']
    cleanup.append(('server ' + name, lambda: delete_server(s['id'])))
    return s['id']


def delete_server(sid):
    if server_status(sid) != 'DELETED':
        req('DELETE', NOVA + '/servers/' + sid, headers=COMPUTE, raise_exc=False)
        wait(lambda: server_status(sid), lambda st: st == 'DELETED')


def attach(sid, vid):
    return req('POST', NOVA + '/servers/%s/os-volume_attachments' % sid, headers=COMPUTE,
               json={'volumeAttachment': {'volumeId': vid}}).json()['volumeAttachment']


def volumes():
    print('-- volumes (Cinder fake driver, attach through Nova)')
    typed = create_volume('typed', 200, 'fake')
    untyped = create_volume('untyped', 1)
    default = create_volume('default', 10, '__DEFAULT__')
    sid = boot('server')
    for v in (typed, untyped, default):
        st, t = wait(lambda v=v: volume(v['id'])[0], lambda st: st != 'creating')
        check('volume %s (%d GiB) available' % (v['name'], v['size']), st == 'available',
              '%s in %.1fs' % (st, t))
    vt = req('GET', CINDER + '/volumes/' + untyped['id'], headers=VOLUME).json()['volume']
    check('volume without a type gets the default type', vt['volume_type'] == 'fake',
          vt['volume_type'])
    st, t = wait(lambda: server_status(sid), lambda st: st in ('ACTIVE', 'ERROR'))
    check('server ACTIVE', st == 'ACTIVE', '%s in %.1fs' % (st, t))

    att = attach(sid, typed['id'])
    got, t = wait(lambda: volume(typed['id']), lambda v: v[0] not in ('reserved', 'attaching'))
    check('attach: Cinder reports the volume in-use on the server', got == ('in-use', [sid]),
          '%s in %.1fs, device %s' % (got, t, att.get('device')))
    listed = req('GET', NOVA + '/servers/%s/os-volume_attachments' % sid,
                 headers=COMPUTE).json()['volumeAttachments']
    check('Nova lists the attachment', [a['volumeId'] for a in listed] == [typed['id']])
    req('DELETE', NOVA + '/servers/%s/os-volume_attachments/%s' % (sid, typed['id']),
        headers=COMPUTE, expect=202)
    got, t = wait(lambda: volume(typed['id']), lambda v: v[0] != 'detaching' and v[0] != 'in-use')
    check('detach: volume available again', got == ('available', []), '%s in %.1fs' % (got, t))

    attach(sid, untyped['id'])
    got, _ = wait(lambda: volume(untyped['id']), lambda v: v[0] not in ('reserved', 'attaching'))
    check('second attach in-use', got == ('in-use', [sid]), str(got))
    delete_server(sid)
    got, t = wait(lambda: volume(untyped['id']), lambda v: v[0] != 'in-use' and v[0] != 'detaching')
    check('server deleted with the volume attached: volume available', got == ('available', []),
          '%s %.1fs after the server was gone' % (got, t))

    for v in (typed, untyped, default):
        delete_volume(v['id'])
    many = [create_volume('many-%d' % i, 200, 'fake') for i in range(20)]
    states = [wait(lambda v=v: volume(v['id'])[0], lambda st: st != 'creating')[0] for v in many]
    quota = req('GET', CINDER + '/os-quota-sets/%s?usage=true' % demo.get_project_id(),
                headers=VOLUME).json()['quota_set']
    check('20 volumes of 200 GiB fit the quota', states == ['available'] * 20,
          'in use %d volumes of %d, %d GiB of %d' % (
              quota['volumes']['in_use'], quota['volumes']['limit'],
              quota['gigabytes']['in_use'], quota['gigabytes']['limit']))


def l3():
    print('-- routers and floating IPs (Neutron L3 plugin, no agent)')
    ext = req('GET', NEUTRON + '/networks?name=dc-test-public&router:external=true').json()
    check('demo sees the external network dc-test-public', len(ext['networks']) == 1)
    ext_id = ext['networks'][0]['id']

    net = req('POST', NEUTRON + '/networks', json={'network': {
        'name': PREFIX + 'net'}}).json()['network']
    cleanup.append(('network', lambda: req('DELETE', NEUTRON + '/networks/' + net['id'],
                                           raise_exc=False)))
    sub = req('POST', NEUTRON + '/subnets', json={'subnet': {
        'name': PREFIX + 'subnet', 'network_id': net['id'], 'ip_version': 4,
        'cidr': '10.250.0.0/24', 'enable_dhcp': True}}).json()['subnet']
    router = req('POST', NEUTRON + '/routers', json={'router': {
        'name': PREFIX + 'router',
        'external_gateway_info': {'network_id': ext_id}}}).json()['router']
    cleanup.append(('router', lambda: req('DELETE', NEUTRON + '/routers/' + router['id'],
                                          raise_exc=False)))
    gw = router['external_gateway_info']['external_fixed_ips'][0]['ip_address']
    check('router with gateway on dc-test-public', router['status'] == 'ACTIVE' and
          gw.startswith('198.51.100.1'), 'status %s, gateway %s' % (router['status'], gw))
    req('PUT', NEUTRON + '/routers/%s/add_router_interface' % router['id'],
        json={'subnet_id': sub['id']})
    cleanup.append(('router interface', lambda: req(
        'PUT', NEUTRON + '/routers/%s/remove_router_interface' % router['id'],
        json={'subnet_id': sub['id']}, raise_exc=False)))
    check('router interface on the demo subnet', True)
    port = req('POST', NEUTRON + '/ports', json={'port': {
        'name': PREFIX + 'port', 'network_id': net['id']}}).json()['port']
    cleanup.append(('port', lambda: req('DELETE', NEUTRON + '/ports/' + port['id'],
                                        raise_exc=False)))

    fip = req('POST', NEUTRON + '/floatingips', json={'floatingip': {
        'floating_network_id': ext_id, 'description': PREFIX + 'fip'}}).json()['floatingip']
    cleanup.append(('floating IP', lambda: req('DELETE', NEUTRON + '/floatingips/' + fip['id'],
                                               raise_exc=False)))
    check('floating IP allocated from dc-test-public', fip['floating_ip_address'] == FLOATING_IP,
          fip['floating_ip_address'])
    second = req('POST', NEUTRON + '/floatingips', raise_exc=False, json={'floatingip': {
        'floating_network_id': ext_id}})
    if second.status_code == 201:
        cleanup.append(('second floating IP', lambda: req(
            'DELETE', NEUTRON + '/floatingips/' + second.json()['floatingip']['id'],
            raise_exc=False)))
    check('a second floating IP is refused', second.status_code == 409 and
          'No more IP addresses available' in second.text,
          '%d %s' % (second.status_code, second.text[:200]))
    up = req('PUT', NEUTRON + '/floatingips/' + fip['id'], json={'floatingip': {
        'port_id': port['id']}}).json()['floatingip']
    check('floating IP associated to the port', up['port_id'] == port['id'] and
          up['fixed_ip_address'] == port['fixed_ips'][0]['ip_address'] and
          up['router_id'] == router['id'], '%s -> %s' % (FLOATING_IP, up['fixed_ip_address']))
    down = req('PUT', NEUTRON + '/floatingips/' + fip['id'], json={'floatingip': {
        'port_id': None}}).json()['floatingip']
    check('floating IP disassociated', down['port_id'] is None)
    req('DELETE', NEUTRON + '/floatingips/' + fip['id'], expect=204)
    again = req('POST', NEUTRON + '/floatingips', json={'floatingip': {
        'floating_network_id': ext_id}}).json()['floatingip']
    req('DELETE', NEUTRON + '/floatingips/' + again['id'], expect=204)
    check('floating IP released (the address can be taken again)',
          again['floating_ip_address'] == FLOATING_IP)


def main():
    for name, part in (('volumes', volumes), ('l3', l3)):
        try:
            part()
        except Exception as e:  # noqa: BLE001 - report and go on with the next part
            if not isinstance(e, AssertionError) or str(e).startswith(('GET', 'POST', 'PUT',
                                                                       'DELETE')):
                results['failed'] += 1
                print('FAIL %s: %s: %s' % (name, type(e).__name__, str(e)[:400]))
        finally:
            while cleanup:
                what, undo = cleanup.pop()
                try:
                    undo()
                except Exception as e:  # noqa: BLE001 - clean up the rest anyway
                    print('cleanup of %s failed: %s' % (what, e))
    print('%d passed, %d failed' % (results['passed'], results['failed']))
    sys.exit(1 if results['failed'] else 0)


if __name__ == '__main__':
    main()
