{#- /data from the head node over NFSv4 (hard mount: a job never sees a short read). #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}

dynamic-cluster-worker-nfs-client-pkg-installed:
  pkg.installed:
    - pkgs: {{ dc.packages.nfs_client | json }}

dynamic-cluster-worker-nfs-client-mount-mounted:
  mount.mounted:
    - name: {{ dc.data.mount_point }}
    - device: {{ dc.head.address }}:{{ dc.data.mount_point }}
    - fstype: nfs4
    - opts: rw,hard,noatime,_netdev,vers=4.2
    - mkmnt: True
    - persist: True
    - require:
      - pkg: dynamic-cluster-worker-nfs-client-pkg-installed
