{#- The Dynamic Cluster service (autoscaler, local API for the reactors and Slurm, dashboard
    API) as a systemd unit. Its settings and secrets go to a root-only file; it runs as root
    because it drives salt-key, scontrol and ipset. The program copies the bundle to
    service_dir; until it is there the unit is installed but not started (and this says so).
    The local API has one token per caller (Slurm's programs: slurm.sls writes theirs; the
    reactors: salt_master.sls; root's `dynamic-cluster` command: here); the settings carry only
    their SHA-256 digests, which the program computed. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
include:
  - {{ tplroot }}.head.config_dir
{%- set entry = dc.paths.service_dir ~ '/autoscaler/main.js' %}
{%- set head_secrets = salt['pillar.get']('dynamic_cluster_head_secrets', {}) %}
{%- set tokens = head_secrets.get('local_api_tokens', {}) %}
{#- The private CA of the cloud's APIs (PEM, not secret), when the workstation had one
    (clouds.yaml `cacert`, OS_CACERT, openstack:cacertFile): root-owned, world-readable. #}
{%- set openstack_ca = dc.openstack.get('ca_pem', '') %}
{%- set openstack_ca_file = dc.paths.config_dir ~ '/openstack-ca.pem' %}
{#- service.json: the program's part and the secret part as the program wrote them (typed by
    lib/serviceSettings.ts; the service validates the whole file at start), and the layout part
    from this tree's own paths. Disjoint top-level keys, so merging reshapes nothing. #}
{%- set settings = {} %}
{%- do settings.update(dc.service.settings) %}
{%- do settings.update(head_secrets.get('service_settings', {})) %}
{%- do settings.update({'layout': {
      'state_dir': dc.paths.service_state_dir,
      'firewall': {'worker_set': dc.firewall.worker_set},
      'openstack_cacert_file': openstack_ca_file if openstack_ca else ''}}) %}

dynamic-cluster-head-service-file-directory-state:
  file.directory:
    - name: {{ dc.paths.service_state_dir }}
    - mode: '0700'

dynamic-cluster-head-service-file-serialize-settings:
  file.serialize:
    - name: {{ dc.paths.config_dir }}/service.json
    - dataset: {{ settings | json }}
    - serializer: json
    - user: root
    - group: root
    - mode: '0600'
    - show_changes: False
    - require:
      - file: dynamic-cluster-head-config-dir-file-directory

{#- Written only when there is one: without a CA, service.json's layout.openstack_cacert_file is
    "" and a file left from an earlier CA is never read. #}
{%- if openstack_ca %}
dynamic-cluster-head-service-file-managed-openstack-ca:
  file.managed:
    - name: {{ openstack_ca_file }}
    - contents_pillar: dynamic_cluster:openstack:ca_pem
    - user: root
    - group: root
    - mode: '0644'
    - require:
      - file: dynamic-cluster-head-config-dir-file-directory
{%- endif %}

{#- Root's token of the local API (the reports and admin actions; `dynamic-cluster` reads it
    for every command but `slurm ...`): root-only. #}
dynamic-cluster-head-service-file-managed-admin-header:
  file.managed:
    - name: {{ dc.paths.config_dir }}/admin-local-api.header
    - contents: "Authorization: Bearer {{ tokens.get('admin', '') }}"
    - user: root
    - group: root
    - mode: '0600'
    - show_changes: False
    - require:
      - file: dynamic-cluster-head-config-dir-file-directory

{#- `dynamic-cluster`: the service's command-line client (Slurm's power-saving programs run it;
    root uses it for status and admin actions). #}
dynamic-cluster-head-service-file-managed-cli:
  file.managed:
    - name: {{ dc.paths.service_dir }}/bin/dynamic-cluster
    - makedirs: True
    - mode: '0755'
    - contents: |
        #!/bin/sh
        # Managed by Salt (Dynamic Cluster): the service's command-line client.
        exec /usr/bin/node {{ dc.paths.service_dir }}/autoscaler/cli.js "$@"

dynamic-cluster-head-service-file-symlink-cli:
  file.symlink:
    - name: /usr/local/bin/dynamic-cluster
    - target: {{ dc.paths.service_dir }}/bin/dynamic-cluster
    - require:
      - file: dynamic-cluster-head-service-file-managed-cli

dynamic-cluster-head-service-file-managed-unit:
  file.managed:
    - name: /etc/systemd/system/dynamic-cluster.service
    - source: salt://{{ tplroot }}/files/head/dynamic-cluster.service.jinja
    - template: jinja
    - mode: '0644'
    - context:
        dc: {{ dc | json }}
        entry: {{ entry }}

dynamic-cluster-head-service-service-running:
  service.running:
    - name: dynamic-cluster
    - enable: True
    - onlyif: test -f {{ entry }}
    - require:
      - file: dynamic-cluster-head-service-file-directory-state
    - watch:
      - file: dynamic-cluster-head-service-file-serialize-settings
{%- if openstack_ca %}
      - file: dynamic-cluster-head-service-file-managed-openstack-ca
{%- endif %}
      - file: dynamic-cluster-head-service-file-managed-unit

dynamic-cluster-head-service-test-show-notification-missing-bundle:
  test.show_notification:
    - text: >-
        The Dynamic Cluster service is not installed yet ({{ entry }} is missing): workers
        between workers.min and workers.max will not be launched automatically.
    - unless: test -f {{ entry }}
