{#- Slurm controller: slurmctld in configless mode (workers fetch slurm.conf from it), the
    Pulumi-owned floor as State=CLOUD nodes excluded from power saving, the burst pool as
    State=CLOUD nodes whose Resume/Suspend programs call the Dynamic Cluster service. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{#- The pools slurm.conf declares (pillar `pools`, the default pool first; an older pillar has
    only `workers`, that one pool). Each pool's static and burst nodes: its min and max - min,
    or more while the service still has servers for higher nodes (workers.max or min lowered
    under running jobs: a slurmctld restart with those nodes gone would fail their jobs). The
    service writes the numbers it uses (autoscaler/nodesInUse.ts: nodes-in-use.json by pool; the
    default pool's also in burst-nodes-in-use and static-nodes-in-use, which an older service
    wrote), retires the surplus nodes (drained, deleted once idle), and the next state run after
    that declares only what the pillar says. A pool taken out of the pillar while the service
    still has servers of it stays declared, retired (in no partition), until they are gone. #}
{%- set state_dir = dc.paths.service_state_dir %}
{%- macro count_file(name) -%}
{{ salt['file.read'](state_dir ~ '/' ~ name) | int if salt['file.file_exists'](state_dir ~ '/' ~ name) else 0 }}
{%- endmacro %}
{%- set in_use_file = state_dir ~ '/nodes-in-use.json' %}
{%- set in_use = salt['file.read'](in_use_file) | load_json
      if salt['file.file_exists'](in_use_file) else {} %}
{%- set w = dc.workers %}
{%- set pools = dc.get('pools') or [{
      'name': w.static_prefix[:-3], 'static_prefix': w.static_prefix,
      'static_count': w.static_count, 'burst_prefix': w.burst_prefix,
      'burst_count': w.burst_count, 'cpus': w.cpus, 'real_memory_mb': w.real_memory_mb,
      'features': [], 'gres': '', 'gres_file': '', 'min_idle': 0,
      'partition': dc.scheduler.slurm.partition, 'idle_timeout': w.idle_timeout}] %}
{%- set declared = [] %}
{%- for pool in pools %}
{%-   set used = in_use.get(pool.name, {}) %}
{%-   set static_used = [used.get('static', 0), count_file('static-nodes-in-use') | int if loop.first else 0] | max %}
{%-   set burst_used = [used.get('burst', 0), count_file('burst-nodes-in-use') | int if loop.first else 0] | max %}
{%-   do declared.append(dict(pool,
        static_declared=[pool.static_count, static_used] | max,
        burst_declared=[pool.burst_count, burst_used] | max,
        retired=False)) %}
{%- endfor %}
{%- set configured = pools | map(attribute='name') | list %}
{%- for name, used in in_use | dictsort %}
{%-   if name not in configured and (used.get('static', 0) > 0 or used.get('burst', 0) > 0) %}
{%-     do declared.append({
          'name': name, 'static_prefix': name ~ '-st', 'burst_prefix': name ~ '-dy',
          'static_declared': used.get('static', 0), 'burst_declared': used.get('burst', 0),
          'cpus': 1, 'real_memory_mb': 1, 'features': ['retired'], 'gres': '', 'gres_file': '',
          'min_idle': 0, 'partition': '', 'idle_timeout': w.idle_timeout, 'retired': True}) %}
{%-   endif %}
{%- endfor %}
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
        pools: {{ declared | json }}
    - require:
      - pkg: dynamic-cluster-head-slurm-pkg-installed

{#- GRES (GPUs, ...) of the pools' nodes; slurmd fetches it with slurm.conf (configless). #}
dynamic-cluster-head-slurm-file-managed-gres-conf:
  file.managed:
    - name: {{ dc.slurm.conf_dir }}/gres.conf
    - source: salt://{{ tplroot }}/files/head/gres.conf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        pools: {{ declared | json }}
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
      - file: dynamic-cluster-head-slurm-file-managed-gres-conf
      - file: dynamic-cluster-head-slurm-file-managed-cgroup-conf
