/**
 * The worker policy a new stack gets (`workers.*` in `pulumi config`). Shared by the Pulumi
 * program (components/config.ts) and the replay tool (replay/defaults.ts), which simulates a new
 * stack when given no options; kept here so the replay does not load the Pulumi SDK.
 */

/** Default worker policy (image and flavor default to the head node's). */
export const WORKER_DEFAULTS = {
    min: 0,
    max: 8,
    idleTimeout: 600,
    launchTimeout: 1200,
    drainTimeout: 3600,
    namePrefix: "compute",
} as const;

/**
 * The most workers a cluster may have (`workers.min` and `workers.max`): the bound the program's
 * config loader states to users and the service's settings schema (lib/serviceSettings.ts) holds
 * the file to, so the two never disagree.
 */
export const WORKERS_LIMIT = 1000;
