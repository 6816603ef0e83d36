{#- The worker highstate the start reactor runs: users, /data over NFS, the scheduler's
    execution daemon, the stats collector; its last state tells the master the outcome. #}
{%- set tplroot = tpldir.split('/')[0] %}
include:
  - {{ tplroot }}.common.repos
  - {{ tplroot }}.common.hosts
  - {{ tplroot }}.common.users
  - {{ tplroot }}.worker.nfs_client
  - {{ tplroot }}.worker.scheduler
  - {{ tplroot }}.worker.stats
  - {{ tplroot }}.worker.ready
