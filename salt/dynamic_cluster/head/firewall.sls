{#- Host firewall of the head node, under the Neutron security groups: SSH and HTTPS from the
    users' networks only; Salt from the cluster subnet; the loopback ports of the head's own
    services only for the accounts that use them; the scheduler and NFS only from addresses
    in the ipset of live workers, which the Dynamic Cluster service fills when it accepts a
    worker's key and empties when it deletes the worker. Two rules files, one per address family,
    each checked by its restore command before it replaces the old one: IPv4 (users' IPv4
    ranges and the cluster) and IPv6 (users' IPv6 ranges only; nginx also listens on [::]).
    What keeps them across reboots depends on the family (osfamilymap.yaml, firewall):
    - iptables-services (Rocky/Alma): /etc/sysconfig/ip{,6}tables, one unit each, after
      ipset-service, which restores the saved sets;
    - netfilter-persistent (Debian): /etc/iptables/rules.v{4,6}, one unit that loads
      /etc/iptables/ipsets first (the set's definition; the service refills its members). #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{#- The loopback rules (files/head/loopback-owners.rules.jinja) name the accounts of nginx,
    graphite-web, Slurm and Salt: each rules file is checked and loaded only once they exist.
    head/accounts.sls creates them ahead of the daemons' packages, so the firewall still goes up
    before any daemon listens. #}
{%- set owner_accounts = ['proxy', 'graphite'] + (['slurm'] if dc.scheduler.kind == 'slurm' else []) %}
include:
  - {{ tplroot }}.head.accounts

dynamic-cluster-head-firewall-pkg-installed:
  pkg.installed:
    - pkgs: {{ dc.packages.firewall | json }}

dynamic-cluster-head-firewall-service-dead-firewalld:
  service.dead:
    - name: firewalld
    - enable: False

dynamic-cluster-head-firewall-ipset-set-present-workers:
  ipset.set_present:
    - name: {{ dc.firewall.worker_set }}
    - set_type: hash:ip
    - family: ipv4
    - require:
      - pkg: dynamic-cluster-head-firewall-pkg-installed

dynamic-cluster-head-firewall-file-managed-iptables-rules:
  file.managed:
    - name: {{ dc.firewall.rules_v4 }}
    - source: salt://{{ tplroot }}/files/head/iptables.rules.jinja
    - template: jinja
    - mode: '0600'
    - context:
        dc: {{ dc | json }}
    - check_cmd: iptables-restore --test
    - require:
      - pkg: dynamic-cluster-head-firewall-pkg-installed
      - ipset: dynamic-cluster-head-firewall-ipset-set-present-workers
{%- for role in owner_accounts %}
      - user: dynamic-cluster-head-accounts-user-present-{{ role }}
{%- endfor %}

dynamic-cluster-head-firewall-file-managed-ip6tables-rules:
  file.managed:
    - name: {{ dc.firewall.rules_v6 }}
    - source: salt://{{ tplroot }}/files/head/ip6tables.rules.jinja
    - template: jinja
    - mode: '0600'
    - context:
        dc: {{ dc | json }}
    - check_cmd: ip6tables-restore --test
    - require:
      - pkg: dynamic-cluster-head-firewall-pkg-installed
{%- for role in owner_accounts %}
      - user: dynamic-cluster-head-accounts-user-present-{{ role }}
{%- endfor %}

{%- if dc.firewall.persistence == 'iptables-services' %}

{#- ipset.service restores the saved sets on boot, before iptables (whose rules need the set),
    but it saves them on stop only with IPSET_SAVE_ON_STOP="yes" (ipset-service ships "no"). #}
dynamic-cluster-head-firewall-file-replace-ipset-save-on-stop:
  file.replace:
    - name: {{ dc.firewall.ipset_config }}
    - pattern: '^IPSET_SAVE_ON_STOP=.*$'
    - repl: 'IPSET_SAVE_ON_STOP="yes"'
    - append_if_not_found: True
    - require:
      - pkg: dynamic-cluster-head-firewall-pkg-installed

dynamic-cluster-head-firewall-service-running-ipset:
  service.running:
    - name: ipset
    - enable: True
    - require:
      - ipset: dynamic-cluster-head-firewall-ipset-set-present-workers
      - file: dynamic-cluster-head-firewall-file-replace-ipset-save-on-stop

dynamic-cluster-head-firewall-service-running-iptables:
  service.running:
    - name: iptables
    - enable: True
    - require:
      - service: dynamic-cluster-head-firewall-service-dead-firewalld
      - service: dynamic-cluster-head-firewall-service-running-ipset
    - watch:
      - file: dynamic-cluster-head-firewall-file-managed-iptables-rules

dynamic-cluster-head-firewall-service-running-ip6tables:
  service.running:
    - name: ip6tables
    - enable: True
    - require:
      - service: dynamic-cluster-head-firewall-service-dead-firewalld
    - watch:
      - file: dynamic-cluster-head-firewall-file-managed-ip6tables-rules
{%- elif dc.firewall.persistence == 'netfilter-persistent' %}

{#- The set's definition only (`ipset restore -exist` at boot, before the rules that name it);
    its members are the live workers, which the service writes again when it starts. #}
dynamic-cluster-head-firewall-file-managed-ipsets:
  file.managed:
    - name: {{ dc.firewall.ipsets }}
    - contents: 'create {{ dc.firewall.worker_set }} hash:ip family inet -exist'
    - mode: '0640'
    - require:
      - pkg: dynamic-cluster-head-firewall-pkg-installed

dynamic-cluster-head-firewall-service-running-netfilter-persistent:
  service.running:
    - name: netfilter-persistent
    - enable: True
    - require:
      - service: dynamic-cluster-head-firewall-service-dead-firewalld
      - ipset: dynamic-cluster-head-firewall-ipset-set-present-workers
    - watch:
      - file: dynamic-cluster-head-firewall-file-managed-ipsets
      - file: dynamic-cluster-head-firewall-file-managed-iptables-rules
      - file: dynamic-cluster-head-firewall-file-managed-ip6tables-rules
{%- else %}
{{- raise('firewall.persistence must be iptables-services or netfilter-persistent, not ' ~ dc.firewall.persistence) }}
{%- endif %}
