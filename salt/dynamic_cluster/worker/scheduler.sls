{#- The scheduler's execution daemon for the cluster's scheduler kind. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
include:
  - {{ tplroot }}.worker.{{ dc.scheduler.kind }}
