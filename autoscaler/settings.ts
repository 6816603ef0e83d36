/**
 * The service's settings: `/etc/dynamic-cluster/service.json`, written root-only by Salt
 * (salt/dynamic_cluster/head/service.sls) from the pillar the Pulumi program generates. Every
 * field is validated at start; a bad file stops the service with one message that lists every
 * problem. Tuning knobs that `pulumi config` does not expose have defaults here.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { CLUSTER_ID_PATTERN } from "../lib/tags";

const port = z.number().int().min(1).max(65535);
const listen = z.object({ host: z.string().min(1), port });
const nonEmpty = z.string().min(1);
/** SHA-256 of the empty string: what Salt writes when the pillar lacks a token. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const tokenDigest = z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the SHA-256 digest of a token (64 hex digits)")
    .refine((d) => d !== EMPTY_SHA256, {
        message: "is the digest of an empty token (the pillar has no such token)",
    });

/** Knobs with defaults (seconds unless said otherwise). */
const tuning = z
    .object({
        /** Reconcile loop period. */
        reconcile_interval: z.number().positive().default(10),
        /** A ready worker the scheduler cannot reach for this long is replaced. */
        down_timeout: z.number().positive().default(480),
        /** A tagged server that no worker accounts for is deleted after this long. */
        orphan_grace: z.number().positive().default(300),
        /** Servers created at once. */
        launch_concurrency: z.number().int().min(1).max(100).default(10),
        /** Consecutive boot failures that stop all launches until an admin resets. */
        breaker_threshold: z.number().int().min(1).default(5),
        /** First backoff after a quota or capacity error (doubles, capped by backoff_max). */
        backoff_base: z.number().positive().default(60),
        backoff_max: z.number().positive().default(900),
        /** Deadline of one OpenStack call, and of a delete to finish. */
        openstack_timeout: z.number().positive().default(60),
        /** A burst node whose boot failed is kept out of use this long (jobs go elsewhere). */
        failure_cooldown: z.number().min(0).default(300),
        /**
         * A worker that has not reached its next Salt step (authentication, minion start,
         * highstate result) this long after the previous one is reported, with likely causes.
         */
        salt_silence: z.number().positive().default(180),
        /**
         * Budget of a round's observation (Nova listing, scheduler snapshot, Salt key listing).
         * A call still unanswered then fails the round (the call finishes in the background,
         * its result unused), instead of holding the loop for the client's retries (3 x
         * openstack_timeout plus backoff). The last complete observation counts as stale once
         * older than 2 x reconcile_interval + round_budget.
         */
        round_budget: z.number().positive().default(60),
    })
    .default({
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
    });

/** The tuning knobs (`tuning` in service.json), seconds unless said otherwise. */
export type Tuning = z.infer<typeof tuning>;

/** The tuning a service.json without `tuning` gets (the replay simulates these too). */
export function defaultTuning(): Tuning {
    return tuning.parse(undefined);
}

/** Schema of service.json (snake_case, as Salt writes it). */
export const settingsSchema = z
    .object({
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
        workers: z
            .object({
                min: z.number().int().min(0),
                max: z.number().int().min(0),
                flavor: nonEmpty,
                image: nonEmpty,
                availability_zone: z.string().default(""),
                key_name: z.string().default(""),
                idle_timeout: z.number().positive(),
                launch_timeout: z.number().positive(),
                static_prefix: nonEmpty,
                static_count: z.number().int().min(0),
                burst_prefix: nonEmpty,
                burst_count: z.number().int().min(0),
            })
            .refine((w) => w.min <= w.max, { message: "workers.min must not exceed workers.max" })
            .refine((w) => w.burst_count === w.max - w.min, {
                message: "workers.burst_count must equal workers.max - workers.min",
            }),
        salt: z.object({
            master_finger: z.string().regex(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/),
            pki_dir: nonEmpty.default("/etc/salt/pki/master"),
            /** The master's configuration directory, for `salt-run -c` (job cache look-ups). */
            config_dir: nonEmpty.default("/etc/salt"),
            /** The `salt-run` executable. */
            salt_run: nonEmpty.default("salt-run"),
        }),
        listen: z.object({ local_api: listen, http: listen }),
        graphite: z.object({ host: nonEmpty, port, prefix: nonEmpty.default("dynamic_cluster") }),
        firewall: z.object({ worker_set: nonEmpty, enabled: z.boolean().default(true) }),
        dashboard: z.object({ username: nonEmpty, password: z.string().min(12) }),
        /**
         * SHA-256 digests (hex) of the local API's tokens, one per caller, each opening only its
         * caller's routes (api/local.ts): Slurm's power-saving programs, the Salt reactors,
         * root's `dynamic-cluster` command. The tokens themselves are only in their callers'
         * header files.
         */
        local_api_token_sha256: z
            .object({ slurm: tokenDigest, salt: tokenDigest, admin: tokenDigest })
            .refine((t) => new Set([t.slurm, t.salt, t.admin]).size === 3, {
                message: "the three tokens must differ",
            }),
        openstack: z.object({
            auth_url: z.string().url(),
            region: z.string().default(""),
            interface: z.string().default("public"),
            application_credential_id: nonEmpty,
            application_credential_secret: nonEmpty,
            /**
             * PEM file of the private CA the cloud's certificates are checked against (Salt
             * writes `/etc/dynamic-cluster/openstack-ca.pem` from the pillar), or "" for the
             * system's CA store. Read and checked at start.
             */
            cacert_file: z
                .string()
                .refine((f) => f === "" || path.isAbsolute(f), {
                    message: "must be an absolute path, or empty for the system's CA store",
                })
                .default(""),
            /** Certificates are not checked (the workstation had `verify: false`/OS_INSECURE). */
            insecure: z.boolean().default(false),
        }),
        state_dir: nonEmpty,
        /** The worker user-data template (cloud-init/worker.yaml as installed with the service). */
        worker_user_data: nonEmpty.optional(),
        /** Extra environment of scheduler commands (e.g. SLURM_CONF). */
        scheduler_env: z.record(z.string(), z.string()).default({}),
        /**
         * A command prefix for the scheduler's tools, e.g. `["nsenter", "--net=..."]` when the
         * scheduler's network is in another namespace or container.
         */
        scheduler_command_prefix: z.array(z.string()).default([]),
        tuning,
    })
    .passthrough();

/** Validated settings. */
export type ServiceSettings = z.infer<typeof settingsSchema>;

/** Thrown when the settings file is missing or invalid; lists every problem. */
export class SettingsError extends Error {
    override name = "SettingsError";
}

/** Validates parsed settings. @throws SettingsError listing every bad field. */
export function parseSettings(raw: unknown, source = "settings"): ServiceSettings {
    const result = settingsSchema.safeParse(raw);
    if (!result.success) {
        const problems = result.error.issues.map(
            (issue) => `  - ${issue.path.join(".") || "(root)"}: ${issue.message}`,
        );
        throw new SettingsError(
            `${source} is not valid (it is written by Salt from the pillar; run \`pulumi up\` ` +
                `to regenerate it):\n${problems.join("\n")}`,
        );
    }
    return result.data;
}

/** Reads and validates a settings file. */
export function loadSettings(file: string): ServiceSettings {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        throw new SettingsError(`Cannot read ${file}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (err) {
        throw new SettingsError(`${file} is not JSON: ${(err as Error).message}`);
    }
    const settings = parseSettings(raw, file);
    settings.worker_user_data ??= path.resolve(__dirname, "../cloud-init/worker.yaml");
    return settings;
}
