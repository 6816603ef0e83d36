{#- dynamic-cluster/stats: a worker's collector (salt/_modules/dc_stats.py) sent its figures;
    the service writes them to Graphite. The payload is under data['data'] (event.send); the
    minion ID comes from the master (data['id']), not from the payload. The collector signs
    {id, time, metrics} with the minion's key (its module header has the canonical form); the
    signed text and the signature go along for the service to check against the key the master
    accepted for data['id']. The data travels as a YAML flow mapping, so numbers in exponent
    form (1e-05) would arrive as strings; the collector never sends them. #}
{%- set stats = data.get('data') %}
{%- if data.get('id') and stats is mapping and stats.get('metrics') is mapping %}
{%- set forward = {'id': data['id'], 'time': stats.get('time'), 'metrics': stats['metrics'],
                   'signed': stats.get('signed', ''), 'signature': stats.get('signature', '')} %}
dynamic-cluster-reactor-stats-forward:
  runner.dc_forward.post:
    - args:
      - path: /salt/stats
      - data: {{ forward | tojson }}
{%- endif %}
