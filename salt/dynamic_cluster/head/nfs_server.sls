{#- NFSv4-only server exporting /data to the cluster subnet (the security groups open 2049 from
    workers only; NFSv3's portmapper and mountd are switched off). #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
include:
  - {{ tplroot }}.head.data_volume

dynamic-cluster-head-nfs-server-pkg-installed:
  pkg.installed:
    - pkgs: {{ dc.packages.nfs_server | json }}

dynamic-cluster-head-nfs-server-file-managed-nfs-conf:
  file.managed:
    - name: /etc/nfs.conf.d/dynamic-cluster.conf
    - source: salt://{{ tplroot }}/files/head/nfs.conf.jinja
    - template: jinja
    - makedirs: True
    - mode: '0644'
    - context:
        dc: {{ dc | json }}
    - require:
      - pkg: dynamic-cluster-head-nfs-server-pkg-installed

dynamic-cluster-head-nfs-server-file-managed-exports:
  file.managed:
    - name: /etc/exports.d/dynamic-cluster.exports
    - source: salt://{{ tplroot }}/files/head/exports.jinja
    - template: jinja
    - makedirs: True
    - mode: '0644'
    - context:
        dc: {{ dc | json }}
    - require:
      - pkg: dynamic-cluster-head-nfs-server-pkg-installed
      - sls: {{ tplroot }}.head.data_volume

dynamic-cluster-head-nfs-server-service-running:
  service.running:
    - name: {{ dc.services.nfs_server }}
    - enable: True
    - watch:
      - file: dynamic-cluster-head-nfs-server-file-managed-nfs-conf

dynamic-cluster-head-nfs-server-cmd-run-exportfs:
  cmd.run:
    - name: exportfs -ra
    - onchanges:
      - file: dynamic-cluster-head-nfs-server-file-managed-exports
    - require:
      - service: dynamic-cluster-head-nfs-server-service-running
