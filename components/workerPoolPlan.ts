/**
 * Pure planning for the WorkerPool provider: which node indexes to boot or delete for a count,
 * and the batches of a rolling replacement. Node names are `<prefix>-<index>` with indexes kept
 * contiguous (1..count), so `slurm.conf` can list the static floor as `<prefix>-[1-count]`.
 */
export { indexOfNodeName, nodeName } from "../lib/nodeNames";

/** A worker the pool owns, as stored in the resource's outputs. */
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
}

/** What a scale step must do. */
export interface ScalePlan {
    /** Indexes to boot, ascending. */
    create: number[];
    /** Workers to delete, highest index first. */
    remove: WorkerRecord[];
}

/**
 * Plans the step from `current` to `count` workers: every index in 1..count that has no worker
 * is booted; every worker outside 1..count, or a second worker on the same index, is deleted.
 */
export function planScale(current: readonly WorkerRecord[], count: number): ScalePlan {
    const byIndex = new Map<number, WorkerRecord>();
    const remove: WorkerRecord[] = [];
    for (const worker of [...current].sort(
        (a, b) => a.index - b.index || a.id.localeCompare(b.id),
    )) {
        if (worker.index < 1 || worker.index > count || byIndex.has(worker.index))
            remove.push(worker);
        else byIndex.set(worker.index, worker);
    }
    const create: number[] = [];
    for (let index = 1; index <= count; index++) if (!byIndex.has(index)) create.push(index);
    remove.sort((a, b) => b.index - a.index);
    return { create, remove };
}

/** Batch size of a rolling replacement: a quarter of the pool, at least one. */
export function rollingBatchSize(count: number): number {
    return Math.max(1, Math.ceil(count / 4));
}

/**
 * The workers to replace, in batches: those booted with other settings than `generation`,
 * lowest index first. The provider boots each batch's replacements, waits for them, and only
 * then deletes the batch, so at most one batch is ever out of service.
 */
export function planRollingReplace(
    current: readonly WorkerRecord[],
    generation: string,
    batchSize: number,
): WorkerRecord[][] {
    const stale = current
        .filter((w) => w.generation !== generation)
        .sort((a, b) => a.index - b.index);
    const batches: WorkerRecord[][] = [];
    for (let i = 0; i < stale.length; i += batchSize) batches.push(stale.slice(i, i + batchSize));
    return batches;
}
