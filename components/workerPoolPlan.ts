/**
 * Pure planning for the WorkerPool provider: from the floor's servers as Nova shows them and the
 * count asked for, which to take back, which to hand to the head-node service, which are out of
 * date, and which node indexes need a server. Node names are `<prefix>-<index>` with indexes
 * kept contiguous (1..count), so `slurm.conf` can list the static floor as `<prefix>-[1-count]`.
 *
 * One rule runs through it: one live server per node name. A server the pool gives up (its index
 * beyond the count, or booted with other settings) is handed to the service (`retiring`), which
 * drains its node and deletes it once it runs no job; a new server for that name is booted only
 * once the old one is gone, and a retiring server booted with the current settings is taken back
 * instead when its index is wanted again.
 */
export { indexOfNodeName, nodeName } from "../lib/nodeNames";

/** A worker the pool knows, as stored in the resource's outputs. */
export interface WorkerRecord {
    /** Nova server ID. */
    id: string;
    /** Node (and server) name, `<prefix>-<index>`. */
    name: string;
    /** Position in the pool, from 1. */
    index: number;
    /** Salt minion ID. */
    minionId: string;
    /** First IPv4 address, if any. */
    address: string;
    /** Nova status when last seen. */
    status: string;
    /** Fingerprint of the settings the server was booted with (see {@link bootFingerprint}). */
    generation: string;
    /**
     * Handed to the head-node service (tag `dc-retiring`, or from an older release the burst
     * pool's tag): no longer part of the floor; its node is drained and the server deleted once
     * idle. Absent for live members of the floor.
     */
    retiring?: boolean;
}

/** What one update of the pool must do, in this order. */
export interface PoolPlan {
    /** Servers in ERROR: useless, they hold quota; deleted at once. */
    broken: WorkerRecord[];
    /**
     * Retiring servers taken back: booted with the current settings, for an index that is wanted
     * and has no live server (workers.min lowered, then raised again while the job ran).
     */
    adopt: WorkerRecord[];
    /** Live servers handed to the service: an index beyond the count, or a second one for an index. */
    handOver: WorkerRecord[];
    /**
     * Live servers in range booted with other settings than the current ones, lowest index
     * first: handed over and replaced one batch at a time ({@link rollingBatches}).
     */
    stale: WorkerRecord[];
    /** Indexes in 1..count with no live server once the above is done, ascending. */
    missing: number[];
}

/**
 * Plans the update from `current` (every server of the floor's names, live or retiring) to
 * `count` live servers booted with `generation`.
 */
export function planPool(
    current: readonly WorkerRecord[],
    count: number,
    generation: string,
): PoolPlan {
    const sorted = [...current].sort((a, b) => a.index - b.index || a.id.localeCompare(b.id));
    const broken = sorted.filter((w) => w.status === "ERROR");
    const usable = sorted.filter((w) => w.status !== "ERROR");
    const live = new Map<number, WorkerRecord>();
    const handOver: WorkerRecord[] = [];
    for (const worker of usable.filter((w) => !w.retiring)) {
        if (worker.index < 1 || worker.index > count || live.has(worker.index)) {
            handOver.push(worker);
        } else {
            live.set(worker.index, worker);
        }
    }
    const adopt: WorkerRecord[] = [];
    for (const worker of usable.filter((w) => w.retiring)) {
        const wanted = worker.index >= 1 && worker.index <= count && !live.has(worker.index);
        if (wanted && worker.generation === generation) {
            adopt.push(worker);
            live.set(worker.index, worker);
        }
    }
    const stale = [...live.values()]
        .filter((w) => w.generation !== generation)
        .sort((a, b) => a.index - b.index);
    const missing: number[] = [];
    for (let index = 1; index <= count; index++) if (!live.has(index)) missing.push(index);
    handOver.sort((a, b) => b.index - a.index);
    return { broken, adopt, handOver, stale, missing };
}

/** Batch size of a rolling replacement: a quarter of the pool, at least one. */
export function rollingBatchSize(count: number): number {
    return Math.max(1, Math.ceil(count / 4));
}

/**
 * The out-of-date workers in batches of {@link rollingBatchSize}: the provider hands one batch
 * over, boots each replacement as soon as its predecessor is gone, and only then starts the next
 * batch, so at most one batch is ever out of service.
 */
export function rollingBatches(stale: readonly WorkerRecord[], count: number): WorkerRecord[][] {
    const size = rollingBatchSize(count);
    const batches: WorkerRecord[][] = [];
    for (let i = 0; i < stale.length; i += size) batches.push(stale.slice(i, i + size));
    return batches;
}
