/**
 * The service's vocabulary: what it observes (servers, keys), what it remembers between
 * observations (worker records, scheduler requests), and the worker lifecycle it reports.
 * Types only, plus the small pure helpers that read them; no I/O.
 */
import type { WorkerPoolKind } from "../lib/tags";
import type { KeyListing } from "./salt/keys";
import type { SchedulerSnapshot } from "./scheduler/types";

/**
 * A worker's lifecycle phase: launching -> booting -> configuring -> ready (-> draining) ->
 * deleting, plus failed (docs/architecture.md, "From a waiting job to a worker, and back").
 */
export type Phase =
    "launching" | "booting" | "configuring" | "ready" | "draining" | "deleting" | "failed";

/** Whether a ready worker runs jobs. */
export type Activity = "busy" | "idle" | "unknown";

/** One Nova server tagged for this cluster, as observed. */
export interface ServerView {
    id: string;
    name: string;
    status: string;
    address?: string;
    fault?: string;
    /** Scheduler node name (metadata `dc:node`). */
    node?: string;
    /** Salt minion ID (metadata `dc:minion`). */
    minionId?: string;
    /**
     * Pool from the `dc-pool-*` tag. A server without one is no worker (lib/tags.ts
     * `workerIdentity`): the service never lists it, and the policy never touches it.
     */
    pool?: WorkerPoolKind;
    /** A static server the WorkerPool handed to the service (tag `dc-retiring`). */
    retiring?: boolean;
    /** Creation time, ms since the epoch. */
    createdAt: number;
}

/** What the service remembers about a node between observations (lost on restart, by design). */
export interface WorkerRecord {
    node: string;
    /** A launch was started at this time (queued or create call in flight). */
    launchStartedAt?: number;
    /** The create call has not answered yet. */
    launchInFlight?: boolean;
    /** Minion ID generated for the current launch. */
    minionId?: string;
    /** Server ID the create call returned. */
    serverId?: string;
    /** The flavor the current launch asked for (its pool's first, or a fallback). */
    flavor?: string;
    /**
     * When the create call returned. An observation that started before this may not list the
     * server yet (its listing can have been answered while the create was still running).
     */
    launchReturnedAt?: number;
    /**
     * The create call failed in a way that may still have created a server (timeout, reset);
     * no new launch until an observation newer than this shows none.
     */
    launchUncertainAt?: number;
    /** The service asked Nova to delete `serverId`-or-the-node's-servers at this time. */
    deleteRequestedAt?: number;
    /** Why the delete was asked. */
    deleteReason?: string;
    /** The master authenticated the minion (its pending key matched; verified, not claimed). */
    authSeenAt?: number;
    /** The minion reported its start (highstate queued), with its key accepted. */
    startedAt?: number;
    /** The master's job cache holds a successful highstate of the worker. */
    configuredAt?: number;
    /** The master's job cache holds a failed highstate of the worker... */
    configFailedAt?: number;
    /** ...failing for this reason (failed states, or why it did not compile). */
    configFailureReason?: string;
    /** The highstate the service started for the worker's current minion (salt/bridge.ts). */
    highstate?: { minionId: string; jid: string; requestedAt: number };
    /** Last look-up of the worker's highstate in the job cache. */
    highstateCheckedAt?: number;
    /** A failure is being cleaned up (server deletion); no second failure is counted. */
    failedAt?: number;
    failureReason?: string;
    /** First time the scheduler was seen unable to reach the ready worker. */
    unreachableSince?: number;
}

/**
 * Starts a new launch in a node's record: its start time, a create call in flight, the new
 * minion ID, and everything the previous server left (IDs, failure, delete, Salt steps)
 * forgotten. Used by the service's executor and the replay's (replay/sim/service.ts).
 */
export function beginLaunch(record: WorkerRecord, minionId: string, at: number): void {
    Object.assign(record, {
        launchStartedAt: at,
        launchInFlight: true,
        minionId,
        serverId: undefined,
        flavor: undefined,
        launchReturnedAt: undefined,
        launchUncertainAt: undefined,
        failedAt: undefined,
        failureReason: undefined,
        deleteRequestedAt: undefined,
        configuredAt: undefined,
        configFailedAt: undefined,
        startedAt: undefined,
        highstate: undefined,
        highstateCheckedAt: undefined,
        unreachableSince: undefined,
    } satisfies Partial<WorkerRecord>);
}

/** What Slurm (or an admin) asked for a node, and when. */
export interface NodeRequest {
    want: "up" | "down";
    /** ms since the epoch. */
    at: number;
    /** ResumeFailProgram: the scheduler gave up on the node's boot. */
    failed?: boolean;
}

/** Everything read in one observation round. */
export interface Observation {
    /** When the round started, ms since the epoch. */
    at: number;
    servers: ServerView[];
    scheduler: SchedulerSnapshot;
    keys: KeyListing;
}

/** One worker as reported by the API and used by the policy. */
export interface WorkerView {
    node: string;
    /** Static (Pulumi's floor) or burst (the service's). */
    pool: WorkerPoolKind;
    /** The worker pool (lib/workerPools.ts) the node belongs to, by name (service reports). */
    workerPool?: string;
    phase: Phase | "absent";
    activity: Activity;
    serverId?: string;
    serverStatus?: string;
    address?: string;
    minionId?: string;
    keyState?: "pending" | "accepted" | "rejected" | "denied";
    /** Scheduler state text, e.g. "idle+cloud+powered_down". */
    schedulerState?: string;
    /** When the current launch started (service memory, else Nova's creation time). */
    launchedAt?: number;
    held: boolean;
    /** Human-readable note: why the worker is in this phase. */
    note?: string;
}

/** The names of the node pools a cluster's settings define. */
export interface NodeNames {
    static: readonly string[];
    burst: readonly string[];
}

/** Node names `<prefix>-1` .. `<prefix>-<count>` (lib/nodeNames.ts). */
export { nodeRange } from "../lib/nodeNames";
