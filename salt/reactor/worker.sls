{#- dynamic-cluster/worker/ready|failed: the worker highstate finished (its last state sends one
    of the two). The service marks the worker ready (or failed, with the failed state IDs). #}
{%- from 'reactor/settings.jinja' import local_api, header_file %}
{%- set outcome = tag.split('/')[-1] %}
{%- set payload = data.get('data') %}
{%- if outcome in ('ready', 'failed') and data.get('id') and payload is mapping %}
dynamic-cluster-reactor-worker-forward:
  runner.http.query:
    - args:
      - url: {{ local_api }}/salt/worker/{{ outcome }}
      - method: POST
      - header_file: {{ header_file }}
      - data: '{{ {'id': data['id'], 'node_name': payload.get('node_name', '')} | tojson }}'
      - status: True
      - raise_error: False
{%- endif %}
