{#- EPEL (Slurm, munge) and CodeReady Builder (EPEL's build dependencies) on Rocky/Alma 9. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}

dynamic-cluster-common-repos-pkg-installed-epel:
  pkg.installed:
    - pkgs: {{ dc.packages.common | json }}

dynamic-cluster-common-repos-cmd-run-enable-crb:
  cmd.run:
    - name: dnf config-manager --set-enabled crb
    - unless: dnf repolist --enabled | grep -q '^crb'
    - require:
      - pkg: dynamic-cluster-common-repos-pkg-installed-epel
