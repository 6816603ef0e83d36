{#- Graphite (carbon-cache, whisper, graphite-web): not packaged in EPEL 8/9, so it goes where
    Graphite's own docs put it, a virtualenv under /opt/graphite, pinned to the last release
    with every dependency (files/head/graphite/requirements.txt).
    Both daemons listen on the head node's loopback only: the service writes to carbon, users
    reach graphite-web through the TLS proxy.
    pip installs graphite-web's Python package into the virtualenv's site-packages (its old
    setup.py layout, {{prefix}}/webapp/graphite, is for `setup.py install` only), so the local
    settings are the module graphite-web loads by name (GRAPHITE_SETTINGS_MODULE=local_settings,
    from {{prefix}}/conf on PYTHONPATH) and name the install's directories themselves. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- set g = dc.graphite %}
{%- set prefix = g.prefix %}
{#- graphite-web's Django secret, derived one-way from root's local-API token (never stored
    twice). #}
{%- set secret_key = salt['hashutil.sha256_digest'](
      'graphite-web:' ~ salt['pillar.get']('dynamic_cluster_head_secrets:local_api_tokens:admin')) %}
include:
  - {{ tplroot }}.common.repos
  - {{ tplroot }}.head.accounts

dynamic-cluster-head-graphite-pkg-installed-build:
  pkg.installed:
    - pkgs: {{ dc.packages.graphite_build | json }}
    - require:
      - sls: {{ tplroot }}.common.repos

{#- Every package pinned, dependencies included (files/head/graphite/requirements.txt): pip
    installs exactly the file (--no-deps) and `pip check` fails the state if a dependency is
    missing, instead of graphite-web failing at its first request. Installed again only when the
    file changes. #}
dynamic-cluster-head-graphite-file-managed-requirements:
  file.managed:
    - name: {{ prefix }}/requirements.txt
    - source: salt://{{ tplroot }}/files/head/graphite/requirements.txt
    - makedirs: True
    - mode: '0644'

dynamic-cluster-head-graphite-cmd-run-virtualenv:
  cmd.run:
    - name: >-
        python3 -m venv {{ prefix }} &&
        {{ prefix }}/bin/pip install --no-cache-dir --no-deps --require-virtualenv
        -r {{ prefix }}/requirements.txt &&
        {{ prefix }}/bin/pip check &&
        cp {{ prefix }}/requirements.txt {{ prefix }}/requirements.installed
    - unless: >-
        test -x {{ prefix }}/bin/carbon-cache.py &&
        cmp -s {{ prefix }}/requirements.txt {{ prefix }}/requirements.installed
    - env:
        PYTHONPATH: {{ prefix }}/lib:{{ prefix }}/webapp
    - require:
      - pkg: dynamic-cluster-head-graphite-pkg-installed-build
      - file: dynamic-cluster-head-graphite-file-managed-requirements

{%- for dir in ['storage', 'storage/whisper', 'storage/log', 'storage/log/webapp'] %}

dynamic-cluster-head-graphite-file-directory-{{ dir }}:
  file.directory:
    - name: {{ prefix }}/{{ dir }}
    - user: {{ dc.accounts.graphite }}
    - group: {{ dc.accounts.graphite }}
    - mode: '0750'
    - makedirs: True
    - require:
      - cmd: dynamic-cluster-head-graphite-cmd-run-virtualenv
      - user: dynamic-cluster-head-accounts-user-present-graphite
{%- endfor %}

{%- for conf in ['carbon.conf', 'storage-schemas.conf'] %}

dynamic-cluster-head-graphite-file-managed-{{ conf }}:
  file.managed:
    - name: {{ prefix }}/conf/{{ conf }}
    - source: salt://{{ tplroot }}/files/head/graphite/{{ conf }}.jinja
    - template: jinja
    - mode: '0644'
    - context:
        dc: {{ dc | json }}
    - require:
      - cmd: dynamic-cluster-head-graphite-cmd-run-virtualenv
{%- endfor %}

dynamic-cluster-head-graphite-file-managed-local-settings:
  file.managed:
    - name: {{ prefix }}/conf/local_settings.py
    - source: salt://{{ tplroot }}/files/head/graphite/local_settings.py.jinja
    - template: jinja
    - user: root
    - group: {{ dc.accounts.graphite }}
    - mode: '0640'
    - show_changes: False
    - context:
        dc: {{ dc | json }}
        secret_key: {{ secret_key }}
    - require:
      - cmd: dynamic-cluster-head-graphite-cmd-run-virtualenv

dynamic-cluster-head-graphite-cmd-run-migrate:
  cmd.run:
    - name: {{ prefix }}/bin/django-admin migrate --settings=graphite.settings --noinput
    - runas: {{ dc.accounts.graphite }}
    - env:
        PYTHONPATH: {{ prefix }}/conf
        GRAPHITE_SETTINGS_MODULE: local_settings
    - onchanges:
      - cmd: dynamic-cluster-head-graphite-cmd-run-virtualenv
    - require:
      - file: dynamic-cluster-head-graphite-file-managed-local-settings
      - file: dynamic-cluster-head-graphite-file-directory-storage/log/webapp

{%- for unit in ['carbon-cache', 'graphite-web'] %}

dynamic-cluster-head-graphite-file-managed-{{ unit }}-unit:
  file.managed:
    - name: /etc/systemd/system/{{ unit }}.service
    - source: salt://{{ tplroot }}/files/head/graphite/{{ unit }}.service.jinja
    - template: jinja
    - mode: '0644'
    - context:
        dc: {{ dc | json }}

dynamic-cluster-head-graphite-service-running-{{ unit }}:
  service.running:
    - name: {{ unit }}
    - enable: True
    - require:
      - file: dynamic-cluster-head-graphite-file-directory-storage/whisper
      - cmd: dynamic-cluster-head-graphite-cmd-run-migrate
    - watch:
      - file: dynamic-cluster-head-graphite-file-managed-{{ unit }}-unit
      - file: dynamic-cluster-head-graphite-file-managed-carbon.conf
      - file: dynamic-cluster-head-graphite-file-managed-storage-schemas.conf
      - file: dynamic-cluster-head-graphite-file-managed-local-settings
{%- endfor %}
