/**
 * How many nodes of each pool are in use, for the head node's Salt state: the highest burst node
 * number that has a server (or a launch in flight), written to `<state_dir>/burst-nodes-in-use`,
 * and the highest static node number that has a server, in `<state_dir>/static-nodes-in-use`.
 * The head's slurm.conf declares burst nodes up to the larger of `workers.max - workers.min` and
 * the first number, and static nodes up to the larger of `workers.min` and the second, so
 * lowering `workers.max` or `workers.min` under running jobs never removes their nodes from
 * Slurm (a slurmctld restart with fewer nodes fails their jobs). The service retires the surplus
 * nodes (policy.ts: drained, deleted once idle; a lowered `workers.min` hands its servers over
 * to the service, components/workerPool.ts), and once they are gone the number drops and the
 * next state run (the next `pulumi up`) removes them from slurm.conf.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import * as path from "node:path";
import { indexOfNodeName } from "../lib/nodeNames";
import type { ServerView, WorkerRecord } from "./model";

/** File names in the service's state directory; salt/.../head/slurm.sls reads them. */
export const BURST_NODES_IN_USE_FILE = "burst-nodes-in-use";
export const STATIC_NODES_IN_USE_FILE = "static-nodes-in-use";

/** The highest burst node number with a server or a launch in flight (0: none). */
export function burstNodesInUse(
    prefix: string,
    servers: readonly Pick<ServerView, "node" | "pool">[],
    records: ReadonlyMap<string, Pick<WorkerRecord, "launchInFlight">>,
): number {
    let highest = 0;
    for (const server of servers) {
        if (server.pool === "static") continue;
        highest = Math.max(highest, indexOfNodeName(prefix, server.node) ?? 0);
    }
    for (const [node, record] of records) {
        if (record.launchInFlight) highest = Math.max(highest, indexOfNodeName(prefix, node) ?? 0);
    }
    return highest;
}

/**
 * The highest static node number with a server, whichever pool tag it carries now: a server of
 * the floor that a lowered `workers.min` handed to the service keeps its node until it is gone.
 */
export function staticNodesInUse(
    prefix: string,
    servers: readonly Pick<ServerView, "node">[],
): number {
    let highest = 0;
    for (const server of servers)
        highest = Math.max(highest, indexOfNodeName(prefix, server.node) ?? 0);
    return highest;
}

/** Both counts, written where the head's Salt state reads them. */
export class NodesInUseFiles {
    readonly burst: NodeCountFile;
    readonly static: NodeCountFile;

    constructor(stateDir: string) {
        this.burst = new NodeCountFile(path.join(stateDir, BURST_NODES_IN_USE_FILE));
        this.static = new NodeCountFile(path.join(stateDir, STATIC_NODES_IN_USE_FILE));
    }

    /** Records both counts (each file only when its number changes). */
    write(counts: { burst: number; static: number }): void {
        this.burst.write(counts.burst);
        this.static.write(counts.static);
    }
}

/** Writes a number when it changes (temp file, fsync, rename: Salt never reads half). */
export class NodeCountFile {
    private written?: number;

    constructor(readonly file: string) {}

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
