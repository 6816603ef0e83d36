{#- The /data volume (Cinder, survives head-node replacement): formatted once (XFS) if blank,
    mounted by its stable virtio ID, never reformatted. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}

{#- mkfs.xfs: Rocky's cloud images have it (their root is XFS), Debian's do not. #}
dynamic-cluster-head-data-volume-pkg-installed:
  pkg.installed:
    - pkgs: {{ dc.packages.data_volume | json }}

dynamic-cluster-head-data-volume-blockdev-formatted:
  blockdev.formatted:
    - name: {{ dc.data.device }}
    - fs_type: xfs
    - require:
      - pkg: dynamic-cluster-head-data-volume-pkg-installed

dynamic-cluster-head-data-volume-mount-mounted:
  mount.mounted:
    - name: {{ dc.data.mount_point }}
    - device: {{ dc.data.device }}
    - fstype: xfs
    - opts: defaults,nofail,noatime
    - mkmnt: True
    - persist: True
    - require:
      - blockdev: dynamic-cluster-head-data-volume-blockdev-formatted

dynamic-cluster-head-data-volume-file-directory-home:
  file.directory:
    - name: {{ dc.paths.home_root }}
    - user: root
    - group: root
    - mode: '0755'
    - require:
      - mount: dynamic-cluster-head-data-volume-mount-mounted
