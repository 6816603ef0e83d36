{#- salt/minion/<id>/start: an accepted minion (re)started. Its key was accepted by the service,
    so it is a known worker: tell the service and run the highstate that makes it an execution
    host (queued behind any running state run). #}
{%- from 'reactor/settings.jinja' import local_api, header_file %}
{%- set minion_id = data.get('id', '') %}
{%- if minion_id and tag == 'salt/minion/' ~ minion_id ~ '/start' %}
dynamic-cluster-reactor-start-forward:
  runner.http.query:
    - args:
      - url: {{ local_api }}/salt/start
      - method: POST
      - header_file: {{ header_file }}
      - data: '{{ {'id': minion_id} | tojson }}'
      - status: True
      - raise_error: False

dynamic-cluster-reactor-start-highstate:
  local.state.apply:
    - tgt: {{ minion_id | tojson }}
    - kwarg:
        queue: True
{%- endif %}
