/**
 * How many burst nodes are in use, for the head node's Salt state: the highest burst node
 * number that has a server (or a launch in flight), written to `<state_dir>/burst-nodes-in-use`.
 * The head's slurm.conf declares burst nodes up to the larger of `workers.max - workers.min` and
 * this number, so lowering `workers.max` under running jobs never removes their nodes from Slurm
 * (a slurmctld restart with fewer nodes fails their jobs); the service retires the surplus
 * nodes (policy.ts), and once they are gone this number drops and the next state run (the next
 * `pulumi up`) removes them from slurm.conf.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import * as path from "node:path";
import type { ServerView, WorkerRecord } from "./model";

/** File name in the service's state directory; salt/.../head/slurm.sls reads it. */
export const BURST_NODES_IN_USE_FILE = "burst-nodes-in-use";

/** The number of `<prefix>-<n>`, or undefined for another name. */
function burstNumber(prefix: string, node: string | undefined): number | undefined {
    if (!node?.startsWith(`${prefix}-`)) return undefined;
    const text = node.slice(prefix.length + 1);
    return /^[1-9][0-9]{0,5}$/.test(text) ? Number(text) : undefined;
}

/** The highest burst node number with a server or a launch in flight (0: none). */
export function burstNodesInUse(
    prefix: string,
    servers: readonly Pick<ServerView, "node" | "pool">[],
    records: ReadonlyMap<string, Pick<WorkerRecord, "launchInFlight">>,
): number {
    let highest = 0;
    for (const server of servers) {
        if (server.pool === "static") continue;
        highest = Math.max(highest, burstNumber(prefix, server.node) ?? 0);
    }
    for (const [node, record] of records) {
        if (record.launchInFlight) highest = Math.max(highest, burstNumber(prefix, node) ?? 0);
    }
    return highest;
}

/** Writes the number when it changes (temp file, fsync, rename: Salt never reads half). */
export class BurstNodesInUseFile {
    private written?: number;
    readonly file: string;

    constructor(stateDir: string) {
        this.file = path.join(stateDir, BURST_NODES_IN_USE_FILE);
    }

    /** Records `count`; a no-op when it is what the file already says. */
    write(count: number): void {
        if (count === this.written) return;
        const temp = `${this.file}.tmp`;
        const fd = openSync(temp, "w", 0o644);
        try {
            writeSync(fd, `${count}\n`);
            fsyncSync(fd);
        } finally {
            closeSync(fd);
        }
        renameSync(temp, this.file);
        this.written = count;
    }
}
