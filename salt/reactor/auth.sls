{#- salt/auth: a minion presented a key. Pending and denied keys go to the Dynamic Cluster
    service, which accepts a pending key only for a minion ID it gave to a worker that is still
    starting, once (salt-key), and records denied ones. Accepted keys re-authenticating
    (act=accept) and rejected ones are ignored. The event's fields are top-level (Salt's
    salt/channel/server.py fires salt/auth with the auth load itself; reactorCases.ts in the tests).
    dc_forward.post (salt/_runners/dc_forward.py) sends the data to the service's local API and
    logs any failure at WARNING in the master's log. #}
{%- if data.get('act') in ('pend', 'denied') and data.get('id') %}
dynamic-cluster-reactor-auth-forward:
  runner.dc_forward.post:
    - args:
      - path: /salt/auth
      - data: {{ {'id': data['id'], 'act': data['act'], 'pub': data.get('pub', '')} | tojson }}
{%- endif %}
