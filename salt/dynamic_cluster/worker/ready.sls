{#- Last state of the worker highstate: tells the master (and through the worker reactor the
    Dynamic Cluster service) that the worker is ready, or that its configuration failed. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- set node_name = salt['grains.get']('dynamic_cluster:node_name') %}
{%- set configured = [
      tplroot ~ '.common.users',
      tplroot ~ '.worker.nfs_client',
      tplroot ~ '.worker.scheduler',
      tplroot ~ '.worker.stats'] %}
include:
{%- for sls_name in configured %}
  - {{ sls_name }}
{%- endfor %}

dynamic-cluster-worker-ready-event-send-ready:
  event.send:
    - name: dynamic-cluster/worker/ready
    - data:
        node_name: {{ node_name | json }}
    - require:
{%- for sls_name in configured %}
      - sls: {{ sls_name }}
{%- endfor %}

dynamic-cluster-worker-ready-event-send-failed:
  event.send:
    - name: dynamic-cluster/worker/failed
    - data:
        node_name: {{ node_name | json }}
    - onfail_any:
{%- for sls_name in configured %}
      - sls: {{ sls_name }}
{%- endfor %}
