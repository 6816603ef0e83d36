{#- The node's own name resolves to its address on the cluster network (/etc/hosts): sudo, Salt
    and Slurm look it up, Debian's resolver has no nss-myhostname (Rocky's has), and a cloud's
    DHCP DNS need not know instance names (the local OpenStack's does not: every sudo printed
    "unable to resolve host"). #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- set cidr = dc.get('network', {}).get('cluster_cidr', '') %}
{%- set own = [] %}
{%- for address in salt['grains.get']('ipv4', []) %}
{%-   if cidr and salt['network.ip_in_subnet'](address, cidr) %}{% do own.append(address) %}{% endif %}
{%- endfor %}

dynamic-cluster-common-hosts-host-present-own-name:
  host.present:
    - name: {{ salt['grains.get']('host') }}
    - ip: {{ own[0] if own else '127.0.1.1' }}
    - clean: True
