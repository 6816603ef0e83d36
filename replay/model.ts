/**
 * The replay's vocabulary: the cluster and cloud a replay simulates, and what it reports per
 * policy. Times are seconds of simulated time.
 */
import type { TraceJob } from "./trace/types";

/** The worker policy under test, as `pulumi config` sets it (workers.*). */
export interface WorkerShape {
    /** workers.min: the static floor, always up (Pulumi's). */
    min: number;
    /** workers.max: static + burst nodes. */
    max: number;
    /** workers.idleTimeout (Slurm SuspendTime), s. */
    idleTimeout: number;
    /** workers.launchTimeout (Slurm ResumeTimeout, the service's launch deadline), s. */
    launchTimeout: number;
    /** Cores per worker (the flavor's vCPUs). */
    coresPerNode: number;
}

/**
 * One worker pool of a replay with several (`--pools`): the default pool (`workers.*`, named
 * `workers.namePrefix`) or one of `pools[*]`, with its flavor's cores. `workers.launchTimeout`
 * (Slurm's ResumeTimeout) is one for the cluster: the replay's {@link WorkerShape}'s.
 */
export interface PoolShape {
    /** The pool's name and node prefix (`<name>-st-N`, `<name>-dy-N`). */
    name: string;
    /** Static workers (Pulumi's floor). */
    min: number;
    /** Static plus burst workers. */
    max: number;
    /** Its partition's SuspendTime, s. */
    idleTimeout: number;
    /** vCPUs of its flavor (the smallest of its fallback flavors: what slurm.conf declares). */
    coresPerNode: number;
    /** The Slurm partition its nodes are in. */
    partition: string;
    /** Idle burst workers Slurm keeps powered (`SuspendExcNodes=<pool>-dy-[..]:minIdle`). */
    minIdle?: number;
}

/** The simulated cloud and scheduler timings. */
export interface CloudModel {
    /** Create call to ACTIVE: log-normal median and p95, s. */
    bootMedian: number;
    bootP95: number;
    /** ACTIVE to slurmd registered (Salt admission + highstate): median and p95, s. */
    configureMedian: number;
    configureP95: number;
    /** Delete call to the server gone (billing stops), s. */
    deleteTime: number;
    /** Share of launches whose server goes to ERROR instead of ACTIVE (0..1). */
    failureRate: number;
    /** Most servers the project may have at once (Nova's instances quota); none when undefined. */
    quota?: number;
    /** Slurm SuspendTimeout (powering down to powered down), s. */
    suspendTimeout: number;
}

/** A job of the replay, with what happened to it. */
export interface SimJob {
    readonly trace: TraceJob;
    readonly index: number;
    /** The partition it was submitted to (undefined: the default one). */
    readonly partition?: string;
    /** The cores it held per node when it last started (kept after it ends). */
    ranOn?: ReadonlyMap<string, number>;
    state: "future" | "pending" | "configuring" | "running" | "done" | "never-fits";
    /** Cores held per node while configuring or running. */
    alloc: Map<string, number>;
    allocatedAt: number;
    startedAt: number;
    endedAt: number;
    /** Times the job went back to the queue (its node failed or was powered down). */
    requeues: number;
    /**
     * Times the service handed the job, waiting for booting nodes, to idle ones
     * (autoscaler/handOff.ts); its `allocatedAt` stays its first allocation.
     */
    handOffs: number;
    /** Bumped when the job is requeued: its scheduled end no longer applies. */
    epoch: number;
}

/** What one policy cost and how long jobs waited. */
export interface PolicyResult {
    policy: string;
    /** Node-hours billed: every server from its create call until it was gone. */
    nodeHours: number;
    /** Node-hours the jobs used (cores x runtime / cores per node). */
    usedNodeHours: number;
    /**
     * Where the billed node-hours went: `used` by jobs (= usedNodeHours), `booting` (create call
     * to usable), `deleting` (delete call to gone), and `idle`: the rest, usable servers with
     * cores no job used (idle nodes waiting for work or their timeout, draining nodes, cores a
     * job left free on its node). Sums to nodeHours.
     */
    split: NodeHourSplit;
    /**
     * The mean wait split (s; sums to waitMean): `queue`, submission until Slurm gave the job its
     * nodes (cores busy with other jobs, queue order; for a requeued job, until its last
     * allocation), and `boot`, allocation until the job started (powered-down nodes resumed:
     * the power-save cadence, the service's round, the boot and configuration).
     */
    waitSplit: { queue: number; boot: number };
    /** Mean, 95th percentile and largest wait (start - submit) of jobs that ran, s. */
    waitMean: number;
    waitP95: number;
    waitMax: number;
    /** Jobs replayed (that fit). */
    jobs: number;
    /** Jobs asking for more cores than workers.max nodes have. */
    neverFits: number;
    /** Jobs still not run when the replay ended (launches stopped for good). */
    neverRan: number;
    /** Most servers at once (static floor included). */
    peakWorkers: number;
    /** Create calls made. */
    launches: number;
    /** Launches that failed (ERROR, deadline). */
    failures: number;
    /** Jobs sent back to the queue. */
    requeues: number;
    /** Jobs the service handed from booting nodes to idle ones (not counted in requeues). */
    handOffs: number;
    /** Simulated span: first submit to last job end, s. */
    span: number;
    /** Wall-clock time of the replay, ms, and the service rounds it ran. */
    wallMs: number;
    rounds: number;
    /** Time spent in the service's `decide()`, ms (service policy only). */
    decideMs?: number;
    /** Most nodes' worth of cores running jobs at once. */
    peakBusyNodes?: number;
    /** Per pool, when the replay had several (`--pools`). */
    pools?: PoolResult[];
}

/** One pool's share of a replay with several pools. */
export interface PoolResult {
    name: string;
    partition: string;
    /** Node-hours billed for its servers. */
    nodeHours: number;
    /** Node-hours of its nodes that jobs used (by the cores they held on them). */
    usedNodeHours: number;
    /** Most of its servers at once. */
    peakWorkers: number;
    /** Create calls for its nodes. */
    launches: number;
    /** Jobs of its partition that ran, and their waits (mean, p95, largest), s. */
    jobs: number;
    waitMean: number;
    waitP95: number;
    waitMax: number;
    /** Jobs of its partition that fit but never ran, and that never fit it. */
    neverRan: number;
    neverFits: number;
}

/** Billed node-hours by what the servers were doing (PolicyResult.split). */
export interface NodeHourSplit {
    used: number;
    idle: number;
    booting: number;
    deleting: number;
}
