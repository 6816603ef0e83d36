{#- Slurm controller: slurmctld in configless mode (workers fetch slurm.conf from it), the
    Pulumi-owned floor as State=CLOUD nodes excluded from power saving, the burst pool as
    State=CLOUD nodes whose Resume/Suspend programs call the Dynamic Cluster service. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{#- Burst nodes slurm.conf declares: workers.max - workers.min, or more while the service still
    has servers for nodes beyond that (workers.max was lowered under running jobs): a slurmctld
    restart with those nodes gone would fail their jobs. The service writes the number it uses
    (autoscaler/nodesInUse.ts), retires the surplus nodes (drained, deleted once idle), and the
    next state run after that declares only workers.max - workers.min. #}
{%- set in_use_file = dc.paths.service_state_dir ~ '/burst-nodes-in-use' %}
{%- set burst_in_use = salt['file.read'](in_use_file) | int
      if salt['file.file_exists'](in_use_file) else 0 %}
{%- set burst_declared = [dc.workers.burst_count, burst_in_use] | max %}
{#- The same for the floor: lowering workers.min hands its surplus servers to the service
    (components/workerPool.ts), which drains them and deletes each once idle; their static nodes
    stay declared until then (static-nodes-in-use). #}
{%- set static_in_use_file = dc.paths.service_state_dir ~ '/static-nodes-in-use' %}
{%- set static_in_use = salt['file.read'](static_in_use_file) | int
      if salt['file.file_exists'](static_in_use_file) else 0 %}
{%- set static_declared = [dc.workers.static_count, static_in_use] | max %}
{%- set power_programs = {
      'resume': 'ResumeProgram',
      'suspend': 'SuspendProgram',
      'resume-fail': 'ResumeFailProgram'} %}
include:
  - {{ tplroot }}.common.repos
  - {{ tplroot }}.common.munge
  - {{ tplroot }}.head.config_dir
  - {{ tplroot }}.head.torque_commands

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
        burst_declared: {{ burst_declared }}
        static_declared: {{ static_declared }}
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

{#- Slurm runs the power-saving programs as SlurmUser; the header file with Slurm's own token
    of the service's local API (it opens only the resume/suspend/resume-fail routes) is readable
    by that user only (and root). The package creates the group slurm. #}
dynamic-cluster-head-slurm-file-managed-local-api-header:
  file.managed:
    - name: {{ dc.paths.config_dir }}/slurm-local-api.header
    - contents: "Authorization: Bearer {{ salt['pillar.get']('dynamic_cluster_head_secrets:local_api_tokens:slurm') }}"
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
