/**
 * The one tag and metadata scheme that marks a Nova server as a Dynamic Cluster worker, and the
 * one test of it ({@link workerIdentity}) every part applies before it acts on a server.
 *
 * Pulumi's WorkerPool owns the `static` pool (the floor, `workers.min`); the head-node service
 * owns the `burst` pool. Both list servers by tag (Nova has no server-side metadata filter) and
 * read the minion ID and node name from metadata. The head node carries the cluster's tag too
 * (so `openstack server list --tags dc-cluster-<id>` shows the whole cluster) and {@link HEAD_TAG}:
 * a server is a worker only when it carries a pool tag and a node name in metadata, and never
 * when it carries the head's tag, so neither the head nor a server a user tagged by hand is ever
 * taken for a worker (or an orphan to delete). A static server the WorkerPool hands to the
 * service (its node no longer covered by `workers.min`, or its settings out of date) also carries
 * {@link RETIRING_TAG}: the service drains it and deletes it once idle. See docs/architecture.md,
 * "Who owns which workers".
 */

/** Which owner a worker belongs to. */
export type WorkerPoolKind = "static" | "burst";

/** Tag carried by every Dynamic Cluster server (workers and head), whatever its cluster. */
export const PRODUCT_TAG = "dc";

/** Tag of the head node's server: never a worker, never deleted by the service. */
export const HEAD_TAG = "dc-head";

/**
 * Tag the WorkerPool adds to a static server it gives up (workers.min lowered, or a rolling
 * replacement): the service drains its node and deletes the server once it runs no job.
 */
export const RETIRING_TAG = "dc-retiring";

/** Metadata key holding the worker's Salt minion ID. */
export const METADATA_MINION_ID = "dc:minion";

/** Metadata key holding the worker's scheduler node name. */
export const METADATA_NODE_NAME = "dc:node";

/** Cluster IDs are short lower-case strings so that tags stay far below Nova's 60 characters. */
export const CLUSTER_ID_PATTERN = /^[a-z0-9]{4,32}$/;

/** The tag naming one cluster: `dc-cluster-<id>`. */
export function clusterTag(clusterId: string): string {
    if (!CLUSTER_ID_PATTERN.test(clusterId)) {
        throw new Error(
            `Cluster ID "${clusterId}" is not valid: use 4 to 32 lower-case letters or digits.`,
        );
    }
    return `dc-cluster-${clusterId}`;
}

/** The tag naming one pool of one cluster: `dc-pool-static` or `dc-pool-burst`. */
export function poolTag(pool: WorkerPoolKind): string {
    return `dc-pool-${pool}`;
}

/** Every tag a worker of `clusterId` in `pool` is booted with (boot-time tags need 2.52). */
export function workerTags(clusterId: string, pool: WorkerPoolKind): string[] {
    return [PRODUCT_TAG, clusterTag(clusterId), poolTag(pool)];
}

/** The tags of a static worker the WorkerPool hands to the service ({@link RETIRING_TAG}). */
export function retiringWorkerTags(clusterId: string): string[] {
    return [...workerTags(clusterId, "static"), RETIRING_TAG];
}

/** The metadata a worker is booted with. */
export function workerMetadata(minionId: string, nodeName: string): Record<string, string> {
    return { [METADATA_MINION_ID]: minionId, [METADATA_NODE_NAME]: nodeName };
}

/** The tags and metadata of a listed server. */
export interface TaggedServer {
    tags: readonly string[];
    metadata: Readonly<Record<string, string>>;
}

/** What makes a server a worker of one cluster, as read from its tags and metadata. */
export interface WorkerIdentity {
    pool: WorkerPoolKind;
    /** Scheduler node name (metadata `dc:node`). */
    node: string;
    /** Salt minion ID (metadata `dc:minion`; every worker is booted with one). */
    minionId?: string;
    /** The WorkerPool handed it to the service ({@link RETIRING_TAG}). */
    retiring: boolean;
}

/**
 * The worker identity of `server` in cluster `clusterId`, or undefined when it is not one of
 * that cluster's workers: it must carry {@link PRODUCT_TAG}, the cluster's tag, exactly one pool
 * tag and a node name in metadata (what the service and the WorkerPool boot every worker with),
 * and not {@link HEAD_TAG}. Every listing that leads to a delete goes through this, so the head
 * node and servers tagged by hand are left alone.
 */
export function workerIdentity(
    server: TaggedServer,
    clusterId: string,
): WorkerIdentity | undefined {
    const tags = server.tags;
    if (!tags.includes(PRODUCT_TAG) || !tags.includes(clusterTag(clusterId))) return undefined;
    if (tags.includes(HEAD_TAG)) return undefined;
    const pools = (["static", "burst"] as const).filter((pool) => tags.includes(poolTag(pool)));
    if (pools.length !== 1) return undefined;
    const node = server.metadata[METADATA_NODE_NAME];
    if (!node) return undefined;
    const minionId = server.metadata[METADATA_MINION_ID] || undefined;
    return { pool: pools[0]!, node, minionId, retiring: tags.includes(RETIRING_TAG) };
}
