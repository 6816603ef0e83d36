/**
 * The worker pools of a cluster as the head-node service sees them: one list, the default pool
 * (`workers.*`, named after its node prefix) first, then `pools[*]` in the order configured. Each
 * pool has its own flavors (the first choice, then the fallbacks Nova's capacity and quota
 * faults move to), image, zone, floor (static nodes `<pool>-st-N`, Pulumi's) and maximum (burst
 * nodes `<pool>-dy-N`, the service's). Which pool a node belongs to comes from its name alone
 * (its prefix), so no tag or record can disagree with slurm.conf.
 */
import { indexOfNodeName, nodeRange } from "./nodeNames";
import type { ServiceSettings } from "./serviceSettings";

/** One pool, as the service launches and retires its workers. */
export interface WorkerPoolSpec {
    /** The pool's name: the default pool's is `workers.namePrefix`. */
    name: string;
    /** Nova flavors in order of preference (at least one). */
    flavors: readonly string[];
    /** Glance image name or ID. */
    image: string;
    /** Availability zone, or "" for Nova's default. */
    availabilityZone: string;
    /** Static workers (Pulumi's floor). */
    min: number;
    /** Static plus burst workers. */
    max: number;
    /** `<pool>-st`: the floor's node prefix. */
    staticPrefix: string;
    /** `<pool>-dy`: the burst nodes' prefix. */
    burstPrefix: string;
}

/** The pools the settings describe: the default pool first. */
export function workerPoolsOf(
    settings: Pick<ServiceSettings, "workers" | "extra_pools">,
): WorkerPoolSpec[] {
    const w = settings.workers;
    const defaultPool: WorkerPoolSpec = {
        name: w.static_prefix.replace(/-st$/, ""),
        flavors: [w.flavor, ...(w.fallback_flavors ?? [])],
        image: w.image,
        availabilityZone: w.availability_zone,
        min: w.min,
        max: w.max,
        staticPrefix: w.static_prefix,
        burstPrefix: w.burst_prefix,
    };
    return [
        defaultPool,
        ...(settings.extra_pools ?? []).map((p) => ({
            name: p.name,
            flavors: p.flavors,
            image: p.image,
            availabilityZone: p.availability_zone,
            min: p.min,
            max: p.max,
            staticPrefix: p.static_prefix,
            burstPrefix: p.burst_prefix,
        })),
    ];
}

/** Finds which pool a node belongs to, by its name. */
export class WorkerPoolIndex {
    /** Answers so far, by node name (the names a cluster sees are few and come back). */
    private readonly known = new Map<string, WorkerPoolSpec | undefined>();

    constructor(readonly pools: readonly WorkerPoolSpec[]) {}

    /** The pool whose prefix `node` carries (also beyond its current max), or undefined. */
    poolOf(node: string | undefined): WorkerPoolSpec | undefined {
        if (node === undefined) return undefined;
        if (this.known.has(node)) return this.known.get(node);
        const pool = this.pools.find(
            (p) =>
                indexOfNodeName(p.staticPrefix, node) !== undefined ||
                indexOfNodeName(p.burstPrefix, node) !== undefined,
        );
        // Bounded: past 100,000 names only those of a pool are remembered.
        if (pool || this.known.size < 100_000) this.known.set(node, pool);
        return pool;
    }

    /** Every pool's static nodes, then every pool's burst nodes, pool by pool. */
    nodeNames(): { static: string[]; burst: string[] } {
        return {
            static: this.pools.flatMap((p) => nodeRange(p.staticPrefix, p.min)),
            burst: this.pools.flatMap((p) => nodeRange(p.burstPrefix, p.max - p.min)),
        };
    }
}
