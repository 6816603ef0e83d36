{#- salt/auth: a minion presented a key. Pending and denied keys go to the Dynamic Cluster
    service, which accepts a pending key only for a minion ID it gave to a worker that is still
    starting, once (salt-key), and records denied ones. Accepted keys re-authenticating
    (act=accept) and rejected ones are ignored. Fields are top-level (anchors.md 6.1). #}
{%- from 'reactor/settings.jinja' import local_api, header_file %}
{%- if data.get('act') in ('pend', 'denied') and data.get('id') %}
dynamic-cluster-reactor-auth-forward:
  runner.http.query:
    - args:
      - url: {{ local_api }}/salt/auth
      - method: POST
      - header_file: {{ header_file }}
      - data: '{{ {'id': data['id'], 'act': data['act'], 'pub': data.get('pub', '')} | tojson }}'
      - status: True
      - raise_error: False
{%- endif %}
