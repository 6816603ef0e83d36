/**
 * `WorkerPool`: the dynamic provider that turns a worker count into Nova servers (the static
 * floor Pulumi owns; the head-node service owns the burst). See docs/architecture.md, "Who owns
 * which workers".
 *
 * - create boots `count` servers in parallel (bounded), tagged `dc`, `dc-cluster-<id>`,
 *   `dc-pool-static`, each with its own minion ID in metadata and user-data, and waits for
 *   ACTIVE within `bootTimeoutSeconds` (dynamic providers get no customTimeouts);
 * - every update keeps one live server per node name and never deletes a server that may run a
 *   job (components/workerPoolPlan.ts): a server the pool gives up is handed to the head-node
 *   service instead (tag `dc-retiring`), which drains its node and deletes it once its jobs are
 *   done (the same path as nodes beyond a lowered workers.max, autoscaler/policy.ts `retire`).
 *   Lowering the count hands over the highest indexes; raising it boots the lowest free ones,
 *   or takes back a retiring server of that name booted with the current settings; a change of
 *   image, flavor, network, key, groups, zone, master or user-data template is a rolling
 *   replacement, one batch at a time: the batch is handed over, and each replacement boots (with
 *   the same name) as soon as its predecessor is gone. The update waits for that up to
 *   `drainTimeoutSeconds`; what is still draining then is an init error naming the nodes, and
 *   the next `pulumi up` carries on;
 * - a partial failure is an init error that carries the servers that exist (so the next `pulumi
 *   up` reconciles and nothing leaks) with Nova's fault messages as reasons; a failure that
 *   booted nothing leaves nothing behind;
 * - read refreshes from Nova (a server deleted out of band disappears); delete removes every
 *   server of the floor's names, retiring ones included, by ID and by tag, and waits until they
 *   are gone (a destroyed cluster runs no more jobs).
 * Credentials come from the provider's Pulumi config (`openstack:*`) or the `OS_*`/clouds.yaml
 * environment, never from resource inputs; no output is secret.
 *
 * The provider object is serialized by value into the program's state: everything it uses must
 * be reachable from here without npm packages at module top level (see lib/openstack/errors.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { mapBounded } from "../lib/concurrency";
import { newMinionId } from "../lib/minionId";
import { type ComputeClient, OpenStackApiError, type Server } from "../lib/openstack";
import {
    clusterTag,
    retiringWorkerTags,
    workerIdentity,
    workerMetadata,
    workerTags,
} from "../lib/tags";
import { configureFromStack, novaClient } from "./providerCloud";
import { containsUnknown } from "./unknown";
import { encodeUserData, renderWorkerUserData } from "../lib/userData";
import {
    indexOfNodeName,
    nodeName,
    planPool,
    rollingBatches,
    type WorkerRecord,
} from "./workerPoolPlan";

/** Bumped when the provider's behaviour changes, so `diff` rewrites the stored provider code. */
export const WORKER_POOL_PROVIDER_VERSION = 3;

/** Resolved inputs of the provider. */
export interface WorkerPoolInputs {
    count: number;
    flavor: string;
    image: string;
    network: string;
    keyName: string;
    securityGroups: string[];
    availabilityZone: string;
    namePrefix: string;
    clusterId: string;
    masterAddress: string;
    masterFinger: string;
    userDataTemplate: string;
    bootTimeoutSeconds: number;
    /**
     * How long an update waits for the servers it hands over to be drained and deleted by the
     * head-node service before it boots their replacements, seconds (`workers.drainTimeout`).
     */
    drainTimeoutSeconds: number;
    maxConcurrency: number;
}

/** Outputs: every input, the workers (retiring ones flagged), and the provider version. */
export interface WorkerPoolOutputs extends WorkerPoolInputs {
    servers: WorkerRecord[];
    providerVersion: number;
}

/** Inputs whose change replaces workers (rolling). */
export const ROLLING_KEYS = [
    "flavor",
    "image",
    "network",
    "keyName",
    "securityGroups",
    "availabilityZone",
    "masterAddress",
    "masterFinger",
    "userDataTemplate",
] as const;

/** Inputs whose change replaces the whole resource. */
export const REPLACE_KEYS = ["clusterId", "namePrefix"] as const;

/** Fingerprint of the settings a worker boots with; stored per worker as its generation. */
export function bootFingerprint(
    inputs: Pick<WorkerPoolInputs, (typeof ROLLING_KEYS)[number]>,
): string {
    const settings = ROLLING_KEYS.map((key) => inputs[key]);
    return createHash("sha256").update(JSON.stringify(settings)).digest("hex").slice(0, 16);
}

/**
 * Per-property problems of the inputs (empty when valid). Inputs not known yet (during a preview)
 * pass; they are checked again with their values at `pulumi up`.
 */
export function checkInputs(
    news: Record<string, unknown>,
): Array<{ property: string; reason: string }> {
    const failures: Array<{ property: string; reason: string }> = [];
    const int = (key: string, min: number, max: number): void => {
        const value = news[key];
        if (containsUnknown(value)) return;
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
            failures.push({
                property: key,
                reason: `${key} must be a whole number from ${min} to ${max}.`,
            });
        }
    };
    const text = (key: string, pattern?: RegExp, hint?: string): void => {
        const value = news[key];
        if (containsUnknown(value)) return;
        if (typeof value !== "string" || value === "" || (pattern && !pattern.test(value))) {
            failures.push({ property: key, reason: `${key} ${hint ?? "must not be empty"}.` });
        }
    };
    int("count", 0, 1000);
    int("bootTimeoutSeconds", 1, 86400);
    int("drainTimeoutSeconds", 0, 7 * 86400);
    int("maxConcurrency", 1, 100);
    text("flavor");
    text("image");
    text("network");
    text("masterAddress");
    text(
        "masterFinger",
        /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/,
        "must be a SHA-256 fingerprint in Salt's aa:bb:... form",
    );
    text(
        "namePrefix",
        /^[a-z][a-z0-9-]{0,30}$/,
        "must be lower-case letters, digits or '-', starting with a letter",
    );
    text("clusterId", /^[a-z0-9]{4,32}$/, "must be 4 to 32 lower-case letters or digits");
    text(
        "userDataTemplate",
        /^#cloud-config\n/,
        'must be a cloud-config template starting with "#cloud-config"',
    );
    if (!containsUnknown(news["securityGroups"]) && !Array.isArray(news["securityGroups"])) {
        failures.push({
            property: "securityGroups",
            reason: "securityGroups must be a list of names.",
        });
    }
    return failures;
}

function inputsOf(props: Record<string, unknown>): WorkerPoolInputs {
    const {
        __provider: _provider,
        servers: _servers,
        providerVersion: _version,
        ...inputs
    } = props;
    return inputs as unknown as WorkerPoolInputs;
}

/**
 * The tags the pool lists its servers by: the cluster's (the floor's servers carry the static
 * pool's tag, but a server handed over by an older release carries the burst pool's).
 */
function listTags(inputs: WorkerPoolInputs): string[] {
    return [clusterTag(inputs.clusterId)];
}

/** IDs Nova needs, resolved once per operation. */
export interface ResolvedRefs {
    flavorId: string;
    imageId: string;
    networkId: string;
}

async function resolveRefs(nova: ComputeClient, inputs: WorkerPoolInputs): Promise<ResolvedRefs> {
    const [flavorId, imageId, networkId] = await Promise.all([
        nova.flavorId(inputs.flavor),
        nova.imageId(inputs.image),
        nova.networkId(inputs.network),
    ]);
    return { flavorId, imageId, networkId };
}

/** A server whose create call answered (or that the listing found after a lost answer). */
interface Started {
    id: string;
    name: string;
    index: number;
    minionId: string;
}

/** Outcome of booting a set of indexes. */
export interface BootOutcome {
    booted: WorkerRecord[];
    reasons: string[];
}

/**
 * Boots one server per index, waits for ACTIVE until the deadline; servers that end in ERROR
 * or are not ACTIVE in time are deleted (they are useless and count against quota). A create
 * whose answer was lost (a timeout, a reset, a 5xx) counts as booted when the listing shows the
 * server with the minion ID it was sent. Exported for tests.
 */
export async function bootWorkers(
    nova: ComputeClient,
    inputs: WorkerPoolInputs,
    refs: ResolvedRefs,
    indexes: number[],
): Promise<BootOutcome> {
    const deadline = Date.now() + inputs.bootTimeoutSeconds * 1000;
    const generation = bootFingerprint(inputs);
    const reasons: string[] = [];
    const launched = await mapBounded(indexes, inputs.maxConcurrency, async (index) => {
        const name = nodeName(inputs.namePrefix, index);
        const minionId = newMinionId(name);
        try {
            const userData = encodeUserData(
                renderWorkerUserData(inputs.userDataTemplate, {
                    minionId,
                    nodeName: name,
                    masterAddress: inputs.masterAddress,
                    masterFinger: inputs.masterFinger,
                }),
            );
            const id = await nova.createServer({
                name,
                flavorId: refs.flavorId,
                imageId: refs.imageId,
                networkIds: [refs.networkId],
                securityGroups: inputs.securityGroups,
                keyName: inputs.keyName || undefined,
                availabilityZone: inputs.availabilityZone || undefined,
                userData,
                metadata: workerMetadata(minionId, name),
                tags: workerTags(inputs.clusterId, "static"),
            });
            return { id, name, index, minionId };
        } catch (err) {
            const message =
                err instanceof OpenStackApiError ? `${err.status} ${err.apiMessage}` : String(err);
            // A 4xx answer created nothing; a lost answer (timeout, reset) or a 5xx may have.
            const uncertain = !(err instanceof OpenStackApiError) || err.status >= 500;
            return {
                failed: `${name}: create failed: ${message}`,
                uncertain,
                name,
                index,
                minionId,
            };
        }
    });
    const started: Started[] = [];
    const unanswered = new Map<string, { name: string; index: number; failed: string }>();
    for (const launch of launched) {
        if (launch.failed === undefined) started.push(launch);
        else if (launch.uncertain) unanswered.set(launch.minionId, launch);
        else reasons.push(launch.failed);
    }
    if (unanswered.size > 0) {
        // Nova may have created what it did not answer for (a loaded API answers a create after
        // the client's timeout): the minion ID in the metadata says which server is whose.
        for (const server of await nova.listServersByTags(listTags(inputs))) {
            const minionId = workerIdentity(server, inputs.clusterId)?.minionId ?? "";
            const launch = unanswered.get(minionId);
            if (!launch) continue;
            unanswered.delete(minionId);
            started.push({ id: server.id, name: launch.name, index: launch.index, minionId });
        }
        for (const launch of unanswered.values()) reasons.push(launch.failed);
    }
    const states =
        started.length > 0
            ? await nova.waitForBoot(
                  started.map((s) => s.id),
                  listTags(inputs),
                  deadline,
              )
            : new Map<string, Server | undefined>();
    const booted: WorkerRecord[] = [];
    const useless: string[] = [];
    for (const s of started) {
        const server = states.get(s.id);
        if (server?.status === "ACTIVE") {
            booted.push({ ...s, address: server.address ?? "", status: "ACTIVE", generation });
        } else {
            useless.push(s.id);
            reasons.push(
                server?.status === "ERROR"
                    ? `${s.name}: went to ERROR: ${server.fault ?? "no fault message"}`
                    : server
                      ? `${s.name}: still ${server.status} after ${inputs.bootTimeoutSeconds}s (boot deadline)`
                      : `${s.name}: vanished while booting`,
            );
        }
    }
    await deleteServers(nova, inputs, useless);
    return { booted, reasons };
}

/**
 * Hands servers of the floor to the head-node service (`retiring`: it drains each node and
 * deletes the server once idle), or takes retiring ones back (`retiring` false). A server
 * already gone is skipped.
 */
async function retag(
    nova: ComputeClient,
    inputs: WorkerPoolInputs,
    workers: readonly WorkerRecord[],
    retiring: boolean,
): Promise<void> {
    const tags = retiring
        ? retiringWorkerTags(inputs.clusterId)
        : workerTags(inputs.clusterId, "static");
    await mapBounded([...workers], inputs.maxConcurrency, async (worker) => {
        try {
            await nova.replaceServerTags(worker.id, tags);
        } catch (err) {
            if (err instanceof OpenStackApiError && err.status === 404) return;
            throw err;
        }
    });
}

async function deleteServers(
    nova: ComputeClient,
    inputs: WorkerPoolInputs,
    ids: string[],
): Promise<void> {
    if (ids.length === 0) return;
    await mapBounded(ids, inputs.maxConcurrency, (id) => nova.deleteServer(id));
    await nova.waitForDeleted(
        ids,
        listTags(inputs),
        Date.now() + Math.max(300, inputs.bootTimeoutSeconds) * 1000,
    );
}

/**
 * Every server of the floor's names as Nova sees it now, as records: live members of the floor
 * and retiring ones (tag `dc-retiring`, or handed over by an older release with the burst
 * pool's tag). Only servers lib/tags.ts `workerIdentity` recognises count.
 */
async function observe(
    nova: ComputeClient,
    inputs: WorkerPoolInputs,
    known: readonly WorkerRecord[],
): Promise<WorkerRecord[]> {
    const byId = new Map(known.map((w) => [w.id, w]));
    const servers = await nova.listServersByTags(listTags(inputs));
    return servers.flatMap((server) => {
        const identity = workerIdentity(server, inputs.clusterId);
        const index = indexOfNodeName(inputs.namePrefix, server.name);
        if (!identity || index === undefined || identity.node !== server.name) return [];
        const previous = byId.get(server.id);
        const retiring = identity.retiring || identity.pool === "burst";
        return [
            {
                id: server.id,
                name: server.name,
                index,
                minionId: identity.minionId ?? previous?.minionId ?? "",
                address: server.address ?? previous?.address ?? "",
                status: server.status,
                generation: previous?.generation ?? "unknown",
                ...(retiring ? { retiring: true } : {}),
            },
        ];
    });
}

function outputs(inputs: WorkerPoolInputs, servers: WorkerRecord[]): WorkerPoolOutputs {
    return {
        ...inputs,
        servers: [...servers].sort((a, b) => a.index - b.index),
        providerVersion: WORKER_POOL_PROVIDER_VERSION,
    };
}

/** A partial failure in the shape the dynamic-provider host reports as an init error. */
function initError(
    id: string,
    props: WorkerPoolOutputs,
    provider: unknown,
    reasons: string[],
): Error {
    const err = new Error(`${reasons.length} worker(s) failed: ${reasons.join("; ")}`) as Error & {
        id: string;
        properties: Record<string, unknown>;
        reasons: string[];
    };
    err.id = id;
    err.properties = { ...props, __provider: provider };
    err.reasons = reasons;
    return err;
}

/** What a part of an update achieved: the workers it booted and what went wrong. */
interface StepOutcome {
    booted: WorkerRecord[];
    reasons: string[];
}

/**
 * Boots a server for each of `indexes`, each only once no retiring server holds its name any
 * more (the service deletes it once its node is drained and idle): those free now at once, the
 * others as their predecessors disappear, until `deadline`. What is still held then is reported.
 */
async function fill(
    nova: ComputeClient,
    inputs: WorkerPoolInputs,
    refs: () => Promise<ResolvedRefs>,
    indexes: readonly number[],
    known: Map<string, WorkerRecord>,
    deadline: number,
): Promise<StepOutcome> {
    const outcome: StepOutcome = { booted: [], reasons: [] };
    const remaining = new Set(indexes);
    while (remaining.size > 0) {
        const held = new Set(
            (await observe(nova, inputs, [...known.values()]))
                .filter((w) => w.retiring)
                .map((w) => w.index),
        );
        const free = [...remaining].filter((index) => !held.has(index));
        if (free.length > 0) {
            const boot = await bootWorkers(nova, inputs, await refs(), free);
            outcome.booted.push(...boot.booted);
            outcome.reasons.push(...boot.reasons);
            for (const worker of boot.booted) known.set(worker.id, worker);
            for (const index of free) remaining.delete(index);
            if (boot.reasons.length > 0) return outcome; // stop on a failed boot
            continue;
        }
        if (Date.now() >= deadline) {
            for (const index of [...remaining].sort((a, b) => a - b)) {
                const name = nodeName(inputs.namePrefix, index);
                outcome.reasons.push(
                    `${name}: the server it replaces still runs jobs after ${inputs.drainTimeoutSeconds} s ` +
                        "(workers.drainTimeout): its node is drained and the head-node service deletes it " +
                        "once they end (`squeue -w " +
                        name +
                        "` on the head node; `systemctl status dynamic-cluster` if nothing happens). " +
                        "Run `pulumi up` again then to boot its replacement",
                );
            }
            return outcome;
        }
        await new Promise((resolve) =>
            setTimeout(resolve, Math.min(nova.pollMs, Math.max(0, deadline - Date.now()))),
        );
    }
    return outcome;
}

/**
 * Brings the pool from `current` to the inputs (components/workerPoolPlan.ts `planPool`):
 * broken servers deleted, retiring ones taken back, surplus ones handed over, missing indexes
 * filled, then the rolling replacement of out-of-date servers. Returns the pool as Nova shows it
 * afterwards and what went wrong.
 */
async function reconcile(
    nova: ComputeClient,
    inputs: WorkerPoolInputs,
    current: WorkerRecord[],
): Promise<{ servers: WorkerRecord[]; reasons: string[] }> {
    const generation = bootFingerprint(inputs);
    const plan = planPool(current, inputs.count, generation);
    const deadline = Date.now() + inputs.drainTimeoutSeconds * 1000;
    const known = new Map(current.map((w) => [w.id, w]));
    let resolved: Promise<ResolvedRefs> | undefined;
    const refs = (): Promise<ResolvedRefs> => (resolved ??= resolveRefs(nova, inputs));
    const reasons: string[] = [];

    // Servers in ERROR run nothing and hold quota.
    await deleteServers(
        nova,
        inputs,
        plan.broken.map((w) => w.id),
    );
    await retag(nova, inputs, plan.adopt, false);
    await retag(nova, inputs, plan.handOver, true);
    const filled = await fill(nova, inputs, refs, plan.missing, known, deadline);
    reasons.push(...filled.reasons);
    if (reasons.length === 0) {
        for (const batch of rollingBatches(plan.stale, inputs.count)) {
            await retag(nova, inputs, batch, true);
            const replaced = await fill(
                nova,
                inputs,
                refs,
                batch.map((w) => w.index),
                known,
                deadline,
            );
            reasons.push(...replaced.reasons);
            if (replaced.reasons.length > 0) break; // stop rolling on failure
        }
    }
    return { servers: await observe(nova, inputs, [...known.values()]), reasons };
}

/** The provider. Exported for tests and for the gRPC-host test, which serializes it. */
export const workerPoolProvider: pulumi.dynamic.ResourceProvider = {
    configure: configureFromStack,

    async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
        const failures = checkInputs(news);
        return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
    },

    async diff(_id: string, olds: WorkerPoolOutputs, news: WorkerPoolInputs) {
        const replaces = REPLACE_KEYS.filter((key) => olds[key] !== news[key]);
        const rolling = ROLLING_KEYS.some(
            (key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]),
        );
        const other = (
            ["count", "bootTimeoutSeconds", "drainTimeoutSeconds", "maxConcurrency"] as const
        ).some((key) => olds[key] !== news[key]);
        // A name of the floor without its ACTIVE server (a replacement still waiting for the
        // retiring server of its name, or one down): carry on. Retiring servers alone are the
        // service's to drain and delete, and ask nothing of the pool.
        const live = (olds.servers ?? []).filter((w) => !w.retiring);
        const activeIndexes = new Set(
            live.filter((w) => w.status === "ACTIVE").map((w) => w.index),
        );
        const unhealthy =
            live.length !== olds.count ||
            Array.from({ length: olds.count }, (_, i) => i + 1).some((i) => !activeIndexes.has(i));
        const stale = olds.providerVersion !== WORKER_POOL_PROVIDER_VERSION;
        return {
            changes: replaces.length > 0 || rolling || other || unhealthy || stale,
            replaces: [...replaces],
            deleteBeforeReplace: true,
        };
    },

    async create(raw: Record<string, unknown>) {
        const inputs = inputsOf(raw);
        const nova = novaClient();
        const id = `pool-${inputs.clusterId}-${inputs.namePrefix}`;
        const refs = await resolveRefs(nova, inputs);
        const indexes = Array.from({ length: inputs.count }, (_, i) => i + 1);
        const outcome = await bootWorkers(nova, inputs, refs, indexes);
        if (outcome.reasons.length > 0) {
            if (outcome.booted.length === 0) {
                throw new Error(`No worker booted: ${outcome.reasons.join("; ")}`);
            }
            throw initError(
                id,
                outputs(inputs, outcome.booted),
                raw["__provider"],
                outcome.reasons,
            );
        }
        return { id, outs: outputs(inputs, outcome.booted) };
    },

    async update(id: string, olds: WorkerPoolOutputs, raw: Record<string, unknown>) {
        const inputs = inputsOf(raw);
        const nova = novaClient();
        const current = await observe(nova, inputs, olds.servers ?? []);
        const { servers, reasons } = await reconcile(nova, inputs, current);
        if (reasons.length > 0)
            throw initError(id, outputs(inputs, servers), raw["__provider"], reasons);
        return { outs: outputs(inputs, servers) };
    },

    async read(id: string, props: WorkerPoolOutputs) {
        const inputs = inputsOf(props as unknown as Record<string, unknown>);
        const servers = await observe(novaClient(), inputs, props.servers ?? []);
        const refreshed = { ...outputs(inputs, servers), providerVersion: props.providerVersion };
        return {
            id,
            props: {
                ...refreshed,
                __provider: (props as unknown as Record<string, unknown>)["__provider"],
            },
        };
    },

    async delete(_id: string, props: WorkerPoolOutputs) {
        const inputs = inputsOf(props as unknown as Record<string, unknown>);
        const nova = novaClient();
        const listed = await observe(nova, inputs, props.servers ?? []);
        const ids = new Set([
            ...(props.servers ?? []).map((w) => w.id),
            ...listed.map((w) => w.id),
        ]);
        await deleteServers(
            nova,
            { ...inputs, bootTimeoutSeconds: Math.max(inputs.bootTimeoutSeconds, 300) },
            [...ids],
        );
    },
};

/** Arguments of {@link WorkerPool}. */
export interface WorkerPoolArgs {
    /** Number of workers (`workers.min`). */
    count: pulumi.Input<number>;
    /** Flavor name or ID. */
    flavor: pulumi.Input<string>;
    /** Image name or ID. */
    image: pulumi.Input<string>;
    /** Network name or ID. */
    network: pulumi.Input<string>;
    /** Nova key pair name ("" for none). */
    keyName: pulumi.Input<string>;
    /** Security group names. */
    securityGroups: pulumi.Input<pulumi.Input<string>[]>;
    /** Availability zone ("" for Nova's default). */
    availabilityZone?: pulumi.Input<string>;
    /** Node name prefix (`<prefix>-N`). */
    namePrefix: pulumi.Input<string>;
    /** Cluster ID of the tags. */
    clusterId: pulumi.Input<string>;
    /** Salt master address. */
    masterAddress: pulumi.Input<string>;
    /** Salt master fingerprint. */
    masterFinger: pulumi.Input<string>;
    /** Text of `cloud-init/worker.yaml`. */
    userDataTemplate: pulumi.Input<string>;
    /** Deadline for servers to reach ACTIVE, seconds (default 600). */
    bootTimeoutSeconds?: pulumi.Input<number>;
    /**
     * How long an update waits for replaced or handed-over servers to be drained and deleted by
     * the head-node service, seconds (default 3600).
     */
    drainTimeoutSeconds?: pulumi.Input<number>;
    /** Servers created at once (default 10). */
    maxConcurrency?: pulumi.Input<number>;
}

/** The Pulumi-owned static floor of workers. */
export class WorkerPool extends pulumi.dynamic.Resource {
    /** The workers, by index. */
    declare readonly servers: pulumi.Output<WorkerRecord[]>;
    /** The number of workers asked for. */
    declare readonly count: pulumi.Output<number>;

    /**
     * @param name The _unique_ name of this resource.
     * @param args Pool settings.
     * @param opts A bag of options that control this resource's behavior.
     */
    constructor(name: string, args: WorkerPoolArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            workerPoolProvider,
            name,
            {
                ...args,
                availabilityZone: args.availabilityZone ?? "",
                bootTimeoutSeconds: args.bootTimeoutSeconds ?? 600,
                drainTimeoutSeconds: args.drainTimeoutSeconds ?? 3600,
                maxConcurrency: args.maxConcurrency ?? 10,
                servers: undefined,
                providerVersion: undefined,
            },
            opts,
            "dynamic-cluster",
            "WorkerPool",
        );
    }
}
