{#- Torque users keep their job scripts and habits on Slurm: the Torque commands Slurm ships
    (qsub, qstat, qdel, qhold, qrls, pbsnodes; they translate to sbatch, squeue, scancel, ...),
    and plugstack.conf loading Slurm's spank_pbs plugin, which sets PBS_O_WORKDIR, PBS_JOBID,
    PBS_JOBNAME, PBS_O_HOST, ... in every job from the Slurm values. sbatch itself reads #PBS
    directives. Slurm serves plugstack.conf to the workers with slurm.conf (configless); the
    plugin's path is relative to each machine's own PluginDir, so it holds whatever the worker's
    family is. Optional: a worker without the plugin runs jobs, without the PBS variables. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
include:
  - {{ tplroot }}.common.repos

dynamic-cluster-head-torque-commands-pkg-installed:
  pkg.installed:
    - pkgs: {{ dc.packages.torque_commands_head | json }}
    - require:
      - sls: {{ tplroot }}.common.repos

dynamic-cluster-head-torque-commands-file-managed-plugstack-conf:
  file.managed:
    - name: {{ dc.slurm.conf_dir }}/plugstack.conf
    - makedirs: True
    - user: root
    - group: root
    - mode: '0644'
    - contents: |
        # Managed by Salt (Dynamic Cluster). Served to the workers with slurm.conf.
        # spank_pbs: PBS_O_WORKDIR, PBS_JOBID, PBS_JOBNAME, ... for Torque users' job scripts.
        optional spank_pbs.so

{#- In front of Slurm's qsub (/usr/local/bin comes first in PATH): copies a script's #PBS -N, -o,
    -e and -j to the command line, which Slurm's qsub would otherwise override with its own
    output file names (the file's header says why). #}
dynamic-cluster-head-torque-commands-file-managed-qsub:
  file.managed:
    - name: /usr/local/bin/qsub
    - source: salt://{{ tplroot }}/files/head/qsub.py
    - user: root
    - group: root
    - mode: '0755'
    - require:
      - pkg: dynamic-cluster-head-torque-commands-pkg-installed
