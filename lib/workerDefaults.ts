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
    namePrefix: "compute",
} as const;
