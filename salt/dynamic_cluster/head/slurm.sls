{#- Slurm controller: slurmctld in configless mode (workers fetch slurm.conf from it), the
    Pulumi-owned floor as State=CLOUD nodes excluded from power saving, the burst pool as
    State=CLOUD nodes whose Resume/Suspend programs call the Dynamic Cluster service. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- set power_programs = {
      'resume': 'ResumeProgram',
      'suspend': 'SuspendProgram',
      'resume-fail': 'ResumeFailProgram'} %}
include:
  - {{ tplroot }}.common.repos
  - {{ tplroot }}.common.munge
  - {{ tplroot }}.head.config_dir

dynamic-cluster-head-slurm-pkg-installed:
  pkg.installed:
    - pkgs: {{ dc.packages.slurm_head | json }}
    - require:
      - sls: {{ tplroot }}.common.repos

{%- for dir in [dc.slurm.state_dir, dc.slurm.log_dir] %}

dynamic-cluster-head-slurm-file-directory-{{ dir }}:
  file.directory:
    - name: {{ dir }}
    - user: slurm
    - group: slurm
    - mode: '0750'
    - require:
      - pkg: dynamic-cluster-head-slurm-pkg-installed
{%- endfor %}

dynamic-cluster-head-slurm-file-managed-slurm-conf:
  file.managed:
    - name: {{ dc.slurm.conf_dir }}/slurm.conf
    - source: salt://{{ tplroot }}/files/head/slurm.conf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        dc: {{ dc | json }}
    - require:
      - pkg: dynamic-cluster-head-slurm-pkg-installed

dynamic-cluster-head-slurm-file-managed-cgroup-conf:
  file.managed:
    - name: {{ dc.slurm.conf_dir }}/cgroup.conf
    - source: salt://{{ tplroot }}/files/common/cgroup.conf.jinja
    - template: jinja
    - mode: '0644'
    - require:
      - pkg: dynamic-cluster-head-slurm-pkg-installed

{#- Slurm runs the power-saving programs as SlurmUser; the header file with the service token
    is readable by that user only (and root). The package creates the group slurm. #}
dynamic-cluster-head-slurm-file-managed-local-api-header:
  file.managed:
    - name: {{ dc.paths.config_dir }}/slurm-local-api.header
    - contents: "Authorization: Bearer {{ salt['pillar.get']('dynamic_cluster_head_secrets:service_token') }}"
    - user: root
    - group: slurm
    - mode: '0640'
    - show_changes: False
    - require:
      - pkg: dynamic-cluster-head-slurm-pkg-installed
      - file: dynamic-cluster-head-config-dir-file-directory

{%- for action, program in power_programs.items() %}

dynamic-cluster-head-slurm-file-managed-{{ action }}-program:
  file.managed:
    - name: {{ dc.paths.libexec_dir }}/slurm-{{ action }}
    - source: salt://{{ tplroot }}/files/head/slurm-power.sh.jinja
    - template: jinja
    - makedirs: True
    - user: root
    - group: root
    - mode: '0755'
    - context:
        action: {{ action }}
        program: {{ program }}
        header_file: {{ dc.paths.config_dir }}/slurm-local-api.header
        port: {{ dc.service.local_api_port }}
        cli: {{ dc.paths.service_dir }}/bin/dynamic-cluster
{%- endfor %}

dynamic-cluster-head-slurm-service-running:
  service.running:
    - name: slurmctld
    - enable: True
    - require:
      - sls: {{ tplroot }}.common.munge
{%- for dir in [dc.slurm.state_dir, dc.slurm.log_dir] %}
      - file: dynamic-cluster-head-slurm-file-directory-{{ dir }}
{%- endfor %}
{%- for action in power_programs %}
      - file: dynamic-cluster-head-slurm-file-managed-{{ action }}-program
{%- endfor %}
      - file: dynamic-cluster-head-slurm-file-managed-local-api-header
    - watch:
      - file: dynamic-cluster-head-slurm-file-managed-slurm-conf
      - file: dynamic-cluster-head-slurm-file-managed-cgroup-conf
