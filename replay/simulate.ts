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
 * Deterministic for a seed: the same inputs give the same result.
 */
import { defaultTuning, type Tuning } from "../lib/serviceSettings";
import { nodeRange } from "../lib/nodeNames";
import type { CloudModel, PolicyResult, SimJob, WorkerShape } from "./model";
import { Random } from "./random";
import { SimNova } from "./sim/nova";
import { OriginalAllocator, type OriginalSettings } from "./sim/original";
import { EventQueue } from "./sim/queue";
import { SimService } from "./sim/service";
import { SimSlurm } from "./sim/slurm";
import { replayNaive } from "./sim/naive";
import { nodeHourSplit, waitSplit, waitStats } from "./stats";
import type { TraceJob } from "./trace/types";

export { percentile } from "./stats";

/** The policies a replay can run. */
export type PolicyKind = "service" | "static" | "original" | "naive";

/** Everything a replay needs besides the trace. */
export interface ReplayOptions {
    shape: WorkerShape;
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

/** Runs one policy over the trace. */
export function replay(
    jobs: readonly TraceJob[],
    policy: PolicyKind,
    options: ReplayOptions,
): PolicyResult {
    if (policy === "naive") return replayNaive(jobs, options);
    const wallStart = performance.now();
    const { shape, cloud } = options;
    const tuning = options.tuning ?? defaultTuning();
    const clock = new EventQueue();
    const random = new Random(options.seed);
    const staticCount = policy === "static" ? shape.max : policy === "original" ? 0 : shape.min;
    const staticNodes = nodeRange(STATIC_PREFIX, staticCount);
    const burstNodes = nodeRange(BURST_PREFIX, shape.max - staticCount);
    const capacity = shape.max * shape.coresPerNode;

    let service: SimService | undefined;
    let original: OriginalAllocator | undefined;
    let finished = 0;
    let lastProgress = 0;
    let runningCores = 0;
    let peakBusyCores = 0;
    const total = jobs.length;
    const step = Math.max(1, Math.floor(total / 100));

    const slurm = new SimSlurm(
        clock,
        [
            ...staticNodes.map((name) => ({ name, isStatic: true, cpus: shape.coresPerNode })),
            ...burstNodes.map((name) => ({ name, isStatic: false, cpus: shape.coresPerNode })),
        ],
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
                    runningCores += job.trace.processors;
                    peakBusyCores = Math.max(peakBusyCores, runningCores);
                } else if (what === "end") {
                    runningCores -= job.trace.processors;
                    finished++;
                    if (options.onProgress && finished % step === 0)
                        options.onProgress(finished, total);
                } else if (job.state === "running") {
                    runningCores -= job.trace.processors; // requeued while it ran
                }
                original?.wake();
            },
        },
    );
    const nova = new SimNova(clock, cloud, random, {
        ready: (node) => {
            if (original) original.ready(node);
            else {
                slurm.registered(node);
                service?.ready(node);
            }
        },
        changed: () => service?.changed("nodes"),
    });
    for (const node of staticNodes) nova.create(node, `${node}-static`, "static", true);
    if (policy === "service") {
        service = new SimService(
            clock,
            {
                staticNodes,
                burstNodes,
                burstPrefix: BURST_PREFIX,
                launchTimeout: shape.launchTimeout,
            },
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
    for (const [index, trace] of jobs.entries()) {
        const job: SimJob = {
            trace,
            index,
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
        if (trace.processors > capacity) {
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
    const usedNodeHours = usedCoreSeconds / shape.coresPerNode / 3600;
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
        peakBusyNodes: Math.ceil(peakBusyCores / shape.coresPerNode),
    };
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
