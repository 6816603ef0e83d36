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
import { indexOfNodeName, parseNodeName, poolNodePrefix } from "../lib/nodeNames";
import type { WorkerPoolSpec } from "../lib/workerPools";
import type { ServerView, WorkerRecord } from "./model";

/** File names in the service's state directory; salt/.../head/slurm.sls reads them. */
export const BURST_NODES_IN_USE_FILE = "burst-nodes-in-use";
export const STATIC_NODES_IN_USE_FILE = "static-nodes-in-use";
/** Every pool's counts, JSON `{"<pool>": {"static": n, "burst": n}}`. */
export const NODES_IN_USE_FILE = "nodes-in-use.json";

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

/** A pool's counts: its highest static and burst node numbers in use. */
export interface PoolNodesInUse {
    static: number;
    burst: number;
}

/**
 * Every pool's counts, by pool name: the configured pools (the default one first), and any pool
 * a server's node name still names although the configuration no longer has it (taken out under
 * running jobs: slurm.conf keeps its nodes, retired, until their servers are gone).
 */
export function nodesInUseByPool(
    pools: readonly Pick<WorkerPoolSpec, "name" | "staticPrefix" | "burstPrefix">[],
    servers: readonly Pick<ServerView, "node" | "pool">[],
    records: ReadonlyMap<string, Pick<WorkerRecord, "launchInFlight">>,
): Map<string, PoolNodesInUse> {
    const prefixes = new Map(pools.map((p) => [p.name, p] as const));
    for (const server of servers) {
        const parsed = parseNodeName(server.node);
        if (parsed && !prefixes.has(parsed.pool)) {
            prefixes.set(parsed.pool, {
                name: parsed.pool,
                staticPrefix: poolNodePrefix(parsed.pool, "static"),
                burstPrefix: poolNodePrefix(parsed.pool, "burst"),
            });
        }
    }
    const counts = new Map<string, PoolNodesInUse>();
    for (const pool of prefixes.values()) {
        counts.set(pool.name, {
            static: staticNodesInUse(pool.staticPrefix, servers),
            burst: burstNodesInUse(pool.burstPrefix, servers, records),
        });
    }
    return counts;
}

/**
 * The counts, written where the head's Salt state reads them: every pool's in
 * {@link NODES_IN_USE_FILE} (JSON, by pool name), and the default pool's also in the two files
 * an older release's state reads.
 */
export class NodesInUseFiles {
    readonly burst: NodeCountFile;
    readonly static: NodeCountFile;
    readonly all: NodeCountFile;

    constructor(stateDir: string) {
        this.burst = new NodeCountFile(path.join(stateDir, BURST_NODES_IN_USE_FILE));
        this.static = new NodeCountFile(path.join(stateDir, STATIC_NODES_IN_USE_FILE));
        this.all = new NodeCountFile(path.join(stateDir, NODES_IN_USE_FILE));
    }

    /** Records the counts (each file only when its content changes); the first pool is the default one. */
    write(byPool: ReadonlyMap<string, PoolNodesInUse>): void {
        const first = byPool.values().next().value;
        if (first) {
            this.burst.write(first.burst);
            this.static.write(first.static);
        }
        this.all.write(JSON.stringify(Object.fromEntries(byPool)));
    }
}

/** Writes a number when it changes (temp file, fsync, rename: Salt never reads half). */
export class NodeCountFile {
    private written?: number | string;

    constructor(readonly file: string) {}

    /** Records `count` (a number, or a JSON text); a no-op when it is what the file already says. */
    write(count: number | string): void {
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
