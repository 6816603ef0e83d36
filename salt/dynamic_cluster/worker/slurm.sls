{#- slurmd in configless mode: it fetches slurm.conf from slurmctld and registers under the
    node name the cluster gave this worker (grain dynamic_cluster:node_name), with its own
    address (cloud_reg_addrs), so Slurm accepts a freshly booted cloud node. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- set node_name = salt['grains.get']('dynamic_cluster:node_name') %}
include:
  - {{ tplroot }}.common.repos
  - {{ tplroot }}.common.munge
  - {{ tplroot }}.worker.nfs_client

{#- With the Torque commands' package where the family has one: it holds the spank_pbs plugin
    the head's plugstack.conf names (the PBS_* variables of Torque users' jobs). #}
dynamic-cluster-worker-slurm-pkg-installed:
  pkg.installed:
    - pkgs: {{ (dc.packages.slurm_worker + dc.packages.torque_commands_worker) | json }}
    - require:
      - sls: {{ tplroot }}.common.repos

dynamic-cluster-worker-slurm-file-managed-cgroup-conf:
  file.managed:
    - name: {{ dc.slurm.conf_dir }}/cgroup.conf
    - source: salt://{{ tplroot }}/files/common/cgroup.conf.jinja
    - template: jinja
    - makedirs: True
    - mode: '0644'
    - require:
      - pkg: dynamic-cluster-worker-slurm-pkg-installed

dynamic-cluster-worker-slurm-file-managed-environment:
  file.managed:
    - name: {{ dc.paths.slurmd_environment }}
    - contents: >-
        SLURMD_OPTIONS="--conf-server {{ dc.head.address }}:{{ dc.scheduler.slurm.slurmctld_port }} -N {{ node_name }}"
    - mode: '0644'
    - require:
      - pkg: dynamic-cluster-worker-slurm-pkg-installed

{#- Configless: slurm.conf comes from slurmctld, so the packages' unit condition on a local
    slurm.conf (Debian's slurmd.service has it) would leave slurmd "started" but never run.
    An empty ConditionPathExists= in a drop-in clears the packaged one. #}
dynamic-cluster-worker-slurm-file-managed-unit-configless:
  file.managed:
    - name: /etc/systemd/system/slurmd.service.d/dynamic-cluster-configless.conf
    - contents: |
        # Managed by Salt (Dynamic Cluster): slurmd fetches slurm.conf from slurmctld.
        [Unit]
        ConditionPathExists=
    - makedirs: True
    - mode: '0644'

dynamic-cluster-worker-slurm-file-directory-spool:
  file.directory:
    - name: {{ dc.slurm.spool_dir }}
    - user: root
    - group: root
    - mode: '0755'

dynamic-cluster-worker-slurm-file-directory-log:
  file.directory:
    - name: {{ dc.slurm.log_dir }}
    - user: slurm
    - group: slurm
    - mode: '0750'
    - require:
      - pkg: dynamic-cluster-worker-slurm-pkg-installed

dynamic-cluster-worker-slurm-service-running:
  service.running:
    - name: slurmd
    - enable: True
    - require:
      - sls: {{ tplroot }}.common.munge
      - sls: {{ tplroot }}.worker.nfs_client
      - file: dynamic-cluster-worker-slurm-file-directory-spool
      - file: dynamic-cluster-worker-slurm-file-directory-log
    - watch:
      - file: dynamic-cluster-worker-slurm-file-managed-environment
      - file: dynamic-cluster-worker-slurm-file-managed-unit-configless
      - file: dynamic-cluster-worker-slurm-file-managed-cgroup-conf
