/**
 * The scheduler seam: what the service needs from a batch scheduler, whatever it is. Slurm
 * (`slurm.ts`) implements it today; the Torque/PBS adapter plugs in here without touching the
 * fleet, the policy or the Salt bridge.
 *
 * Two ways a scheduler can say which nodes it needs:
 * - `power-saving` (Slurm): the scheduler decides itself and calls the service's local API with
 *   resume/suspend requests; its node states (powering up, powered down) are the demand;
 * - `queue` (Torque): the service reads the queue and the policy decides how many workers.
 */

/** A node's base state, scheduler-neutral. */
export type NodeBaseState =
    "idle" | "allocated" | "mixed" | "completing" | "down" | "future" | "unknown";

/** Flags that matter to the service (Slurm names; other schedulers map onto them). */
export type NodeFlag =
    | "cloud"
    | "powered_down"
    | "powering_up"
    | "powering_down"
    | "power_down_pending"
    | "not_responding"
    /** A job's end is still being cleaned up on the node (epilog): it takes no job yet. */
    | "completing"
    | "drain"
    | "maintenance"
    | "reserved";

/** One node as the scheduler sees it. */
export interface SchedulerNode {
    name: string;
    state: NodeBaseState;
    flags: ReadonlySet<NodeFlag>;
    /** Address the scheduler contacts the node at (may be the name when unknown). */
    address: string;
    /** Reason set on the node ("" when none). */
    reason: string;
    cpus: number;
    allocatedCpus: number;
    /**
     * When the node's slurmd last started (registered), ms since the epoch; undefined when the
     * scheduler does not say. A slurmd that started before a server was created is not that
     * server's.
     */
    slurmdStartedAt?: number;
    /** The node's scheduling weight (Slurm picks the lowest first); undefined when not said. */
    weight?: number;
}

/** A job's state, scheduler-neutral. */
export type JobState = "pending" | "configuring" | "running" | "completing" | "finished" | "other";

/** One job. */
export interface SchedulerJob {
    id: string;
    name: string;
    user: string;
    partition: string;
    state: JobState;
    /** Scheduler's reason for a pending job ("" when none). */
    reason: string;
    /** Nodes the job runs or will run on. */
    nodes: string[];
    cpus: number;
    nodeCount: number;
    /** Submission time, ms since the epoch. */
    submittedAt: number;
    /** Start time, ms since the epoch (0 when not started). */
    startedAt: number;
    /**
     * A batch job the scheduler may put back in the queue (Slurm: `requeue` and `batch_flag`);
     * absent when the scheduler does not say (then it is never put back).
     */
    requeueable?: boolean;
    /**
     * The job may not run on just any worker: it names nodes it must (or must not) run on, or
     * features or generic resources it needs. Absent: unknown (then it is never handed off).
     */
    constrained?: boolean;
    /**
     * When a running job ends at the latest (its start plus its time limit), ms since the epoch;
     * absent when unknown or unlimited.
     */
    endsAt?: number;
}

/** Nodes and jobs read at one moment. */
export interface SchedulerSnapshot {
    /** When the reading started, ms since the epoch (requests newer than this win over it). */
    takenAt: number;
    nodes: Map<string, SchedulerNode>;
    jobs: SchedulerJob[];
}

/** The operations the service performs on a scheduler. */
export interface SchedulerAdapter {
    readonly kind: "slurm" | "torque";
    /** How demand reaches the service (see the module comment). */
    readonly demand: "power-saving" | "queue";
    /** Reads nodes and jobs. */
    snapshot(): Promise<SchedulerSnapshot>;
    /** Tells the scheduler where a node is, once its server has an address. */
    setAddress(node: string, address: string): Promise<void>;
    /** No new jobs on the nodes; running jobs finish. */
    drain(nodes: string[], reason: string): Promise<void>;
    /** Clears a drain or down state set by the service (nodes not in such a state are skipped). */
    resume(nodes: string[]): Promise<void>;
    /** Drains the nodes and releases them once idle (no job is ever killed). */
    releaseWhenIdle(nodes: string[], reason: string): Promise<void>;
    /**
     * Forgets that the nodes are up: their server is gone or failed, so the scheduler must stop
     * waiting for them and put their jobs back in the queue.
     */
    markGone(nodes: string[], reason: string): Promise<void>;
    /**
     * Keeps powered-down nodes out of use with a reason (launches stopped), so the scheduler
     * does not wait for boots that will not come; `resume` undoes it.
     */
    markUnavailable(nodes: string[], reason: string): Promise<void>;
    /**
     * Holds a node: no new jobs start on it (running ones finish) and the scheduler does not
     * release it, so its instance stays up (e.g. to be inspected) until `release`.
     */
    hold(node: string, reason: string): Promise<void>;
    /** Ends a hold. */
    release(node: string): Promise<void>;
    /**
     * Puts jobs that have not started back in the queue, to be placed again (they keep their
     * priority), with the nodes each was booting for made the last choice among the nodes that
     * are not powered down ({@link HAND_OFF_WEIGHT}) so the idle ones are taken first. A job
     * that started meanwhile is left alone. Returns the IDs put back.
     */
    handOff(jobs: ReadonlyArray<{ job: string; booting: readonly string[] }>): Promise<string[]>;
    /** Gives nodes a hand-off made the last choice their configured weight back. */
    restoreWeight(nodes: string[]): Promise<void>;
}

/**
 * The scheduling weight of nodes a hand-off left booting with no job, until they have booted:
 * above every worker's configured weight (the head's slurm.conf gives them 1), below the weight
 * Slurm gives powered-down nodes, so a new job takes idle nodes first, then these, and boots
 * another node last.
 */
export const HAND_OFF_WEIGHT = 60_001;

/** The weight the head's slurm.conf gives every worker node (Slurm's default). */
export const WORKER_WEIGHT = 1;

/** True when a node is running jobs. */
export function isBusy(node: SchedulerNode): boolean {
    return (
        node.state === "allocated" ||
        node.state === "mixed" ||
        node.state === "completing" ||
        node.allocatedCpus > 0
    );
}

/** True when the scheduler reaches the node and considers it powered up. */
export function isUp(node: SchedulerNode): boolean {
    return (
        node.state !== "down" &&
        node.state !== "future" &&
        node.state !== "unknown" &&
        !node.flags.has("not_responding") &&
        !node.flags.has("powered_down") &&
        !node.flags.has("powering_up") &&
        !node.flags.has("powering_down")
    );
}
