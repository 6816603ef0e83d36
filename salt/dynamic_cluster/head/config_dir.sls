{#- /etc/dynamic-cluster: the token header files of the reactors (root:salt), of Slurm's
    power-saving programs (root:slurm) and of root's `dynamic-cluster` command (root:root 0600),
    and the service's settings (root:root). Every state
    that writes a file into it includes this SLS and requires this state, so the directory is
    always created here, with this owner and mode, whatever order the highstate runs in (a file
    state's `makedirs` would create it with that file's group and mode: root:slurm 0750 left
    salt-master, running as `salt`, unable to read its header file).
    0711: root alone lists and writes it; `salt` and `slurm` (others) may only pass through to
    a file whose name they know, and that file's own owner, group and mode decide who reads it.
    No group fits here (the two daemons need different files), and 0755 would let every local
    account, cluster users included, list a directory of secrets none of them needs to see. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}

dynamic-cluster-head-config-dir-file-directory:
  file.directory:
    - name: {{ dc.paths.config_dir }}
    - user: root
    - group: root
    - mode: '0711'
