{#- nginx: the only thing users reach besides SSH. TLS with the certificate the Pulumi program
    generated; /dashboard and /api go to the Dynamic Cluster service, /graphite to graphite-web,
    both behind the service's login (auth_request). Port 80 is not opened. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import dc with context %}
{%- set tls = salt['pillar.get']('dynamic_cluster_head_secrets:tls', {}) %}
include:
  - {{ tplroot }}.common.repos

dynamic-cluster-head-proxy-pkg-installed:
  pkg.installed:
    - pkgs: {{ dc.packages.proxy | json }}

dynamic-cluster-head-proxy-file-directory-tls:
  file.directory:
    - name: {{ dc.paths.tls_dir }}
    - user: root
    - group: root
    - mode: '0700'
    - makedirs: True

dynamic-cluster-head-proxy-file-managed-tls-certificate:
  file.managed:
    - name: {{ dc.paths.tls_dir }}/tls.crt
    - contents_pillar: dynamic_cluster_head_secrets:tls:certificate
    - mode: '0644'
    - require:
      - file: dynamic-cluster-head-proxy-file-directory-tls

dynamic-cluster-head-proxy-file-managed-tls-key:
  file.managed:
    - name: {{ dc.paths.tls_dir }}/tls.key
    - contents_pillar: dynamic_cluster_head_secrets:tls:key
    - mode: '0600'
    - show_changes: False
    - require:
      - file: dynamic-cluster-head-proxy-file-directory-tls

dynamic-cluster-head-proxy-file-managed-config:
  file.managed:
    - name: /etc/nginx/conf.d/dynamic-cluster.conf
    - source: salt://{{ tplroot }}/files/head/nginx.conf.jinja
    - template: jinja
    - mode: '0644'
    - context:
        dc: {{ dc | json }}
    - require:
      - pkg: dynamic-cluster-head-proxy-pkg-installed

{%- if dc.selinux %}

{#- SELinux (enforcing on Rocky/Alma) forbids nginx to connect to local ports by default. Salt's
    selinux module loads only if semanage is on PATH (policycoreutils-python-utils, in
    packages.proxy), so this state requires the package state. #}
dynamic-cluster-head-proxy-selinux-boolean-network-connect:
  selinux.boolean:
    - name: httpd_can_network_connect
    - value: True
    - persist: True
    - onlyif: selinuxenabled
    - require:
      - pkg: dynamic-cluster-head-proxy-pkg-installed
{%- endif %}

dynamic-cluster-head-proxy-service-running:
  service.running:
    - name: nginx
    - enable: True
    - reload: True
    - require:
{%- if dc.selinux %}
      - selinux: dynamic-cluster-head-proxy-selinux-boolean-network-connect
{%- else %}
      - pkg: dynamic-cluster-head-proxy-pkg-installed
{%- endif %}
    - watch:
      - file: dynamic-cluster-head-proxy-file-managed-config
      - file: dynamic-cluster-head-proxy-file-managed-tls-certificate
      - file: dynamic-cluster-head-proxy-file-managed-tls-key
