{#- dynamic-cluster/worker/ready|failed: the worker highstate finished (its last state sends one
    of the two). Any minion can send this in any minion's name, so the service takes it only as a
    hint: it reads the worker's highstate result from the master's job cache itself. #}
{%- set outcome = tag.split('/')[-1] %}
{%- set payload = data.get('data') %}
{%- if outcome in ('ready', 'failed') and data.get('id') and payload is mapping %}
dynamic-cluster-reactor-worker-forward:
  runner.dc_forward.post:
    - args:
      - path: /salt/worker/{{ outcome }}
      - data: {{ {'id': data['id'], 'node_name': payload.get('node_name', '')} | tojson }}
{%- endif %}
