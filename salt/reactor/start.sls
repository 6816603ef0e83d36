{#- salt/minion/<id>/start: an accepted minion (re)started. The service decides: it starts the
    worker's highstate itself (`salt -L <id> state.apply`) only for a minion whose key it
    accepted, one at a time and at most once per worker in five minutes. Nothing here targets a
    minion: an event's text (which a minion can forge, `*` included) never chooses whom a job
    runs on. dc_forward.post (salt/_runners/dc_forward.py) delivers the claim. #}
{%- set minion_id = data.get('id', '') %}
{%- if minion_id and tag == 'salt/minion/' ~ minion_id ~ '/start' %}
dynamic-cluster-reactor-start-forward:
  runner.dc_forward.post:
    - args:
      - path: /salt/start
      - data: {{ {'id': minion_id} | tojson }}
{%- endif %}
