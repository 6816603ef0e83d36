{#- Last state of the worker highstate: tells the master (and through the worker reactor the
    Dynamic Cluster service) that the worker is ready, or that its configuration failed. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- set node_name = salt['grains.get']('dynamic_cluster:node_name') %}
{#- An `sls` requisite matches only the states an SLS declares itself, not those it includes,
    and fails on an SLS that declares none: worker.scheduler only includes worker.<kind>, so the
    requisite names worker.<kind>; common.users declares nothing when there are no users. #}
{%- set configured = [
      tplroot ~ '.worker.nfs_client',
      tplroot ~ '.worker.' ~ dc.scheduler.kind,
      tplroot ~ '.worker.stats'] %}
{%- if dc.users %}
{%-   do configured.insert(0, tplroot ~ '.common.users') %}
{%- endif %}
include:
  - {{ tplroot }}.common.users
  - {{ tplroot }}.worker.scheduler
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
