{#- The head node: Salt master, /data on its volume exported over NFS, the batch scheduler's
    server, Graphite, the TLS proxy, the Dynamic Cluster service, users and the firewall. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
include:
  - {{ tplroot }}.common.repos
  - {{ tplroot }}.common.hosts
  - {{ tplroot }}.head.firewall
  - {{ tplroot }}.head.data_volume
  - {{ tplroot }}.common.users
  - {{ tplroot }}.head.nfs_server
  - {{ tplroot }}.head.{{ dc.scheduler.kind }}
  - {{ tplroot }}.head.graphite
  - {{ tplroot }}.head.salt_master
  - {{ tplroot }}.head.service
  - {{ tplroot }}.head.proxy
