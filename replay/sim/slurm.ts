/**
 * A simulated Slurm with power saving, as the Dynamic Cluster service sees it: FIFO scheduling
 * with EASY backfill over cores, `State=CLOUD` nodes that are resumed when a job is allocated to
 * them (ResumeProgram: an "up" request to the service) and suspended after `SuspendTime` idle
 * (SuspendProgram: a "down" request), `ResumeTimeout` (the node goes DOWN, its jobs back to the
 * queue, ResumeFailProgram), and the service's own node updates (`power_down_force`, `down`,
 * `resume`). Node states are exported in the scheduler-neutral shape the policy reads.
 *
 * Modelling choices (Slurm 22.05's behaviour, simplified where it does not change the answer):
 * - cores are allocated across nodes (`-n`, no `-N`): powered-up nodes first, then nodes
 *   already powering up, then powered-down ones, each group in name order. Slurm 22.05 avoids
 *   powered-down nodes (they weigh more) but ranks a node that is powering up like a powered-up
 *   one; the service's hand-off gives the booting nodes it leaves without a job a higher weight
 *   until they boot (autoscaler/scheduler/types.ts HAND_OFF_WEIGHT), which makes this order
 *   Slurm's for the nodes that matter (a booting node with a job has no free core on one-core
 *   workers);
 * - backfill uses the job's time limit when the trace has one, else its runtime (a perfect
 *   estimate), and looks at most {@link BACKFILL_DEPTH} jobs deep (Slurm's `bf_max_job_test`);
 * - a job runs once every node it was given has registered; a requeued job keeps its priority;
 * - partitions (worker pools, `--pools`): a job is given nodes of its partition only; each
 *   partition is scheduled on its own (FIFO and backfill over its nodes and its queue, which is
 *   Slurm's behaviour when no node is in two partitions, as the Salt tree writes them), each node
 *   suspended after its own pool's `SuspendTime` (the partition's, in slurm.conf).
 */
import type { SchedulerJob, SchedulerNode, NodeFlag } from "../../autoscaler/scheduler/types";
import type { SimJob } from "../model";
import type { EventQueue } from "./queue";

/** Slurm's default `bf_max_job_test`: jobs past this depth are not backfilled in one pass. */
export const BACKFILL_DEPTH = 500;

/** Power state of a simulated node. */
export type Power = "up" | "off" | "resuming" | "suspending";

/** One simulated node. */
export interface SimNode {
    readonly name: string;
    readonly isStatic: boolean;
    readonly cpus: number;
    /** The partition the node is in. */
    readonly partition: string;
    /** Its partition's `SuspendTime`, s. */
    readonly idleTimeout: number;
    /** The warm set it is in (its pool's `minIdle`), if any. */
    readonly warm?: WarmSet;
    used: number;
    readonly jobs: Set<SimJob>;
    power: Power;
    /** DOWN (ResumeTimeout, or set down by the service). */
    down: boolean;
    /** Offline (Torque `pbsnodes -o`, queue mode): running jobs finish, no new ones. */
    offline: boolean;
    /** When the node last became idle (no job), s. */
    idleSince: number;
    /** Bumped on every change of jobs or power: timers armed before no longer apply. */
    epoch: number;
    /** Identifies the current resume: its ResumeTimeout applies to that resume only. */
    resumeToken: number;
    /** The `epoch` the node's scheduler view was built at (the view is rebuilt when it lags). */
    viewEpoch: number;
}

/**
 * What changed in the scheduler's view of the nodes: `jobs` when only the cores jobs hold did (a
 * job was given cores, or gave them back: a node's idle, mixed or allocated state and its
 * allocated CPUs), `nodes` for anything else (power state, down, registration).
 */
export type SlurmChange = "jobs" | "nodes";

/** What Slurm tells the service (the power-saving programs). */
export interface SlurmHooks {
    request(node: string, want: "up" | "down", failed: boolean): void;
    /** A node or job changed (the service's next round may decide differently). */
    changed(what: SlurmChange): void;
    /** A job started, finished, or went back to the queue. */
    jobEvent(job: SimJob, what: "start" | "end" | "requeue"): void;
}

/** A node as the simulation declares it (slurm.conf's NodeName and PartitionName). */
export interface SimNodeSpec {
    name: string;
    isStatic: boolean;
    cpus: number;
    /** Default: {@link DEFAULT_PARTITION}. */
    partition?: string;
    /** The partition's `SuspendTime`, s; default {@link SlurmTimings.idleTimeout}. */
    idleTimeout?: number;
    /**
     * `SuspendExcNodes=<set>:<keep>` (a pool's `minIdle`): the burst nodes of `set` (a name shared
     * by the set's nodes, in order) of which the first `keep` idle powered ones are not suspended.
     */
    warm?: { set: string; keep: number };
}

/**
 * A `SuspendExcNodes=<nodes>:<keep>` set. Slurm's power-save scan (power_save.c) excludes from
 * suspension the first `keep` nodes of the set, in order, that are idle and powered (not
 * allocated, down, powering up or down); the set's other idle nodes are suspended after
 * `SuspendTime` as usual.
 */
interface WarmSet {
    readonly keep: number;
    readonly nodes: SimNode[];
    /** Kept nodes whose SuspendTime has run out, with the node epoch they were kept at. */
    readonly expired: Map<SimNode, number>;
}

/** The partition of nodes and jobs that name none (the Salt tree's default partition). */
export const DEFAULT_PARTITION = "batch";

/** One partition: its nodes, its pending jobs by priority and its configuring or running ones. */
interface PartitionState {
    readonly name: string;
    readonly nodes: SimNode[];
    readonly queue: SimJob[];
    readonly active: Set<SimJob>;
}

/** Timings Slurm takes from slurm.conf (s). */
export interface SlurmTimings {
    /**
     * `power-saving` (Slurm, the service's mode): powered-down nodes are allocated and resumed.
     * `queue` (Torque + MAUI, the original system): only nodes that joined run jobs; nodes join
     * and leave when the allocator says ({@link SimSlurm.join}, {@link SimSlurm.remove}).
     */
    mode: "power-saving" | "queue";
    /** `SuspendTime` of nodes whose spec gives none, s. */
    idleTimeout: number;
    launchTimeout: number;
    suspendTimeout: number;
    /** Expected boot to registration, used only for backfill's start estimate of waiting jobs. */
    expectedBoot: number;
}

/** The simulated controller. */
export class SimSlurm {
    readonly nodes: SimNode[];
    readonly byName = new Map<string, SimNode>();
    /** The partitions, in the order their first node was declared. */
    private readonly partitions = new Map<string, PartitionState>();
    /** The partition of jobs that name none: the first one declared. */
    private readonly defaultPartition: PartitionState;
    /** Configuring jobs as `squeue` shows them, by job ID (the job's trace index). */
    private readonly configuring = new Map<string, { job: SimJob; view: SchedulerJob }>();
    /** Running jobs as `squeue` shows them (with their end by the time limit). */
    private readonly running = new Map<SimJob, SchedulerJob>();
    private passQueued = false;
    private readonly view = new Map<string, SchedulerNode>();
    /** Nodes whose view changed since the last snapshot (every node before the first). */
    private readonly changedViews: SimNode[];
    readonly totalCores: number;
    /** Nodes a job may be given. */
    private readonly usable: (node: SimNode) => boolean;

    constructor(
        private readonly clock: EventQueue,
        nodes: readonly SimNodeSpec[],
        private readonly timings: SlurmTimings,
        private readonly hooks: SlurmHooks,
    ) {
        this.usable =
            timings.mode === "queue"
                ? (node) => !node.down && !node.offline && node.power === "up"
                : (node) => !node.down && node.power !== "suspending";
        const warmSets = new Map<string, WarmSet>();
        const warmSet = (spec: SimNodeSpec["warm"]): WarmSet | undefined => {
            if (!spec || spec.keep <= 0) return undefined;
            let set = warmSets.get(spec.set);
            if (!set) {
                set = { keep: spec.keep, nodes: [], expired: new Map() };
                warmSets.set(spec.set, set);
            }
            return set;
        };
        this.nodes = nodes.map((n) => ({
            name: n.name,
            isStatic: n.isStatic,
            cpus: n.cpus,
            partition: n.partition ?? DEFAULT_PARTITION,
            idleTimeout: n.idleTimeout ?? timings.idleTimeout,
            warm: warmSet(n.warm),
            used: 0,
            jobs: new Set(),
            power: n.isStatic ? "up" : "off",
            down: false,
            offline: false,
            idleSince: 0,
            epoch: 0,
            resumeToken: 0,
            viewEpoch: -1,
        }));
        for (const n of this.nodes) {
            n.warm?.nodes.push(n);
            this.byName.set(n.name, n);
            let part = this.partitions.get(n.partition);
            if (!part) {
                part = { name: n.partition, nodes: [], queue: [], active: new Set() };
                this.partitions.set(n.partition, part);
            }
            part.nodes.push(n);
        }
        this.defaultPartition = this.partitions.values().next().value ?? {
            name: DEFAULT_PARTITION,
            nodes: [],
            queue: [],
            active: new Set(),
        };
        this.changedViews = [...this.nodes];
        this.totalCores = this.nodes.reduce((sum, n) => sum + n.cpus, 0);
    }

    /** A job arrives (`sbatch`). */
    submit(job: SimJob): void {
        job.state = "pending";
        this.enqueue(job);
        this.schedulePass();
    }

    /** slurmd on the node registered (its server is configured). */
    registered(name: string): void {
        const node = this.byName.get(name);
        if (!node || node.power !== "resuming" || node.down) return;
        node.power = "up";
        this.touch(node);
        for (const job of node.jobs) this.startIfReady(job);
        if (node.jobs.size === 0) this.armSuspend(node);
        this.schedulePass();
    }

    /** Queue mode: a worker joined the batch system (`qmgr create node`, set free). */
    join(name: string): void {
        const node = this.byName.get(name)!;
        node.power = "up";
        node.offline = false;
        node.down = false;
        node.idleSince = this.clock.now;
        this.touch(node);
        this.schedulePass();
    }

    /** Queue mode: `pbsnodes -o` (no new jobs; running ones finish). */
    setOffline(name: string): void {
        const node = this.byName.get(name)!;
        node.offline = true;
        this.touch(node);
    }

    /** Queue mode: the node left the batch system (its server is being destroyed). */
    remove(name: string): void {
        const node = this.byName.get(name)!;
        for (const job of [...node.jobs]) this.requeue(job);
        node.power = "off";
        node.offline = false;
        this.touch(node);
        this.schedulePass();
    }

    /** `scontrol update state=power_down_force`: jobs back to the queue, node powered down. */
    powerDownForce(names: readonly string[]): void {
        for (const name of names) {
            const node = this.byName.get(name);
            if (!node || node.isStatic) continue;
            for (const job of [...node.jobs]) this.requeue(job);
            if (node.power === "up" || node.power === "resuming") this.suspend(node);
        }
        this.schedulePass();
    }

    /** `scontrol update state=down`. */
    setDown(names: readonly string[]): void {
        for (const name of names) {
            const node = this.byName.get(name);
            if (!node || node.down) continue;
            for (const job of [...node.jobs]) this.requeue(job);
            node.down = true;
            this.touch(node);
        }
    }

    /** `scontrol update state=resume` of DOWN nodes. */
    resume(names: readonly string[]): void {
        for (const name of names) {
            const node = this.byName.get(name);
            if (!node?.down) continue;
            node.down = false;
            if (node.power === "up" && node.jobs.size === 0) this.armSuspend(node);
            this.touch(node);
        }
        this.schedulePass();
    }

    /** The nodes as the service's scheduler adapter reports them. */
    snapshot(): Map<string, SchedulerNode> {
        for (const node of this.changedViews) {
            node.viewEpoch = node.epoch;
            this.view.set(node.name, viewOf(node));
        }
        this.changedViews.length = 0;
        return this.view;
    }

    /**
     * The jobs the service's hand-off reads (autoscaler/handOff.ts), as `squeue` shows them:
     * every configuring job, the running ones when `withRunning` (their ends weigh a boot), and
     * the first pending one of each partition. The policy reads no other pending job than the
     * oldest waiting for resources, and each queue is in priority order, which here is
     * submission order; so the answer is the one the whole queue would give.
     */
    jobViews(withRunning: boolean): SchedulerJob[] {
        const views: SchedulerJob[] = [];
        for (const { view } of this.configuring.values()) views.push(view);
        if (withRunning && views.length) for (const view of this.running.values()) views.push(view);
        // The oldest pending job of each partition: the oldest of all is among them.
        for (const part of this.partitions.values()) {
            const first = part.queue[0];
            if (first) views.push(jobView(first, "pending", []));
        }
        return views;
    }

    /** Configuring jobs (their start waits for nodes to boot). */
    get configuringCount(): number {
        return this.configuring.size;
    }

    /**
     * `scontrol requeue` of configuring jobs (the service's hand-off): back in the queue with
     * their priority, placed again at once; the nodes they were resuming keep resuming.
     * Returns the IDs put back (jobs that started meanwhile are left alone).
     */
    handOff(ids: readonly string[]): string[] {
        const done: string[] = [];
        for (const id of ids) {
            const entry = this.configuring.get(id);
            if (!entry || entry.job.state !== "configuring") continue;
            const job = entry.job;
            this.release(job);
            job.state = "pending";
            job.epoch++;
            job.handOffs++;
            this.enqueue(job);
            done.push(id);
        }
        if (done.length) this.schedulePass();
        return done;
    }

    /** Pending jobs in queue order (what `qstat` lists as queued). */
    queued(): readonly SimJob[] {
        // Queue mode (the original allocator) replays one pool: one partition.
        return this.defaultPartition.queue;
    }

    /** Jobs waiting or configuring. */
    get waiting(): number {
        let waiting = 0;
        for (const part of this.partitions.values()) {
            waiting += part.queue.length;
            for (const job of part.active) if (job.state === "configuring") waiting++;
        }
        return waiting;
    }

    /** The partition a job runs in: its own, or the default one when it names none. */
    private partitionOf(job: SimJob): PartitionState {
        return (
            (job.partition === undefined ? undefined : this.partitions.get(job.partition)) ??
            this.defaultPartition
        );
    }

    private enqueue(job: SimJob): void {
        const queue = this.partitionOf(job).queue;
        // Binary search for the job's place by priority (requeued jobs keep theirs).
        let lo = 0;
        let hi = queue.length;
        while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (before(queue[mid]!, job)) lo = mid + 1;
            else hi = mid;
        }
        queue.splice(lo, 0, job);
    }

    private schedulePass(): void {
        if (this.passQueued) return;
        this.passQueued = true;
        this.clock.soon(() => {
            this.passQueued = false;
            this.pass();
        });
    }

    /** One scheduling pass over every partition with jobs waiting. */
    private pass(): void {
        for (const part of this.partitions.values()) if (part.queue.length) this.passOf(part);
    }

    /** A partition's pass: FIFO, then EASY backfill behind the first job that does not fit. */
    private passOf(part: PartitionState): void {
        const queue = part.queue;
        const now = this.clock.now;
        let free = 0;
        for (const node of part.nodes) if (this.usable(node)) free += node.cpus - node.used;
        const started: SimJob[] = [];
        let i = 0;
        while (i < queue.length && queue[i]!.trace.processors <= free) {
            const job = queue[i++]!;
            free -= job.trace.processors;
            started.push(job);
        }
        if (i < queue.length) {
            const head = queue[i]!;
            // Shadow time: when enough cores are expected free for the head job.
            const ends: Array<[number, number]> = [];
            for (const job of part.active)
                ends.push([this.expectedEnd(job, now), job.trace.processors]);
            for (const job of started) ends.push([now + estimate(job), job.trace.processors]);
            ends.sort((a, b) => a[0] - b[0]);
            let shadow = Infinity;
            let extra = 0;
            let available = free;
            for (const [end, cores] of ends) {
                available += cores;
                if (available >= head.trace.processors) {
                    shadow = end;
                    extra = available - head.trace.processors;
                    break;
                }
            }
            extra = Math.min(extra, free);
            const last = Math.min(queue.length, i + 1 + BACKFILL_DEPTH);
            for (let j = i + 1; j < last && free > 0; j++) {
                const job = queue[j]!;
                const cores = job.trace.processors;
                if (cores > free) continue;
                const endsInTime = now + estimate(job) <= shadow;
                if (!endsInTime && cores > extra) continue;
                free -= cores;
                if (!endsInTime) extra -= cores;
                started.push(job);
            }
        }
        if (!started.length) return;
        const chosen = new Set(started);
        let w = 0;
        for (const job of queue) if (!chosen.has(job)) queue[w++] = job;
        queue.length = w;
        for (const job of started) this.allocate(job);
        this.hooks.changed("jobs");
    }

    private expectedEnd(job: SimJob, now: number): number {
        if (job.state === "running") return job.startedAt + estimate(job);
        return Math.max(now, job.allocatedAt + this.timings.expectedBoot) + estimate(job);
    }

    /** Gives the job its cores (powered-up nodes first) and resumes powered-down ones. */
    private allocate(job: SimJob): void {
        let need = job.trace.processors;
        job.alloc = new Map();
        // A job handed off keeps its first allocation's time: it has waited for nodes since.
        if (!job.handOffs) job.allocatedAt = this.clock.now;
        job.state = "configuring";
        const part = this.partitionOf(job);
        part.active.add(job);
        for (const group of ["up", "resuming", "off"] as const) {
            for (const node of part.nodes) {
                if (need === 0) break;
                if (node.power !== group || !this.usable(node)) continue;
                const take = Math.min(node.cpus - node.used, need);
                if (take <= 0) continue;
                need -= take;
                node.used += take;
                node.jobs.add(job);
                job.alloc.set(node.name, take);
                if (node.power === "off") this.resumeNode(node);
                this.touch(node, "jobs");
            }
        }
        if (need > 0) throw new Error(`internal: job ${job.trace.id} allocated without cores`);
        this.startIfReady(job);
        if (job.state === "configuring") {
            const view = jobView(job, "configuring", [...job.alloc.keys()]);
            this.configuring.set(view.id, { job, view });
        }
    }

    private startIfReady(job: SimJob): void {
        if (job.state !== "configuring") return;
        for (const name of job.alloc.keys()) if (this.byName.get(name)!.power !== "up") return;
        job.state = "running";
        job.startedAt = this.clock.now;
        this.configuring.delete(String(job.index));
        this.running.set(job, {
            ...jobView(job, "configuring", [...job.alloc.keys()]),
            state: "running",
            startedAt: job.startedAt * 1000,
            endsAt: (job.startedAt + estimate(job)) * 1000,
        });
        const epoch = job.epoch;
        this.hooks.jobEvent(job, "start");
        this.clock.at(this.clock.now + job.trace.runtime, () => {
            if (job.epoch === epoch && job.state === "running") this.finish(job);
        });
    }

    private finish(job: SimJob): void {
        job.state = "done";
        job.endedAt = this.clock.now;
        this.release(job);
        this.hooks.jobEvent(job, "end");
        this.schedulePass();
    }

    private requeue(job: SimJob): void {
        this.hooks.jobEvent(job, "requeue"); // before: the job's state says what it lost
        this.release(job);
        job.state = "pending";
        job.epoch++;
        job.requeues++;
        this.enqueue(job);
    }

    private release(job: SimJob): void {
        this.partitionOf(job).active.delete(job);
        this.configuring.delete(String(job.index));
        this.running.delete(job);
        for (const [name, cores] of job.alloc) {
            const node = this.byName.get(name)!;
            node.used -= cores;
            node.jobs.delete(job);
            if (node.jobs.size === 0) node.idleSince = this.clock.now;
            this.touch(node, "jobs");
            if (node.jobs.size === 0 && node.power === "up") this.armSuspend(node);
        }
        job.alloc = new Map();
        this.hooks.changed("jobs");
    }

    private resumeNode(node: SimNode): void {
        node.power = "resuming";
        const token = ++node.resumeToken;
        this.touch(node);
        this.hooks.request(node.name, "up", false);
        this.clock.at(this.clock.now + this.timings.launchTimeout, () => {
            // ResumeTimeout: the node goes DOWN, its jobs back to the queue, ResumeFailProgram.
            if (node.power !== "resuming" || node.resumeToken !== token) return;
            for (const job of [...node.jobs]) this.requeue(job);
            node.down = true;
            node.power = "off";
            this.touch(node);
            this.hooks.request(node.name, "down", true);
            this.schedulePass();
        });
    }

    /** Arms SuspendTime for an idle powered-up burst node (power-saving mode). */
    private armSuspend(node: SimNode): void {
        if (node.isStatic || this.timings.mode === "queue") return;
        // A node of a warm set became idle: it may take a kept place from one past its time.
        if (node.warm?.expired.size) this.rewarm(node.warm);
        const epoch = node.epoch;
        this.clock.at(this.clock.now + node.idleTimeout, () => {
            if (node.epoch !== epoch || node.power !== "up" || node.jobs.size > 0) return;
            if (node.warm && this.keptWarm(node)) {
                node.warm.expired.set(node, epoch);
                return;
            }
            this.suspend(node);
        });
    }

    /** True when `node` is one of the first `keep` idle powered nodes of its warm set. */
    private keptWarm(node: SimNode): boolean {
        const set = node.warm!;
        if (set.keep >= set.nodes.length) return true;
        let places = set.keep;
        for (const n of set.nodes) {
            if (n.power !== "up" || n.down || n.jobs.size > 0) continue;
            if (n === node) return true;
            if (--places <= 0) return false;
        }
        return false;
    }

    /** Suspends the kept nodes past their SuspendTime that are kept no longer. */
    private rewarm(set: WarmSet): void {
        for (const [n, epoch] of set.expired) {
            if (n.epoch !== epoch || n.power !== "up" || n.jobs.size > 0) {
                set.expired.delete(n);
            } else if (!this.keptWarm(n)) {
                set.expired.delete(n);
                this.suspend(n);
            }
        }
    }

    private suspend(node: SimNode): void {
        node.power = "suspending";
        this.touch(node);
        const epoch = node.epoch;
        this.hooks.request(node.name, "down", false);
        this.clock.at(this.clock.now + this.timings.suspendTimeout, () => {
            if (node.epoch !== epoch || node.power !== "suspending") return;
            node.power = "off";
            this.touch(node);
            this.schedulePass();
        });
    }

    private touch(node: SimNode, what: SlurmChange = "nodes"): void {
        // A view that was current is out of date from now on: rebuilt at the next snapshot.
        if (node.viewEpoch === node.epoch) this.changedViews.push(node);
        node.epoch++;
        this.hooks.changed(what);
    }
}

function estimate(job: SimJob): number {
    return job.trace.requestedTime && job.trace.requestedTime > 0
        ? Math.max(job.trace.requestedTime, job.trace.runtime)
        : job.trace.runtime;
}

function before(a: SimJob, b: SimJob): boolean {
    return (
        a.trace.submit < b.trace.submit || (a.trace.submit === b.trace.submit && a.index < b.index)
    );
}

/** The job as `squeue --json` would show it to the service's Slurm adapter. */
function jobView(job: SimJob, state: "pending" | "configuring", nodes: string[]): SchedulerJob {
    return {
        id: String(job.index),
        name: job.trace.id,
        user: "",
        partition: job.partition ?? DEFAULT_PARTITION,
        state,
        reason: state === "pending" ? "Resources" : "",
        nodes,
        cpus: job.trace.processors,
        nodeCount: nodes.length,
        submittedAt: job.trace.submit * 1000,
        startedAt: 0,
        requeueable: true,
        constrained: false,
    };
}

/** The node as `sinfo`/`scontrol` would show it to the service's Slurm adapter. */
function viewOf(node: SimNode): SchedulerNode {
    const flags = new Set<NodeFlag>(["cloud"]);
    if (node.power === "off") flags.add("powered_down");
    if (node.power === "resuming") flags.add("powering_up");
    if (node.power === "suspending") flags.add("powering_down");
    const state = node.down
        ? "down"
        : node.used === 0
          ? "idle"
          : node.used >= node.cpus
            ? "allocated"
            : "mixed";
    return {
        name: node.name,
        state,
        flags,
        address: node.name,
        reason: "",
        cpus: node.cpus,
        allocatedCpus: node.used,
    };
}
