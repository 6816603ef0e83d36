/**
 * The replay's wait statistics: nearest-rank percentiles and the mean, 95th percentile and
 * largest of a set of waits, and the split of billed node-hours. One definition for every
 * policy's result.
 */
import type { NodeHourSplit } from "./model";

/** The `q` quantile (nearest rank) of sorted values; 0 when there are none. */
export function percentile(sorted: readonly number[], q: number): number {
    if (!sorted.length) return 0;
    const rank = Math.max(1, Math.ceil(q * sorted.length));
    return sorted[rank - 1]!;
}

/** Mean, 95th percentile and largest of `waits` (sorted here; 0 each when empty). */
export function waitStats(waits: number[]): { waitMean: number; waitP95: number; waitMax: number } {
    waits.sort((a, b) => a - b);
    return {
        waitMean: waits.length ? waits.reduce((a, b) => a + b, 0) / waits.length : 0,
        waitP95: percentile(waits, 0.95),
        waitMax: waits.length ? waits[waits.length - 1]! : 0,
    };
}

/**
 * Billed node-hours split by what the servers did: the cloud's booting and deleting seconds,
 * the jobs' used node-hours, and the rest idle (never below 0: rounding).
 */
export function nodeHourSplit(
    billedSeconds: number,
    overheads: { booting: number; deleting: number },
    usedNodeHours: number,
): NodeHourSplit {
    const booting = overheads.booting / 3600;
    const deleting = overheads.deleting / 3600;
    const idle = Math.max(0, billedSeconds / 3600 - booting - deleting - usedNodeHours);
    return { used: usedNodeHours, idle, booting, deleting };
}

/**
 * The mean wait split into time in the queue (`queueSeconds`, summed over the jobs that ran)
 * and the rest, waiting for nodes to boot; both 0 without jobs.
 */
export function waitSplit(
    waits: readonly number[],
    queueSeconds: number,
): { queue: number; boot: number } {
    if (!waits.length) return { queue: 0, boot: 0 };
    const total = waits.reduce((a, b) => a + b, 0);
    return { queue: queueSeconds / waits.length, boot: (total - queueSeconds) / waits.length };
}
