{#- salt/job/<jid>/ret/<id>: a minion returned a job. Only state runs matter: the service gets the
    job's ID as a hint and, when it is a highstate the service started itself, reads the result
    from the master's job cache (one look-up at a time); any other job ID costs it nothing. Every
    other job's return is ignored here. #}
{%- if data.get('fun') in ('state.apply', 'state.highstate') and data.get('id') and data.get('jid') %}
dynamic-cluster-reactor-job-return-forward:
  runner.dc_forward.post:
    - args:
      - path: /salt/job-return
      - data: {{ {'jid': data['jid'], 'id': data['id'], 'fun': data['fun']} | tojson }}
{%- endif %}
