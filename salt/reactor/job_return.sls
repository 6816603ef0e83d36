{#- salt/job/<jid>/ret/<id>: a minion returned a job. Only state runs matter (the highstate the
    start reactor queues, or one run by hand): the service gets the job's ID as a hint and reads
    the result from the master's job cache itself, so nothing of the return travels here. Every
    other job's return is ignored. #}
{%- if data.get('fun') in ('state.apply', 'state.highstate') and data.get('id') and data.get('jid') %}
dynamic-cluster-reactor-job-return-forward:
  runner.dc_forward.post:
    - args:
      - path: /salt/job-return
      - data: {{ {'jid': data['jid'], 'id': data['id'], 'fun': data['fun']} | tojson }}
{%- endif %}
