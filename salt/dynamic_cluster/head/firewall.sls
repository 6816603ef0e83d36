{#- Host firewall of the head node, under the Neutron security groups: SSH and HTTPS from the
    users' network only; Salt from the cluster subnet; the scheduler and NFS only from addresses
    in the ipset of live workers, which the Dynamic Cluster service fills when it accepts a
    worker's key and empties when it deletes the worker. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}

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

dynamic-cluster-head-firewall-file-managed-rules:
  file.managed:
    - name: /etc/sysconfig/iptables
    - source: salt://{{ tplroot }}/files/head/iptables.rules.jinja
    - template: jinja
    - mode: '0600'
    - context:
        dc: {{ dc | json }}
    - check_cmd: iptables-restore --test
    - require:
      - pkg: dynamic-cluster-head-firewall-pkg-installed
      - ipset: dynamic-cluster-head-firewall-ipset-set-present-workers

{#- ipset.service restores the saved sets on boot, before iptables (whose rules need the set),
    but it saves them on stop only with IPSET_SAVE_ON_STOP="yes" (ipset-service ships "no"). #}
dynamic-cluster-head-firewall-file-replace-ipset-save-on-stop:
  file.replace:
    - name: /etc/sysconfig/ipset-config
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
      - file: dynamic-cluster-head-firewall-file-managed-rules
