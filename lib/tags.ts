/**
 * The one tag and metadata scheme that marks a Nova server as a Dynamic Cluster worker.
 *
 * Pulumi's WorkerPool owns the `static` pool (the floor, `workers.min`); the head-node service
 * owns the `burst` pool. Both list servers by tag (Nova has no server-side metadata filter) and
 * read the minion ID and node name from metadata. See docs/architecture.md, "Who owns which
 * workers".
 */

/** Which owner a worker belongs to. */
export type WorkerPoolKind = "static" | "burst";

/** Tag carried by every Dynamic Cluster worker, whatever its cluster. */
export const PRODUCT_TAG = "dc";

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

/** The metadata a worker is booted with. */
export function workerMetadata(minionId: string, nodeName: string): Record<string, string> {
    return { [METADATA_MINION_ID]: minionId, [METADATA_NODE_NAME]: nodeName };
}
