/**
 * The contract between the Pulumi program and the head-node service: the schema of the
 * service's settings file, `/etc/dynamic-cluster/service.json`. The file has parts with disjoint
 * top-level keys, each written by the one who knows it, merged by Salt without reshaping
 * (salt/dynamic_cluster/head/service.sls) and validated once, by the service at start
 * (autoscaler/settings.ts):
 * - the program's part ({@link ProgramServiceSettings}): the cluster, its network, the worker
 *   policy, ports, the cloud's endpoint. components/pillar.ts builds it against this type and
 *   puts it in the pillar as `dynamic_cluster:service:settings`;
 * - `secrets` ({@link SecretServiceSettings}): the application credential, the dashboard
 *   password and the digests of the local API's tokens, built the same way into the head-only
 *   pillar `dynamic_cluster_head_secrets:service_settings`;
 * - `layout` ({@link HeadLayoutSettings}): where the head node keeps things, from the Salt tree's
 *   own paths (salt/dynamic_cluster/defaults.yaml), the only part Salt writes;
 * - knobs with defaults that production leaves alone and the tests set (tuning, the scheduler's
 *   environment).
 * A field renamed on one side fails to compile on the other; `workers.max` is bounded here by the
 * same limit the config loader states to users.
 */
import * as path from "node:path";
import { z } from "zod";
import { CLUSTER_ID_PATTERN } from "./tags";
import { POOL_NAME_PATTERN } from "./nodeNames";
import { WORKERS_LIMIT } from "./workerDefaults";

const port = z.number().int().min(1).max(65535);
const listen = z.object({ host: z.string().min(1), port });
const nonEmpty = z.string().min(1);
const workerCount = z.number().int().min(0).max(WORKERS_LIMIT);
/** SHA-256 of the empty string: the digest of a token the pillar lacks. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const tokenDigest = z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the SHA-256 digest of a token (64 hex digits)")
    .refine((d) => d !== EMPTY_SHA256, {
        message: "is the digest of an empty token (the pillar has no such token)",
    });

/** The program's part: what `pulumi config` and the created resources say. */
const programPart = z.object({
    cluster: z.object({ name: nonEmpty, id: z.string().regex(CLUSTER_ID_PATTERN) }),
    scheduler: z.enum(["slurm", "torque"]),
    head: z.object({
        name: nonEmpty,
        minion_id: nonEmpty,
        address: nonEmpty,
        public_address: z.string().default(""),
    }),
    network: z.object({
        network_id: nonEmpty,
        worker_security_group: nonEmpty,
        cluster_cidr: z.string().default(""),
    }),
    /** The burst pool is `burst_prefix`-1 .. `burst_prefix`-(max - min). */
    workers: z
        .object({
            min: workerCount,
            max: workerCount,
            flavor: nonEmpty,
            image: nonEmpty,
            availability_zone: z.string().default(""),
            key_name: z.string().default(""),
            idle_timeout: z.number().positive(),
            launch_timeout: z.number().positive(),
            static_prefix: nonEmpty,
            burst_prefix: nonEmpty,
            /** Flavors tried in order when Nova has no capacity or quota for `flavor`. */
            fallback_flavors: z.array(nonEmpty).default([]),
        })
        .refine((w) => w.min <= w.max, { message: "workers.min must not exceed workers.max" }),
    /**
     * The pools beside the default one (`workers`, whose name is its node prefix): each with its
     * own flavors, image, zone, floor and maximum (lib/workerPools.ts reads both as one list).
     */
    extra_pools: z
        .array(
            z
                .object({
                    name: z.string().regex(POOL_NAME_PATTERN),
                    flavors: z.array(nonEmpty).min(1),
                    image: nonEmpty,
                    availability_zone: z.string().default(""),
                    min: workerCount,
                    max: workerCount,
                    static_prefix: nonEmpty,
                    burst_prefix: nonEmpty,
                })
                .refine((p) => p.min <= p.max, { message: "a pool's min must not exceed its max" }),
        )
        .default([]),
    salt: z.object({
        master_finger: z.string().regex(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/),
        pki_dir: nonEmpty.default("/etc/salt/pki/master"),
        /** The master's configuration directory, for `salt-run -c` (job cache look-ups). */
        config_dir: nonEmpty.default("/etc/salt"),
        /** The `salt-run` executable. */
        salt_run: nonEmpty.default("salt-run"),
        /** The `salt` executable (the service publishes the worker highstates with it). */
        salt: nonEmpty.default("salt"),
    }),
    listen: z.object({ local_api: listen, http: listen }),
    graphite: z.object({ host: nonEmpty, port, prefix: nonEmpty.default("dynamic_cluster") }),
    dashboard: z.object({ username: nonEmpty }),
    openstack: z.object({
        auth_url: z.string().url(),
        region: z.string().default(""),
        interface: z.enum(["public", "internal", "admin"]).default("public"),
        /**
         * Certificates are not checked (the workstation had `verify: false`/OS_INSECURE). With a
         * private CA, `layout.openstack_cacert_file` names it.
         */
        insecure: z.boolean().default(false),
    }),
});

/** The secrets: only ever in the head-only pillar and the root-only settings file. */
const secretPart = z.object({
    secrets: z.object({
        openstack_application_credential: z.object({ id: nonEmpty, secret: nonEmpty }),
        dashboard_password: z.string().min(12),
        /**
         * SHA-256 digests (hex) of the local API's tokens, one per caller, each opening only its
         * caller's routes (autoscaler/api/local.ts): Slurm's power-saving programs, the Salt
         * reactors, root's `dynamic-cluster` command. The tokens themselves are only in their
         * callers' header files.
         */
        local_api_token_sha256: z
            .object({ slurm: tokenDigest, salt: tokenDigest, admin: tokenDigest })
            .refine((t) => new Set([t.slurm, t.salt, t.admin]).size === 3, {
                message: "the three tokens must differ",
            }),
    }),
});

/** Where the head node keeps things: written by Salt from its own paths. */
const layoutPart = z.object({
    layout: z.object({
        /** The service's state (state.json, the nodes-in-use files), root-only. */
        state_dir: nonEmpty,
        /** The ipset of admitted workers' addresses the head's firewall lets in. */
        firewall: z.object({ worker_set: nonEmpty, enabled: z.boolean().default(true) }),
        /**
         * PEM file of the private CA the cloud's certificates are checked against (Salt writes
         * `/etc/dynamic-cluster/openstack-ca.pem` when the pillar has one), or "" for the
         * system's CA store. Read and checked at start.
         */
        openstack_cacert_file: z
            .string()
            .refine((f) => f === "" || path.isAbsolute(f), {
                message: "must be an absolute path, or empty for the system's CA store",
            })
            .default(""),
    }),
});

/** The service's tuning as deployed (settings `tuning.*`, seconds unless named otherwise). */
export const TUNING_DEFAULTS = {
    reconcile_interval: 10,
    down_timeout: 480,
    orphan_grace: 300,
    launch_concurrency: 10,
    breaker_threshold: 5,
    backoff_base: 60,
    backoff_max: 900,
    openstack_timeout: 60,
    failure_cooldown: 300,
    salt_silence: 180,
    round_budget: 60,
    hand_off: true,
    fallback_retry: 600,
    all_or_nothing: true,
} as const;

/** Knobs with defaults (seconds unless said otherwise). */
const tuning = z
    .object({
        /** Reconcile loop period. */
        reconcile_interval: z.number().positive().default(TUNING_DEFAULTS.reconcile_interval),
        /** A ready worker the scheduler cannot reach for this long is replaced. */
        down_timeout: z.number().positive().default(TUNING_DEFAULTS.down_timeout),
        /** A tagged server that no worker accounts for is deleted after this long. */
        orphan_grace: z.number().positive().default(TUNING_DEFAULTS.orphan_grace),
        /** Servers created at once. */
        launch_concurrency: z
            .number()
            .int()
            .min(1)
            .max(100)
            .default(TUNING_DEFAULTS.launch_concurrency),
        /** Consecutive boot failures that stop all launches until an admin resets. */
        breaker_threshold: z.number().int().min(1).default(TUNING_DEFAULTS.breaker_threshold),
        /** First backoff after a quota or capacity error (doubles, capped by backoff_max). */
        backoff_base: z.number().positive().default(TUNING_DEFAULTS.backoff_base),
        backoff_max: z.number().positive().default(TUNING_DEFAULTS.backoff_max),
        /** Deadline of one OpenStack call, and of a delete to finish. */
        openstack_timeout: z.number().positive().default(TUNING_DEFAULTS.openstack_timeout),
        /** A burst node whose boot failed is kept out of use this long (jobs go elsewhere). */
        failure_cooldown: z.number().min(0).default(TUNING_DEFAULTS.failure_cooldown),
        /**
         * A worker that has not reached its next Salt step (authentication, minion start,
         * highstate result) this long after the previous one is reported, with likely causes.
         */
        salt_silence: z.number().positive().default(TUNING_DEFAULTS.salt_silence),
        /**
         * Budget of a round's observation (Nova listing, scheduler snapshot, Salt key listing).
         * A call still unanswered then fails the round (the call finishes in the background,
         * its result unused), instead of holding the loop for the client's retries (3 x
         * openstack_timeout plus backoff). The last complete observation counts as stale once
         * older than 2 x reconcile_interval + round_budget.
         */
        round_budget: z.number().positive().default(TUNING_DEFAULTS.round_budget),
        /**
         * Put a job that waits for booting nodes back in the queue when idle powered-up nodes
         * can hold it (autoscaler/handOff.ts): it starts at once, the booting nodes serve the
         * next job. Off: Slurm's own binding (the job waits for its boots).
         */
        hand_off: z.boolean().default(TUNING_DEFAULTS.hand_off),
        /**
         * A pool's flavor that failed for capacity or quota is passed over for its next flavors
         * this long (its own backoff may end sooner), then tried first again: what AWS
         * ParallelCluster calls `insufficient_capacity_timeout` (600 s there too).
         */
        fallback_retry: z.number().min(0).default(TUNING_DEFAULTS.fallback_retry),
        /**
         * Release the booting nodes of a multi-node job one of whose nodes cannot be created now
         * (autoscaler/launchGroups.ts): the job goes back to the queue instead of holding them.
         */
        all_or_nothing: z.boolean().default(TUNING_DEFAULTS.all_or_nothing),
    })
    .default(TUNING_DEFAULTS);

/** Knobs production leaves at their defaults; the tests and benchmarks set them. */
const knobsPart = z.object({
    /** The worker user-data template; default: cloud-init/worker.yaml beside the service. */
    worker_user_data: nonEmpty.optional(),
    /** Extra environment of scheduler commands (e.g. SLURM_CONF). */
    scheduler_env: z.record(z.string(), z.string()).default({}),
    /**
     * A command prefix for the scheduler's tools, e.g. `["nsenter", "--net=..."]` when the
     * scheduler's network is in another namespace or container.
     */
    scheduler_command_prefix: z.array(z.string()).default([]),
    /**
     * A command prefix for `salt` (it reaches the master's request port on the head's cluster
     * address), e.g. `["nsenter", "--net=..."]` when that address is in another namespace.
     */
    salt_command_prefix: z.array(z.string()).default([]),
    tuning,
});

/** Schema of the whole settings file (snake_case, as Salt writes it). */
export const serviceSettingsSchema = programPart
    .extend(secretPart.shape)
    .extend(layoutPart.shape)
    .extend(knobsPart.shape)
    .passthrough();

/** Validated settings, as the service uses them. */
export type ServiceSettings = z.infer<typeof serviceSettingsSchema>;
/** The program's part, as the program writes it (defaults may be left out). */
export type ProgramServiceSettings = z.input<typeof programPart>;
/** The secret part, as the program writes it into the head-only pillar. */
export type SecretServiceSettings = z.input<typeof secretPart>;
/** The layout part, as Salt writes it. */
export type HeadLayoutSettings = z.input<typeof layoutPart>;
/** The tuning knobs (`tuning` in service.json), seconds unless said otherwise. */
export type Tuning = z.infer<typeof tuning>;

/** Validates only the program's part (the program's own tests check what it writes). */
export const programServiceSettingsSchema = programPart;
/** Validates only the secret part. */
export const secretServiceSettingsSchema = secretPart;

/** The tuning a settings file without `tuning` gets (the replay simulates these too). */
export function defaultTuning(): Tuning {
    return tuning.parse(undefined);
}
