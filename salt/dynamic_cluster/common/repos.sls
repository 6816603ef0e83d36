{#- Package repositories beyond the OS's own: on Rocky/Alma 9, EPEL (Slurm, munge) and
    CodeReady Builder (EPEL's build dependencies); Debian 12's own archive has every package.
    States that install packages require this SLS, so it always declares a state. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- if dc.repos.epel %}

dynamic-cluster-common-repos-pkg-installed-epel:
  pkg.installed:
    - pkgs: {{ dc.packages.common | json }}

dynamic-cluster-common-repos-cmd-run-enable-crb:
  cmd.run:
    - name: dnf config-manager --set-enabled crb
    - unless: dnf repolist --enabled | grep -q '^crb'
    - require:
      - pkg: dynamic-cluster-common-repos-pkg-installed-epel
{%- else %}

dynamic-cluster-common-repos-test-nop-os-archive:
  test.nop:
    - name: {{ dc.os_family }} needs no repository beyond the OS's own
{%- endif %}
