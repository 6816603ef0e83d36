{#- The Salt master: keys from the Pulumi program (pinned by workers with master_finger), no
    auto-accept, auth events on, and the reactor map. The accept decision is the Dynamic Cluster
    service's; the reactors only forward events to its local API with a token header file that
    only the master's user can read, holding the reactors' own token (it opens only the
    /local/v1/salt/ routes). #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
include:
  - {{ tplroot }}.head.config_dir

{%- for key, mode in [('master.pem', '0400'), ('master.pub', '0644')] %}

dynamic-cluster-head-salt-master-file-managed-{{ key }}:
  file.managed:
    - name: /etc/salt/pki/master/{{ key }}
    - replace: False
    - user: salt
    - group: salt
    - mode: '{{ mode }}'
{%- endfor %}

dynamic-cluster-head-salt-master-file-managed-local-api-header:
  file.managed:
    - name: {{ dc.paths.config_dir }}/reactor-local-api.header
    - contents: |
        Authorization: Bearer {{ salt['pillar.get']('dynamic_cluster_head_secrets:local_api_tokens:salt') }}
        Content-Type: application/json
    - user: root
    - group: salt
    - mode: '0640'
    - show_changes: False
    - require:
      - file: dynamic-cluster-head-config-dir-file-directory

{#- Salt's packages (3006+) run salt-master as user salt (`user: salt` in /etc/salt/master), and
    the master reads the pillar it serves to workers from pillar_roots: the salt group reads the
    directory and the files the workers get (pillar top.sls). The head-only secrets stay
    root:root 0600 (only the head's own `salt-call --local`, as root, reads them). The Pulumi
    program writes each file with this same ownership (components/headFiles.ts) and never touches
    the directory, so a later `pulumi up` never locks the running master out; these states keep
    it so (and fix a directory made by hand). #}
dynamic-cluster-head-salt-master-file-directory-pillar:
  file.directory:
    - name: /srv/pillar
    - user: root
    - group: salt
    - mode: '0750'
{%- for pillar_file in ['top.sls', 'dynamic_cluster.sls', 'dynamic_cluster_cluster_secrets.sls'] %}

dynamic-cluster-head-salt-master-file-managed-pillar-{{ pillar_file }}:
  file.managed:
    - name: /srv/pillar/{{ pillar_file }}
    - replace: False
    - user: root
    - group: salt
    - mode: '0640'
    - require:
      - file: dynamic-cluster-head-salt-master-file-directory-pillar
{%- endfor %}

dynamic-cluster-head-salt-master-file-managed-config:
  file.managed:
    - name: /etc/salt/master.d/dynamic-cluster.conf
    - source: salt://{{ tplroot }}/files/head/salt-master.conf.jinja
    - template: jinja
    - mode: '0644'
    - context:
        dc: {{ dc | json }}

dynamic-cluster-head-salt-master-service-running:
  service.running:
    - name: salt-master
    - enable: True
    - require:
      - file: dynamic-cluster-head-salt-master-file-managed-master.pem
      - file: dynamic-cluster-head-salt-master-file-managed-master.pub
      - file: dynamic-cluster-head-salt-master-file-managed-local-api-header
{%- for pillar_file in ['top.sls', 'dynamic_cluster.sls', 'dynamic_cluster_cluster_secrets.sls'] %}
      - file: dynamic-cluster-head-salt-master-file-managed-pillar-{{ pillar_file }}
{%- endfor %}
    - watch:
      - file: dynamic-cluster-head-salt-master-file-managed-config
