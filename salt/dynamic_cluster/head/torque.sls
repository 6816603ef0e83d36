{#- Torque server states are their own piece of work (the scheduler adapter and its states land
    together). Until then a Torque cluster fails here, loudly, instead of coming up without a
    scheduler. #}
dynamic-cluster-head-torque-test-fail-without-changes:
  test.fail_without_changes:
    - name: >-
        scheduler=torque: the Torque server states are not part of this release yet. Deploy with
        the default scheduler (`pulumi config set scheduler slurm`) or wait for Torque support.
