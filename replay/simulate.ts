/**
 * One replay: a trace's jobs through a simulated Slurm and Nova under one policy, in simulated
 * time, and what it cost. The policies:
 * - `service`: the Dynamic Cluster service (sim/service.ts: the real `decide()`), with
 *   `workers.min` static nodes and `max - min` burst nodes under Slurm power saving;
 * - `static`: `workers.max` nodes always up (what a fixed cluster of that size costs);
 * - `original`: the original Dynamic Cluster's allocator on Torque + MAUI (sim/original.ts);
 * - `naive`: the simplest elastic policy, with no scheduler and no maximum (sim/naive.ts): the
 *   bar a policy that thinks must clear;
 * - `foresight` ({@link foresight}): the physical limit, nodes billed only for the core-hours
 *   jobs use, with the static cluster's waits (no job waits for a boot).
 * With several worker pools (`pools`: the `--pools` file), the service and static policies
 * simulate them all in one cluster: each pool's nodes in its partition, each job in the
 * partition it was mapped to (replay/pools.ts), one service with every pool's max, breaker and
 * backoff, one Nova (one quota) billing each pool's servers; the result adds a row per pool.
 * Deterministic for a seed: the same inputs give the same result.
 */
import { defaultTuning, type Tuning } from "../lib/serviceSettings";
import { nodeRange } from "../lib/nodeNames";
import type { WorkerPoolSpec } from "../lib/workerPools";
import type { CloudModel, PolicyResult, PoolResult, PoolShape, SimJob, WorkerShape } from "./model";
import { Random } from "./random";
import { SimNova } from "./sim/nova";
import { OriginalAllocator, type OriginalSettings } from "./sim/original";
import { EventQueue } from "./sim/queue";
import { SimService } from "./sim/service";
import { DEFAULT_PARTITION, SimSlurm } from "./sim/slurm";
import { replayNaive } from "./sim/naive";
import { nodeHourSplit, waitSplit, waitStats } from "./stats";
import type { TraceJob } from "./trace/types";

export { percentile } from "./stats";

/** The policies a replay can run. */
export type PolicyKind = "service" | "static" | "original" | "naive";

/** Everything a replay needs besides the trace. */
export interface ReplayOptions {
    /** The worker policy; with `pools`, only its `launchTimeout` applies. */
    shape: WorkerShape;
    /**
     * Several worker pools (the default one first), replacing the shape's min, max, idle timeout
     * and cores; each job runs in the partition its `partition` names (replay/pools.ts maps
     * them). The service and static policies only.
     */
    pools?: readonly PoolShape[];
    cloud: CloudModel;
    seed: number;
    /** The service's tuning (autoscaler/settings.ts defaults when missing). */
    tuning?: Tuning;
    /** The original system's settings beyond the shape (its shipped defaults when missing). */
    original?: Partial<OriginalSettings>;
    /** Called as jobs finish (at most about every 1 % of the jobs). */
    onProgress?: (finished: number, total: number) => void;
    /**
     * A replay stops when no job was submitted, started or ended for this long (s) while jobs
     * still wait: the policy stopped launching for good (say the breaker opened; requeues do not
     * count). Default 30 days.
     */
    stallLimit?: number;
    /**
     * Asks the policy in the rounds where a replay skips it (only jobs moved since a round whose
     * decision repeats: sim/service.ts) and fails if it decided anything new: the tests' proof
     * that skipping changes no result. Slower.
     */
    checkSkippedRounds?: boolean;
}

/** Static node names (the floor, `workers.min`) and burst node names of the simulation. */
export const STATIC_PREFIX = "st";
export const BURST_PREFIX = "burst";

/** One pool as the simulation runs it. */
interface SimPool {
    shape: PoolShape;
    /** As the service's settings describe it (prefixes, min, max, flavors). */
    spec: WorkerPoolSpec;
    staticNodes: string[];
    burstNodes: string[];
}

/**
 * The pools of a replay: the `--pools` ones (`<pool>-st-N`, `<pool>-dy-N`, one flavor each,
 * named after the pool), or the one pool of `shape` (`st-N`, `burst-N`). `staticOf` gives the
 * nodes that are up from the start (the floor, or all of them for the static cluster).
 */
function simPools(options: ReplayOptions, staticOf: (pool: PoolShape) => number): SimPool[] {
    const shapes: readonly PoolShape[] = options.pools ?? [
        { ...options.shape, name: "worker", partition: DEFAULT_PARTITION },
    ];
    return shapes.map((shape) => {
        const staticPrefix = options.pools ? `${shape.name}-st` : STATIC_PREFIX;
        const burstPrefix = options.pools ? `${shape.name}-dy` : BURST_PREFIX;
        const floor = staticOf(shape);
        return {
            shape,
            spec: {
                name: shape.name,
                flavors: [shape.name],
                image: "",
                availabilityZone: "",
                min: floor,
                max: shape.max,
                staticPrefix,
                burstPrefix,
            },
            staticNodes: nodeRange(staticPrefix, floor),
            burstNodes: nodeRange(burstPrefix, shape.max - floor),
        };
    });
}

/** Runs one policy over the trace. */
export function replay(
    jobs: readonly TraceJob[],
    policy: PolicyKind,
    options: ReplayOptions,
): PolicyResult {
    if (options.pools && (policy === "naive" || policy === "original")) {
        throw new Error(`the ${policy} policy replays one pool (no --pools)`);
    }
    if (policy === "naive") return replayNaive(jobs, options);
    const wallStart = performance.now();
    const { shape, cloud } = options;
    const tuning = options.tuning ?? defaultTuning();
    const clock = new EventQueue();
    const random = new Random(options.seed);
    const pools = simPools(options, (pool) =>
        policy === "static" ? pool.max : policy === "original" ? 0 : pool.min,
    );
    const staticNodes = pools.flatMap((p) => p.staticNodes);
    const staticCount = staticNodes.length;
    const poolIndexOf = new Map<string, number>();
    pools.forEach((pool, i) => {
        for (const node of [...pool.staticNodes, ...pool.burstNodes]) poolIndexOf.set(node, i);
    });
    const poolOf = (node: string) => poolIndexOf.get(node) ?? 0;

    let service: SimService | undefined;
    let original: OriginalAllocator | undefined;
    let finished = 0;
    let lastProgress = 0;
    let runningCores = 0;
    let peakBusyCores = 0;
    /** With pools: nodes' worth of cores running jobs (cores over their node's), and its peak. */
    let busyNodes = 0;
    let peakBusy = 0;
    const nodesWorth = (alloc: ReadonlyMap<string, number>) => {
        let worth = 0;
        for (const [node, cores] of alloc) worth += cores / pools[poolOf(node)]!.shape.coresPerNode;
        return worth;
    };
    const total = jobs.length;
    const step = Math.max(1, Math.floor(total / 100));

    const slurm = new SimSlurm(
        clock,
        pools.flatMap((pool) => {
            const node = (name: string, isStatic: boolean) => ({
                name,
                isStatic,
                cpus: pool.shape.coresPerNode,
                partition: pool.shape.partition,
                idleTimeout: pool.shape.idleTimeout,
                warm:
                    !isStatic && pool.shape.minIdle
                        ? { set: pool.shape.name, keep: pool.shape.minIdle }
                        : undefined,
            });
            return [
                ...pool.staticNodes.map((name) => node(name, true)),
                ...pool.burstNodes.map((name) => node(name, false)),
            ];
        }),
        {
            mode: policy === "original" ? "queue" : "power-saving",
            idleTimeout: shape.idleTimeout,
            launchTimeout: shape.launchTimeout,
            suspendTimeout: cloud.suspendTimeout,
            expectedBoot: cloud.bootMedian + cloud.configureMedian,
        },
        {
            request: (node, want, failed) => service?.request(node, want, failed),
            changed: (what) => service?.changed(what),
            jobEvent: (job, what) => {
                // A requeue is not progress: with the breaker open, Slurm hands the waiting
                // jobs to burst nodes that never resume and requeues them forever.
                if (what !== "requeue") lastProgress = clock.now;
                if (what === "start") {
                    job.ranOn = job.alloc;
                    runningCores += job.trace.processors;
                    peakBusyCores = Math.max(peakBusyCores, runningCores);
                    if (options.pools) {
                        busyNodes += nodesWorth(job.alloc);
                        peakBusy = Math.max(peakBusy, busyNodes);
                    }
                } else if (what === "end") {
                    runningCores -= job.trace.processors;
                    if (options.pools) busyNodes -= nodesWorth(job.ranOn!);
                    finished++;
                    if (options.onProgress && finished % step === 0)
                        options.onProgress(finished, total);
                } else if (job.state === "running") {
                    runningCores -= job.trace.processors; // requeued while it ran
                    if (options.pools) busyNodes -= nodesWorth(job.ranOn!);
                }
                original?.wake();
            },
        },
    );
    const nova = new SimNova(
        clock,
        cloud,
        random,
        {
            ready: (node) => {
                if (original) original.ready(node);
                else {
                    slurm.registered(node);
                    service?.ready(node);
                }
            },
            changed: () => service?.changed("nodes"),
        },
        { count: pools.length, of: poolOf },
    );
    for (const node of staticNodes) nova.create(node, `${node}-static`, "static", true);
    if (policy === "service") {
        service = new SimService(
            clock,
            { pools: pools.map((p) => p.spec), launchTimeout: shape.launchTimeout },
            tuning,
            nova,
            slurm,
            options.checkSkippedRounds,
        );
    } else if (policy === "original") {
        original = new OriginalAllocator(
            clock,
            {
                tick: 10,
                cloudPoll: 20,
                maxIdleTime: shape.idleTimeout,
                maxLaunchTime: shape.launchTimeout,
                queuedJobsSeen: 30,
                min: shape.min,
                max: shape.max,
                coresPerNode: shape.coresPerNode,
                ...options.original,
            },
            nova,
            slurm,
        );
    }

    const sim: SimJob[] = [];
    const submitted: SimJob[] = [];
    let neverFits = 0;
    const capacityOf = new Map<string, number>();
    for (const pool of pools) {
        const { partition, max, coresPerNode } = pool.shape;
        capacityOf.set(partition, (capacityOf.get(partition) ?? 0) + max * coresPerNode);
    }
    for (const [index, trace] of jobs.entries()) {
        const partition = options.pools ? (trace.partition ?? DEFAULT_PARTITION) : undefined;
        const job: SimJob = {
            trace,
            index,
            partition,
            state: "future",
            alloc: new Map(),
            allocatedAt: -1,
            startedAt: -1,
            endedAt: -1,
            requeues: 0,
            handOffs: 0,
            epoch: 0,
        };
        sim.push(job);
        if (trace.processors > (capacityOf.get(partition ?? DEFAULT_PARTITION) ?? 0)) {
            job.state = "never-fits";
            neverFits++;
            continue;
        }
        submitted.push(job);
    }
    clock.series(
        submitted,
        (job) => job.trace.submit,
        (job) => {
            lastProgress = clock.now;
            slurm.submit(job);
            original?.wake();
        },
    );
    const replayable = total - neverFits;
    if (original && staticCount === 0 && shape.min > 0) original.wake();
    const stallLimit = options.stallLimit ?? 30 * 86_400;
    clock.run(() => finished < replayable && clock.now - lastProgress > stallLimit);

    const waits: number[] = [];
    let queueSeconds = 0;
    let windowEnd = 0;
    let requeues = 0;
    let handOffs = 0;
    let usedCoreSeconds = 0;
    for (const job of sim) {
        requeues += job.requeues;
        handOffs += job.handOffs;
        if (job.state !== "done") continue;
        waits.push(job.startedAt - job.trace.submit);
        queueSeconds += job.allocatedAt - job.trace.submit;
        windowEnd = Math.max(windowEnd, job.endedAt);
        usedCoreSeconds += job.trace.processors * job.trace.runtime;
    }
    const billedSeconds = nova.billed(windowEnd);
    const poolResults = options.pools ? perPool(pools, sim, nova, windowEnd, poolOf) : undefined;
    const usedNodeHours = poolResults
        ? poolResults.reduce((sum, p) => sum + p.usedNodeHours, 0)
        : usedCoreSeconds / shape.coresPerNode / 3600;
    return {
        policy,
        nodeHours: billedSeconds / 3600,
        usedNodeHours,
        split: nodeHourSplit(billedSeconds, nova.overheads(windowEnd), usedNodeHours),
        ...waitStats(waits),
        waitSplit: waitSplit(waits, queueSeconds),
        jobs: replayable,
        neverFits,
        neverRan: replayable - finished,
        peakWorkers: nova.peak,
        launches: nova.creates,
        failures: (service?.failures ?? 0) + (original?.failures ?? 0),
        requeues,
        handOffs,
        span: windowEnd,
        wallMs: performance.now() - wallStart,
        rounds: service?.rounds ?? original?.rounds ?? 0,
        decideMs: service?.decideMs,
        peakBusyNodes: poolResults
            ? Math.ceil(peakBusy - 1e-9)
            : Math.ceil(peakBusyCores / shape.coresPerNode),
        pools: poolResults,
    };
}

/**
 * Each pool's share: its servers' bill, peak and creates, the node-hours jobs used on its nodes
 * (each job's cores on a node over the node's cores, for its runtime), and the waits of the jobs
 * of its partition (shared by the pools of one partition).
 */
function perPool(
    pools: readonly SimPool[],
    sim: readonly SimJob[],
    nova: SimNova,
    windowEnd: number,
    poolOf: (node: string) => number,
): PoolResult[] {
    const billed = nova.billedOf(windowEnd);
    const usedSeconds = pools.map(() => 0);
    const byPartition = new Map<string, { waits: number[]; neverRan: number; neverFits: number }>();
    for (const pool of pools) {
        byPartition.set(pool.shape.partition, { waits: [], neverRan: 0, neverFits: 0 });
    }
    for (const job of sim) {
        const part = byPartition.get(job.partition ?? DEFAULT_PARTITION);
        if (job.state === "never-fits") {
            if (part) part.neverFits++;
            continue;
        }
        if (job.state !== "done") {
            if (part) part.neverRan++;
            continue;
        }
        part?.waits.push(job.startedAt - job.trace.submit);
        for (const [node, cores] of job.ranOn ?? []) {
            const i = poolOf(node);
            usedSeconds[i]! += (cores / pools[i]!.shape.coresPerNode) * job.trace.runtime;
        }
    }
    const stats = new Map(
        [...byPartition].map(([name, p]) => [name, { ...p, ...waitStats([...p.waits]) }]),
    );
    return pools.map((pool, i) => {
        const part = stats.get(pool.shape.partition)!;
        return {
            name: pool.shape.name,
            partition: pool.shape.partition,
            nodeHours: billed[i]! / 3600,
            usedNodeHours: usedSeconds[i]! / 3600,
            peakWorkers: nova.peakOf[i]!,
            launches: nova.createsOf[i]!,
            jobs: part.waits.length,
            waitMean: part.waitMean,
            waitP95: part.waitP95,
            waitMax: part.waitMax,
            neverRan: part.neverRan,
            neverFits: part.neverFits,
        };
    });
}

/**
 * The physical limit: nodes billed only for the core-hours jobs use, and the waits of a static
 * cluster of `workers.max` nodes (no job ever waits for a boot). Derived from the static run.
 */
export function foresight(staticRun: PolicyResult): PolicyResult {
    return {
        ...staticRun,
        policy: "foresight",
        nodeHours: staticRun.usedNodeHours,
        split: { used: staticRun.usedNodeHours, idle: 0, booting: 0, deleting: 0 },
        peakWorkers: staticRun.peakBusyNodes ?? staticRun.peakWorkers,
        launches: 0,
        rounds: 0,
        wallMs: 0,
    };
}
