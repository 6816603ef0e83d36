{#- The stats collector: salt/_modules/dc_stats.py, synced to the worker and run by Salt's
    scheduler every stats.interval_seconds; each run sends one dynamic-cluster/stats event. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}

dynamic-cluster-worker-stats-saltutil-sync-modules:
  saltutil.sync_modules:
    - refresh: True

dynamic-cluster-worker-stats-schedule-present:
  schedule.present:
    - name: dynamic-cluster-stats
    - function: dc_stats.send
    - seconds: {{ dc.stats.interval_seconds }}
    - splay: 5
    - return_job: False
    - persist: True
    - require:
      - saltutil: dynamic-cluster-worker-stats-saltutil-sync-modules
