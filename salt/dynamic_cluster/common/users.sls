{#- The cluster's users: same name and UID on every node, home on the shared /data volume
    (created on the head node only), SSH keys from `pulumi config` (users[].sshKeys). #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- set on_head = dc.role == 'head' %}
{%- if on_head %}
include:
  - {{ tplroot }}.head.data_volume
{%- endif %}

{%- for user in dc.users %}

dynamic-cluster-common-users-group-present-{{ user.name }}:
  group.present:
    - name: {{ user.name }}
    - gid: {{ user.uid }}

dynamic-cluster-common-users-user-present-{{ user.name }}:
  user.present:
    - name: {{ user.name }}
    - uid: {{ user.uid }}
    - gid: {{ user.uid }}
    - home: {{ dc.paths.home_root }}/{{ user.name }}
    - createhome: {{ on_head }}
    - shell: /bin/bash
    - require:
      - group: dynamic-cluster-common-users-group-present-{{ user.name }}
{%- if on_head %}
      - sls: {{ tplroot }}.head.data_volume
{%- endif %}

{%- if on_head and user.ssh_keys %}

dynamic-cluster-common-users-ssh-auth-manage-{{ user.name }}:
  ssh_auth.manage:
    - user: {{ user.name }}
    - ssh_keys: {{ user.ssh_keys | json }}
    - require:
      - user: dynamic-cluster-common-users-user-present-{{ user.name }}
{%- endif %}
{%- endfor %}
