{#- dynamic-cluster/stats: a worker's collector (salt/_modules/dc_stats.py) sent its figures;
    the service writes them to Graphite. The payload is under data['data'] (event.send); the
    minion ID comes from the master (data['id']), not from the payload. #}
{%- from 'reactor/settings.jinja' import local_api, header_file %}
{%- set stats = data.get('data') %}
{%- if data.get('id') and stats is mapping and stats.get('metrics') is mapping %}
dynamic-cluster-reactor-stats-forward:
  runner.http.query:
    - args:
      - url: {{ local_api }}/salt/stats
      - method: POST
      - header_file: {{ header_file }}
      - data: '{{ {'id': data['id'], 'time': stats.get('time'), 'metrics': stats['metrics']} | tojson }}'
      - status: True
      - raise_error: False
{%- endif %}
