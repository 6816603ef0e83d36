/**
 * The naive elastic reference: the simplest autoscaling policy there is, and the bar a policy
 * that thinks must clear (issue 20). It has no scheduler queue and no maximum:
 * - a job, when it is submitted, takes the most recently freed idle nodes it needs (whole
 *   nodes: ⌈cores ÷ cores per node⌉ of them, each held by this job alone), and for the rest
 *   boots new ones at once; it starts when it holds all its nodes;
 * - a node that becomes usable (its boot done, or its job ended) goes to the oldest job still
 *   short of nodes, if any (a boot started for one job may serve an older one; nothing usable
 *   waits while a job does); otherwise it is idle, and idle for the idle timeout T, deleted;
 * - a boot that fails (ERROR) is deleted and replaced by a new one.
 * Nothing ever waits in a queue, so for a given T its waits are a lower bound: only boots make a
 * job wait. Its cloud is the same simulated Nova as the other policies' (sim/nova.ts: the same
 * boot and configure draws for the same seed, billing from the create call until the server is
 * gone); it ignores the instances quota (it has no maximum by definition).
 */
import type { PolicyResult } from "../model";
import { Random } from "../random";
import type { ReplayOptions } from "../simulate";
import { nodeHourSplit, waitSplit, waitStats } from "../stats";
import type { TraceJob } from "../trace/types";
import { SimNova } from "./nova";
import { EventQueue } from "./queue";

/** Node names of the naive reference's servers: `naive-1`, `naive-2`, ... */
export const NAIVE_PREFIX = "naive";

interface NaiveNode {
    name: string;
    serverId: string;
    state: "booting" | "busy" | "idle" | "gone";
    /** Bumped each time the node goes idle: an expiry scheduled for an older idle spell is void. */
    idleSpell: number;
}

interface NaiveJob {
    trace: TraceJob;
    /** Whole nodes it needs. */
    need: number;
    /** Nodes it holds so far. */
    nodes: NaiveNode[];
    startedAt: number;
}

/** Replays `jobs` under the naive reference with `options.shape.idleTimeout` as T. */
export function replayNaive(
    jobs: readonly TraceJob[],
    options: Omit<ReplayOptions, "tuning" | "original">,
): PolicyResult {
    const wallStart = performance.now();
    const { shape } = options;
    const clock = new EventQueue();
    const random = new Random(options.seed);
    const nodes = new Map<string, NaiveNode>();
    /** Idle nodes, most recently freed last; entries of nodes no longer idle are skipped. */
    let idleStack: Array<{ node: NaiveNode; spell: number }> = [];
    let idleCount = 0;
    /** Jobs still short of nodes, in submission order; those before `waitingHead` are served. */
    const waiting: Array<NaiveJob | undefined> = [];
    let waitingHead = 0;
    let nextName = 1;
    let failures = 0;
    let finished = 0;
    const step = Math.max(1, Math.floor(jobs.length / 100));

    const nova: SimNova = new SimNova(clock, { ...options.cloud, quota: undefined }, random, {
        ready: (name) => available(nodes.get(name)!),
        changed: () => undefined,
        failed: (name, serverId) => {
            failures++;
            nova.delete(serverId);
            nodes.get(name)!.state = "gone";
            nodes.delete(name);
            boot();
        },
    });

    function boot(): void {
        const name = `${NAIVE_PREFIX}-${nextName++}`;
        const serverId = nova.create(name, `${name}-minion`, "burst");
        nodes.set(name, { name, serverId, state: "booting", idleSpell: 0 });
    }

    /** The most recently freed idle node, or undefined. */
    function takeIdle(): NaiveNode | undefined {
        while (idleStack.length) {
            const { node, spell } = idleStack.pop()!;
            if (node.state === "idle" && node.idleSpell === spell) {
                idleCount--;
                return node;
            }
        }
        return undefined;
    }

    function submit(trace: TraceJob): void {
        const need = Math.max(1, Math.ceil(trace.processors / shape.coresPerNode));
        const job: NaiveJob = { trace, need, nodes: [], startedAt: -1 };
        while (job.nodes.length < need) {
            const node = takeIdle();
            if (!node) break;
            node.state = "busy";
            job.nodes.push(node);
        }
        if (job.nodes.length === need) {
            start(job);
            return;
        }
        for (let i = job.nodes.length; i < need; i++) boot();
        waiting.push(job);
    }

    /** A node became usable (booted, or its job ended): the oldest job short of nodes gets it. */
    function available(node: NaiveNode): void {
        const job = waiting[waitingHead];
        if (job) {
            node.state = "busy";
            job.nodes.push(node);
            if (job.nodes.length === job.need) {
                waiting[waitingHead++] = undefined;
                if (waitingHead > 1024 && waitingHead * 2 > waiting.length) {
                    waiting.splice(0, waitingHead);
                    waitingHead = 0;
                }
                start(job);
            }
            return;
        }
        node.state = "idle";
        const spell = ++node.idleSpell;
        idleStack.push({ node, spell });
        idleCount++;
        clock.at(clock.now + shape.idleTimeout, () => {
            if (node.state !== "idle" || node.idleSpell !== spell) return;
            node.state = "gone";
            idleCount--;
            nodes.delete(node.name);
            nova.delete(node.serverId);
        });
        // Stale entries (nodes taken or deleted since) are skipped when popped; drop them when
        // they outnumber the live ones, so the stack stays the size of the idle set.
        if (idleStack.length > 64 && idleStack.length > 4 * idleCount) {
            idleStack = idleStack.filter(
                ({ node: n, spell: s }) => n.state === "idle" && n.idleSpell === s,
            );
        }
    }

    const waits: number[] = [];
    let usedCoreSeconds = 0;
    let windowEnd = 0;
    let runningNodes = 0;
    let peakBusyNodes = 0;

    function start(job: NaiveJob): void {
        job.startedAt = clock.now;
        waits.push(job.startedAt - job.trace.submit);
        runningNodes += job.nodes.length;
        peakBusyNodes = Math.max(peakBusyNodes, runningNodes);
        clock.at(clock.now + job.trace.runtime, () => end(job));
    }

    function end(job: NaiveJob): void {
        finished++;
        if (options.onProgress && finished % step === 0) options.onProgress(finished, jobs.length);
        usedCoreSeconds += job.trace.processors * job.trace.runtime;
        windowEnd = Math.max(windowEnd, clock.now);
        runningNodes -= job.nodes.length;
        for (const node of job.nodes) available(node);
    }

    clock.series(jobs, (trace) => trace.submit, submit);
    clock.run(() => false);

    const billedSeconds = nova.billed(windowEnd);
    const usedNodeHours = usedCoreSeconds / shape.coresPerNode / 3600;
    return {
        policy: "naive",
        nodeHours: billedSeconds / 3600,
        usedNodeHours,
        split: nodeHourSplit(billedSeconds, nova.overheads(windowEnd), usedNodeHours),
        ...waitStats(waits),
        // No queue: every second a job waits is for its boots.
        waitSplit: waitSplit(waits, 0),
        jobs: jobs.length,
        neverFits: 0,
        neverRan: jobs.length - finished,
        peakWorkers: nova.peak,
        launches: nova.creates,
        failures,
        requeues: 0,
        handOffs: 0,
        span: windowEnd,
        wallMs: performance.now() - wallStart,
        rounds: 0,
        peakBusyNodes,
    };
}
