{#- MUNGE, Slurm's authentication: the same key on every node, generated once by the Pulumi
    program (pillar dynamic_cluster_cluster_secrets:munge_key, base64). #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
include:
  - {{ tplroot }}.common.repos

dynamic-cluster-common-munge-pkg-installed:
  pkg.installed:
    - pkgs: {{ dc.packages.munge | json }}
    - require:
      - sls: {{ tplroot }}.common.repos

dynamic-cluster-common-munge-file-directory-etc:
  file.directory:
    - name: /etc/munge
    - user: munge
    - group: munge
    - mode: '0700'
    - require:
      - pkg: dynamic-cluster-common-munge-pkg-installed

{#- The directory is 0700, so the key is never readable by others, even while being written. #}
dynamic-cluster-common-munge-file-decode-key:
  file.decode:
    - name: /etc/munge/munge.key
    - contents_pillar: dynamic_cluster_cluster_secrets:munge_key
    - encoding_type: base64
    - require:
      - file: dynamic-cluster-common-munge-file-directory-etc

dynamic-cluster-common-munge-file-managed-key-mode:
  file.managed:
    - name: /etc/munge/munge.key
    - replace: False
    - user: munge
    - group: munge
    - mode: '0400'
    - require:
      - file: dynamic-cluster-common-munge-file-decode-key

dynamic-cluster-common-munge-service-running:
  service.running:
    - name: munge
    - enable: True
    - watch:
      - file: dynamic-cluster-common-munge-file-decode-key
      - file: dynamic-cluster-common-munge-file-managed-key-mode
