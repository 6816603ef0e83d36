{#- See head/torque.sls: the Torque states are not part of this release yet. #}
dynamic-cluster-worker-torque-test-fail-without-changes:
  test.fail_without_changes:
    - name: >-
        scheduler=torque: the Torque execution-host states are not part of this release yet.
