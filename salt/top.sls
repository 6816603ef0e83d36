{#- State top file: the head node (its minion ID is in the pillar) gets the head states, every
    worker (grain dynamic_cluster:role=worker, set by its user-data) the worker highstate. #}
{%- set head_id = salt['pillar.get']('dynamic_cluster:head:minion_id', '') %}
base:
{%- if head_id %}
  '{{ head_id }}':
    - dynamic_cluster.head
{%- endif %}
  'dynamic_cluster:role:worker':
    - match: grain
    - dynamic_cluster.worker
