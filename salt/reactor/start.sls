{#- salt/minion/<id>/start: an accepted minion (re)started. Its key was accepted by the service,
    so it is a known worker: tell the service (dc_forward.post, salt/_runners/dc_forward.py) and
    run the highstate that makes it an execution host (queued behind any running state run). #}
{%- set minion_id = data.get('id', '') %}
{%- if minion_id and tag == 'salt/minion/' ~ minion_id ~ '/start' %}
dynamic-cluster-reactor-start-forward:
  runner.dc_forward.post:
    - args:
      - path: /salt/start
      - data: {{ {'id': minion_id} | tojson }}

dynamic-cluster-reactor-start-highstate:
  local.state.apply:
    - tgt: {{ minion_id | tojson }}
    - kwarg:
        queue: True
{%- endif %}
