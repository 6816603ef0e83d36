{#- The system accounts of the head's daemons that the firewall names in its loopback owner
    matches (files/head/loopback-owners.rules.jinja): nginx, graphite-web and carbon, and Slurm's
    controller. The rules can load only once the accounts exist, and the firewall goes up before
    the daemons are installed, so the accounts are created here, ahead of the packages, with the
    home and shell each package's own scriptlet would give them (a package finds its account
    present and keeps it). Salt's account comes with salt-master, installed before any highstate. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- set accounts = {
      'proxy': dc.account_homes.proxy,
      'graphite': dc.graphite.prefix ~ '/storage'} %}
{%- if dc.scheduler.kind == 'slurm' %}
{%-   do accounts.update({'slurm': dc.account_homes.slurm}) %}
{%- endif %}
{%- for role, home in accounts | dictsort %}

dynamic-cluster-head-accounts-user-present-{{ role }}:
  user.present:
    - name: {{ dc.accounts[role] }}
    - system: True
    - usergroup: True
    - home: {{ home }}
    - createhome: False
    - shell: {{ dc.paths.nologin }}
{%- endfor %}
