/**
 * Hand-off: which jobs waiting for booting nodes the scheduler should place again now that
 * powered-up nodes sit idle, and which boots are not worth starting because a node frees sooner.
 *
 * Slurm's power saving binds a job to the nodes it resumes for it: the job waits in CONFIGURING
 * until every one of them has booted and registered, and a node that another job frees in the
 * meantime stays idle beside it (on the NASA trace with two-minute boots this was most of the
 * service's extra waiting against the naive elastic reference: docs/replay.md). Given back to
 * the queue (`scontrol requeue` of a job that has not started: nothing runs, nothing is lost,
 * and it keeps its priority), the job is placed again at once, and Slurm prefers powered-up
 * nodes; the nodes that were booting for it keep booting and serve the next job, or idle out.
 *
 * A job is handed off only when that surely starts it: it is a batch job that may be requeued,
 * that any worker can run (no nodes named or excluded, no features or generic resources asked
 * for), that was never handed off before (whatever kept Slurm from the idle nodes the first time
 * would again: no job goes round), no older job waits for resources (Slurm would give the idle
 * nodes to that one first), and enough whole idle nodes are free to replace every node it still
 * waits for, with at least the cores those nodes have allocated (an upper bound of the job's
 * share). Nodes counted for one job are not counted again for a younger one.
 *
 * The same supply decides when a boot is worth it: a job whose nodes have no server yet, and
 * whose nodes would all be replaced by nodes that running jobs free (by their time limits) sooner
 * than a boot takes, minus one service round, waits for those instead. The launches are deferred
 * (round by round: the plan is made anew each time), the job is handed off when the nodes free,
 * and the resumed nodes no job waits for any more are powered down without ever booting.
 *
 * The supply is every worker the policy counts, but a job only takes nodes of the pool its
 * booting nodes are in (`poolOf`): pools differ in flavor, features, GRES and partition, and
 * the job was placed in that pool's partition. A job waiting for nodes of several pools is not
 * handed off.
 */
import { HAND_OFF_WEIGHT, isUp, type SchedulerJob, type SchedulerNode } from "./scheduler/types";

/** One job to give back to the queue, and the idle nodes it is expected to take. */
export interface HandOff {
    job: string;
    /** The nodes it waited for (booting). */
    booting: string[];
    /** Idle powered-up nodes counted for it (Slurm chooses; these are the ones that suffice). */
    idle: string[];
}

/** A node whose launch waits: the job it was resumed for gets nodes that free sooner. */
export interface Deferral {
    job: string;
    /** The busy nodes counted for the job. */
    nodes: string[];
    /** When the last of them frees at the latest (ms). */
    freeBy: number;
}

/** What the hand-off decides in one round. */
export interface HandOffPlan {
    handOffs: HandOff[];
    /**
     * Nodes whose launch waits, by node: nodes of jobs waiting for nodes that free sooner, and
     * nodes of jobs handed off this round that no boot had started for.
     */
    deferred: Map<string, Deferral>;
}

/** The scheduler's view and the service's facts the plan reads. */
export interface HandOffInput {
    nodes: ReadonlyMap<string, SchedulerNode>;
    jobs: readonly SchedulerJob[];
    /** The nodes counted as supply (the policy's pools, not held, not kept out of use). */
    eligible: (node: string) => boolean;
    /** True when the node has a server (launched): its boot is under way, never deferred. */
    launched: (node: string) => boolean;
    now: number;
    /** Create call to usable, as measured (ms); no deferral without it. */
    expectedBootMs?: number;
    /** The service's round period (ms): a node that frees is handed over at the next round. */
    roundMs: number;
    /**
     * Nodes whose launch the previous round deferred: their jobs go first (the nodes counted
     * for them were promised; a job whose boot is under way loses less by waiting for it).
     */
    deferredBefore?: ReadonlySet<string>;
    /** Jobs handed off before (never again). */
    handedOff?: ReadonlySet<string>;
    /** The pool of a node (lib/workerPools.ts); absent: one pool. */
    poolOf?: (node: string) => string | undefined;
}

/** Pending reasons of a job that waits for resources (and so gets idle nodes first). */
const WAITS_FOR_RESOURCES: ReadonlySet<string> = new Set(["", "Resources", "Priority"]);

/** Flags of a node that takes no new job, or is leaving. */
const NOT_FOR_NEW_JOBS = [
    "drain",
    "maintenance",
    "reserved",
    "power_down_pending",
    "completing",
] as const;

/** True when the node is powered up and would take a new job once it has free cores. */
function acceptsJobs(node: SchedulerNode): boolean {
    return isUp(node) && !NOT_FOR_NEW_JOBS.some((flag) => node.flags.has(flag));
}

/** True when the node is powered up, idle, and would take a new job now. */
export function takesJobNow(node: SchedulerNode): boolean {
    return acceptsJobs(node) && node.state === "idle" && node.allocatedCpus === 0;
}

/** True when the node has not booted yet (the scheduler resumes it, or is about to). */
function booting(node: SchedulerNode | undefined): boolean {
    return !!node && (node.flags.has("powering_up") || node.flags.has("powered_down"));
}

/**
 * Nodes a hand-off made the last choice ({@link HAND_OFF_WEIGHT}) that no longer boot: they get
 * their configured weight back (whether the hand-off is still on or not).
 */
export function weightsToRestore(nodes: ReadonlyMap<string, SchedulerNode>): string[] {
    const names: string[] = [];
    for (const node of nodes.values()) {
        if (node.weight === HAND_OFF_WEIGHT && !node.flags.has("powering_up"))
            names.push(node.name);
    }
    return names;
}

/** A node of the supply, and when it is free (now for an idle one). */
interface Supply {
    node: SchedulerNode;
    freeAt: number;
}

/**
 * Busy nodes that running jobs free by `horizon`, by when: the latest end of the jobs on each
 * (a node that also holds a job of unknown end, or a configuring one, never counts).
 */
function freeing(input: HandOffInput, horizon: number): Supply[] {
    const freeAt = new Map<string, number>();
    for (const job of input.jobs) {
        if (job.state !== "running" && job.state !== "configuring") continue;
        const end = job.state === "running" ? (job.endsAt ?? Infinity) : Infinity;
        for (const name of job.nodes) freeAt.set(name, Math.max(freeAt.get(name) ?? 0, end));
    }
    const supply: Supply[] = [];
    for (const [name, at] of freeAt) {
        if (at > horizon) continue;
        const node = input.nodes.get(name);
        if (!node || !input.eligible(name) || !acceptsJobs(node) || node.state === "completing")
            continue;
        supply.push({ node, freeAt: Math.max(at, input.now) });
    }
    return supply;
}

/**
 * The round's hand-offs and deferred launches, oldest job first.
 */
export function planHandOffs(input: HandOffInput): HandOffPlan {
    const plan: HandOffPlan = { handOffs: [], deferred: new Map() };
    let oldestWaiting = Infinity;
    const configuring: SchedulerJob[] = [];
    for (const job of input.jobs) {
        if (job.state === "configuring") {
            if (job.requeueable && job.constrained === false && !input.handedOff?.has(job.id))
                configuring.push(job);
        } else if (job.state === "pending" && WAITS_FOR_RESOURCES.has(job.reason)) {
            oldestWaiting = Math.min(oldestWaiting, job.submittedAt);
        }
    }
    if (!configuring.length) return plan;
    const supply: Supply[] = [];
    for (const node of input.nodes.values()) {
        if (input.eligible(node.name) && takesJobNow(node))
            supply.push({ node, freeAt: input.now });
    }
    // A boot is not worth it when nodes free sooner than it takes (and one round to notice).
    const horizon =
        input.expectedBootMs !== undefined
            ? input.now + input.expectedBootMs - input.roundMs
            : -Infinity;
    if (horizon > input.now) supply.push(...freeing(input, horizon));
    if (!supply.length) return plan;
    // Soonest first; the largest first among equals, so the cores check counts the nodes most
    // likely to hold the job.
    supply.sort(
        (a, b) =>
            a.freeAt - b.freeAt ||
            b.node.cpus - a.node.cpus ||
            a.node.name.localeCompare(b.node.name),
    );
    const promised = (job: SchedulerJob): number =>
        input.deferredBefore && job.nodes.some((name) => input.deferredBefore!.has(name)) ? 0 : 1;
    configuring.sort(
        (a, b) =>
            promised(a) - promised(b) || a.submittedAt - b.submittedAt || a.id.localeCompare(b.id),
    );

    const poolOf = input.poolOf ?? ((): undefined => undefined);
    const used = new Set<Supply>();
    let firstFree = 0;
    for (const job of configuring) {
        if (used.size >= supply.length) break;
        if (job.submittedAt > oldestWaiting) continue;
        const waitingFor = job.nodes.filter((name) => booting(input.nodes.get(name)));
        if (!waitingFor.length || waitingFor.length > supply.length - used.size) continue;
        const pools = new Set(waitingFor.map(poolOf));
        if (pools.size !== 1) continue;
        const [pool] = pools;
        // The soonest unused nodes of the job's pool (with one pool: the next ones in order).
        while (firstFree < supply.length && used.has(supply[firstFree]!)) firstFree++;
        const taken: Supply[] = [];
        for (let i = firstFree; i < supply.length && taken.length < waitingFor.length; i++) {
            const s = supply[i]!;
            if (!used.has(s) && poolOf(s.node.name) === pool) taken.push(s);
        }
        if (taken.length < waitingFor.length) continue;
        const cores = taken.reduce((sum, s) => sum + s.node.cpus, 0);
        const needed = waitingFor.reduce(
            (sum, name) => sum + input.nodes.get(name)!.allocatedCpus,
            0,
        );
        if (cores < needed) continue;
        const freeBy = taken[taken.length - 1]!.freeAt;
        const names = taken.map((s) => s.node.name);
        if (freeBy <= input.now) {
            plan.handOffs.push({ job: job.id, booting: waitingFor, idle: names });
            // Nodes resumed for it with no boot started are not launched: next round they are
            // powered down (their job has left them).
            for (const name of waitingFor)
                if (!input.launched(name))
                    plan.deferred.set(name, { job: job.id, nodes: names, freeBy });
        } else if (!waitingFor.some(input.launched)) {
            // No boot has started for it: wait for the nodes that free sooner.
            for (const name of waitingFor)
                plan.deferred.set(name, { job: job.id, nodes: names, freeBy });
        } else {
            continue; // its boots are under way: they are not stopped for a maybe
        }
        for (const s of taken) used.add(s);
    }
    return plan;
}
