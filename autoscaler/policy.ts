/**
 * The policy: a pure function from (observation, memory, settings, now) to actions and to the
 * worker views the API reports. No I/O and no clock of its own, so it is unit-tested with
 * tables and replayed against workload traces.
 *
 * Rules, for the burst pool (the service's own; the static floor belongs to Pulumi and is only
 * observed, addressed and admitted, never launched or deleted here):
 * - a node the scheduler wants up and that has no server is launched, unless auto mode is off or
 *   the breaker is open (then the node is marked unavailable with the reason, so jobs do not
 *   wait for a boot that will not come) or its flavor is backing off (then it waits);
 * - a node the scheduler wants down loses its server (never a held one);
 * - a server in ERROR, a worker not ready by its launch deadline, a highstate that failed, or a
 *   ready worker the scheduler cannot reach for `downTimeout` is a failure: the server is
 *   deleted and the scheduler told to forget the node (its jobs go back to the queue);
 * - a node the scheduler thinks is up but whose server is gone is released in the scheduler;
 * - a burst server whose node `workers.max` no longer covers (it was lowered), or a server of the
 *   floor that a lowered `workers.min` handed over (tagged burst, named like a static node), is
 *   retired, never treated as an orphan while the scheduler has the node: the node is drained,
 *   and the server is deleted only once the scheduler shows the node drained and idle, so no
 *   shrink kills a job;
 * - a job the scheduler bound to booting nodes is handed to idle powered-up nodes of the
 *   policy's pools when they can hold it (autoscaler/handOff.ts says when), so no node idles
 *   while a job waits for a boot;
 * - a burst node the scheduler does not list is left alone (no launch, no delete): a node is
 *   never taken for idle because a listing missed it;
 * - extra servers for one node, and workers no node accounts for (after a grace period
 *   counted from the first round that saw them so), are deleted; a server that is no worker
 *   (the head node: no pool tag, no node name) never is;
 * - minion keys of workers that no longer exist are removed, and rejected or denied keys of IDs
 *   that are no worker of this cluster (garbage anyone who reaches port 4506 can leave); never a
 *   key of the head's ID, of a live worker's ID, nor accepted or pending keys of unknown IDs;
 * - remembered first keys (state.json) of IDs with no key left and no worker are forgotten, and
 *   at most {@link FIRST_KEYS_MAX} are kept (the oldest non-live ones forgotten first).
 */
import { isMinionId, nodeNameOfMinionId } from "../lib/minionId";
import { indexOfNodeName } from "../lib/nodeNames";
import { serverFaultKind } from "../lib/openstack/errors";
import type { WorkerPoolKind } from "../lib/tags";
import type {
    Activity,
    NodeNames,
    NodeRequest,
    Observation,
    Phase,
    ServerView,
    WorkerRecord,
    WorkerView,
} from "./model";
import { planHandOffs, type HandOff, type HandOffPlan, weightsToRestore } from "./handOff";
import { releasesForBlockedJobs } from "./launchGroups";
import { isSafeMinionId, type KeyListing } from "./salt/keys";
import type { UnavailableEntry } from "./store";
import { isBusy, isUp, type SchedulerNode } from "./scheduler/types";

/** Settings the policy reads (ms). */
export interface PolicyConfig {
    names: NodeNames;
    launchTimeoutMs: number;
    downTimeoutMs: number;
    orphanGraceMs: number;
    /**
     * The burst nodes' name prefixes, one per pool (`<prefix>-<n>`): keys of burst nodes beyond a
     * pool's max (retired when it was lowered) are this cluster's too, and removed once their
     * worker is gone.
     */
    burstPrefixes?: readonly string[];
    /**
     * The static nodes' name prefixes, one per pool: servers of a floor that a lowered min handed
     * over (components/workerPool.ts) are retired like burst nodes beyond max, and their keys
     * removed once they are gone.
     */
    staticPrefixes?: readonly string[];
    /**
     * A worker still waiting for its next Salt step this long after the previous one gets a
     * note naming the likely causes (default 3 minutes).
     */
    saltSilenceMs?: number;
    /** The head node's minion ID: its keys are never cleaned up. */
    headMinionId?: string;
    /** At most this many remembered first keys (default {@link FIRST_KEYS_MAX}). */
    firstKeysMax?: number;
    /**
     * Hand jobs waiting for booting nodes to idle powered-up ones (autoscaler/handOff.ts;
     * `tuning.hand_off`, on by default).
     */
    handOff?: boolean;
    /** Create call to usable, as this cluster measured it (ms; autoscaler/bootTimes.ts). */
    expectedBootMs?: number;
    /** The service's round period (ms): how late a freed node is noticed at worst. */
    roundMs?: number;
    /**
     * Release the booting nodes of a job that cannot get all its nodes now
     * (autoscaler/launchGroups.ts; `tuning.all_or_nothing`, on by default in the service).
     */
    allOrNothing?: boolean;
    /** The worker pool of a node (lib/workerPools.ts), for the hand-off; absent: one pool. */
    poolOf?: (node: string) => string | undefined;
}

/**
 * Bound on the remembered first keys (`firstKeys` in state.json): far above the workers a
 * cluster has at once (each live worker keeps its entry whatever the bound).
 */
export const FIRST_KEYS_MAX = 10_000;

/** Why a worker may be stuck at a Salt step, for its note (what an admin checks first). */
export const SALT_SILENCE_CAUSES = {
    auth:
        "the Salt master has heard nothing from its minion: the worker may not reach the master " +
        "(security groups, the master address in its user-data), salt-minion may not have " +
        "installed (`openstack console log show <server>`), or its key is pending but the " +
        "master's reactor cannot reach this service (the master's log shows dc_forward warnings)",
    start:
        "its key is accepted but the minion has not reported its start: the minion may not " +
        "reach the master's publish port 4505, or the reactor cannot reach this service",
    highstate:
        "its highstate has not returned to the master: it may still be running (package " +
        "installs), or the minion lost the master (`salt-run jobs.active` on the head node)",
} as const;

/** Kinds of failure; `capacity` and `quota` back off the flavor, the others count toward the breaker. */
export type FailureKind =
    "boot-error" | "capacity" | "quota" | "launch-timeout" | "config-failed" | "unreachable";

/** The failure an ERROR server's fault means: quota and capacity are not the worker's fault. */
function errorFaultKind(fault: string): FailureKind {
    const kind = serverFaultKind(fault);
    return kind === "other" ? "boot-error" : kind;
}

/** The note of a node whose launch waits for its pool's flavors to stop backing off. */
const BACKING_OFF_NOTE = "waiting: flavor backing off";

/** What the policy asks the executor to do. */
export type Action =
    | { type: "launch"; node: string }
    | {
          type: "delete";
          node?: string;
          serverId: string;
          reason: string;
          /**
           * The server is one the node is leaving behind (a replaced floor server), not the
           * node's own: the node's memory is not marked as deleting (its next server would
           * inherit the mark).
           */
          serverOnly?: boolean;
      }
    | { type: "fail"; node: string; serverId?: string; kind: FailureKind; reason: string }
    | { type: "set-address"; node: string; address: string }
    /** No new jobs on the nodes; running jobs finish (retired nodes). */
    | { type: "drain"; nodes: string[]; reason: string }
    /**
     * The scheduler must stop waiting for these nodes (power down, requeue their jobs);
     * `unavailable` also records them as kept out of use until launches resume.
     */
    | {
          type: "mark-gone";
          nodes: string[];
          reason: string;
          unavailable?: "breaker" | "auto-off";
      }
    /** Powered-down nodes recorded as unavailable are set down with the reason. */
    | { type: "mark-unavailable"; nodes: string[]; reason: string }
    /** Nodes no longer kept out of use go back to the scheduler (`down` ones are resumed). */
    | { type: "restore"; nodes: string[]; resume: string[] }
    /**
     * Nodes the service drained to retire them that the policy covers again (a server taken back,
     * or booted anew under the name) accept jobs again.
     */
    | { type: "undrain"; nodes: string[] }
    /** Removes every key of these IDs (and their remembered first keys). */
    | { type: "remove-keys"; minionIds: string[] }
    /** Forgets the remembered first keys of these IDs (state.json). */
    | { type: "forget-first-keys"; minionIds: string[] }
    | { type: "track-unreachable"; node: string; since: number | undefined }
    /**
     * Jobs waiting for booting nodes go back to the queue to take idle powered-up nodes
     * (autoscaler/handOff.ts); the booting nodes keep booting for the next job.
     */
    | { type: "hand-off"; jobs: HandOff[] }
    /** Nodes a hand-off made the last choice have booted (or powered down): weight back. */
    | { type: "restore-weight"; nodes: string[] }
    /** A resumed node that no job waits for any more is powered down without booting. */
    | { type: "cancel-resume"; node: string; reason: string };

/** Everything the policy decides on. */
export interface PolicyInput {
    now: number;
    config: PolicyConfig;
    observation: Observation;
    records: ReadonlyMap<string, WorkerRecord>;
    /** Scheduler requests received since the last round, by node (they win over the snapshot). */
    requests: ReadonlyMap<string, NodeRequest>;
    autoMode: boolean;
    /** Launches stopped by the breaker: for every node, or per node (each pool has its own). */
    breakerOpen: boolean | ((node: string) => boolean);
    /**
     * Launches wait until then (ms) while backing off: one time for every node (the replay's one
     * flavor), or per node (each pool's flavors: the service, autoscaler/service.ts).
     */
    backoffUntil?: number | ((node: string) => number | undefined);
    held: ReadonlySet<string>;
    /** Nodes the service keeps out of use, and why (persisted). */
    unavailable: ReadonlyMap<string, UnavailableEntry>;
    /**
     * When each server no worker accounts for was first seen so (by server ID); the grace
     * period counts from then, not from the server's creation. Missing: seen so first now.
     */
    orphanSince?: ReadonlyMap<string, number>;
    /** Minion IDs with a remembered first key (state.json `firstKeys`), oldest first. */
    firstKeys?: readonly string[];
    /** Nodes whose launch the previous round deferred ({@link ActionDecision.deferred}). */
    deferred?: ReadonlySet<string>;
    /** Jobs the service handed off before: never again (autoscaler/handOff.ts). */
    handedOff?: ReadonlySet<string>;
}

/** The policy's answer. */
export interface Decision {
    actions: Action[];
    workers: WorkerView[];
    /** IDs of the servers no worker accounts for this round (the service dates them). */
    orphans: string[];
    /** Resumed nodes whose launch waits this round ({@link ActionDecision.deferred}). */
    deferred: string[];
}

/**
 * The policy's answer without the API's views ({@link decideActions}): the same actions and
 * orphans, and how many nodes are in transit.
 */
export interface ActionDecision {
    actions: Action[];
    orphans: string[];
    /**
     * Nodes whose view's phase is neither `absent` nor `ready` (launching, booting, configuring,
     * draining, deleting, failed): the ones the rules may act on as time passes.
     */
    inTransit: number;
    /**
     * Resumed nodes whose launch waits this round (autoscaler/handOff.ts); the service passes
     * them to the next round ({@link PolicyInput.deferred}).
     */
    deferred: string[];
}

/** Why a retired node's server is deleted (the service's events and log). */
export const RETIRED_DELETE_REASON =
    "retired: the worker policy no longer covers it (workers.max or workers.min lowered) and it runs no job";

/** Why a replaced static server is deleted (the service's events and log). */
export const REPLACED_DELETE_REASON =
    "replaced: the WorkerPool handed it over for a server with new settings, and it runs no job";

/** Reason texts the scheduler shows (`sinfo -R`); each names the way out. */
export const REASONS = {
    autoOff: "dynamic-cluster: auto mode is off (dynamic-cluster auto on)",
    breaker:
        "dynamic-cluster: launches stopped after repeated boot failures (dynamic-cluster breaker reset)",
    serverGone: "dynamic-cluster: server gone",
    retired:
        "dynamic-cluster: retired (workers.max or workers.min lowered); deleted once idle, gone from slurm.conf at the next pulumi up",
    replaced:
        "dynamic-cluster: being replaced (pulumi up changed the workers' image, flavor or settings); deleted once idle, then booted again under this name",
} as const;

/** The drain reasons the service sets itself: a node drained with one is the service's to resume. */
const OWN_DRAIN_REASONS: ReadonlySet<string> = new Set([REASONS.retired, REASONS.replaced]);

/** The server kept for a node when several claim it: accepted key, then ACTIVE, then oldest. */
function keeperOf(servers: ServerView[], keys: KeyListing): ServerView {
    // The usual case, decided without a copy and a sort (the replay runs this per node per round).
    if (servers.length === 1) return servers[0]!;
    return [...servers].sort(
        (a, b) => keeperScore(b, keys) - keeperScore(a, keys) || a.createdAt - b.createdAt,
    )[0]!;
}

/** {@link keeperOf}'s preference: accepted key, then ACTIVE; ERROR last. */
function keeperScore(s: ServerView, keys: KeyListing): number {
    return (
        (s.minionId && keys.accepted.has(s.minionId) ? 4 : 0) +
        (s.status === "ACTIVE" ? 2 : 0) +
        (s.status === "ERROR" ? -8 : 0)
    );
}

/**
 * What the scheduler wants for a burst node: a request received since the last round wins (the
 * service consumes requests round by round); otherwise the node's power state says.
 */
export function wantOf(
    node: SchedulerNode | undefined,
    request: NodeRequest | undefined,
): "up" | "down" {
    if (request) return request.want;
    if (!node) return "down";
    if (node.flags.has("powering_up")) return "up";
    if (
        node.flags.has("powered_down") ||
        node.flags.has("powering_down") ||
        node.state === "future"
    ) {
        return "down";
    }
    return "up";
}

function schedulerStateText(node: SchedulerNode | undefined): string | undefined {
    if (!node) return undefined;
    // The state, then the flags in sorted order, joined by "+". Nodes mostly have one or two
    // flags (cloud, powered_down): those are ordered without an array to sort.
    const flags = node.flags;
    if (flags.size > 2) return `${node.state}+${[...flags].sort().join("+")}`;
    let first: string | undefined;
    let second: string | undefined;
    for (const flag of flags) {
        if (first === undefined) first = flag;
        else second = flag;
    }
    if (first === undefined) return node.state;
    if (second === undefined) return `${node.state}+${first}`;
    return first < second ? `${node.state}+${first}+${second}` : `${node.state}+${second}+${first}`;
}

function keyStateOf(minionId: string | undefined, keys: KeyListing): WorkerView["keyState"] {
    if (!minionId) return undefined;
    if (keys.accepted.has(minionId)) return "accepted";
    if (keys.pending.has(minionId)) return "pending";
    if (keys.denied.has(minionId)) return "denied";
    if (keys.rejected.has(minionId)) return "rejected";
    return undefined;
}

interface NodeFacts {
    node: string;
    pool: WorkerPoolKind;
    server?: ServerView;
    extras: readonly ServerView[];
    record?: WorkerRecord;
    sched?: SchedulerNode;
}

/** A node's phase and note as {@link phaseOf} sees them, before the rules. */
type Seen = Readonly<{ phase: Phase | "absent"; note?: string }>;

// decide() goes through every node every round (the replay: 10^5 rounds of up to 256 nodes), so
// what most nodes share is allocated once: the phases without a note, no servers, no actions.
const ABSENT: Seen = { phase: "absent" };
const READY: Seen = { phase: "ready" };
const DRAINING: Seen = { phase: "draining" };
const LAUNCHING: Seen = { phase: "launching" };
const NO_SERVERS: readonly ServerView[] = Object.freeze([]);
const NO_ACTIONS: readonly Action[] = Object.freeze([]);

/** Phase and note of a node from what is known of it. */
function phaseOf(f: NodeFacts, keys: KeyListing, observedAt: number, silenceMs: number): Seen {
    const r = f.record;
    const s = f.server;
    if (s && r?.deleteRequestedAt !== undefined) return { phase: "deleting", note: r.deleteReason };
    if (s && r?.failedAt !== undefined) return { phase: "failed", note: r.failureReason };
    if (!s) {
        if (r?.launchInFlight || (r?.launchStartedAt !== undefined && !r.serverId)) {
            return LAUNCHING;
        }
        if (r?.launchReturnedAt !== undefined && r.launchReturnedAt >= observedAt) {
            return { phase: "launching", note: "created; not listed yet" };
        }
        if (r?.launchUncertainAt !== undefined && r.launchUncertainAt >= observedAt) {
            return { phase: "launching", note: "create call outcome unknown" };
        }
        return ABSENT;
    }
    if (s.status === "ERROR") return { phase: "failed", note: s.fault ?? "server in ERROR" };
    if (f.sched && isUp(f.sched)) {
        return f.sched.flags.has("drain") ? DRAINING : READY;
    }
    if (s.status !== "ACTIVE") return { phase: "booting", note: `server ${s.status}` };
    if (s.minionId && keys.accepted.has(s.minionId)) {
        if (r?.configuredAt) return { phase: "configuring", note: "highstate done" };
        if (r?.startedAt !== undefined) {
            return {
                phase: "configuring",
                note: silenceNote(
                    observedAt,
                    silenceMs,
                    r.startedAt,
                    SALT_SILENCE_CAUSES.highstate,
                ),
            };
        }
        return {
            phase: "configuring",
            note: silenceNote(
                observedAt,
                silenceMs,
                r?.authSeenAt ?? s.createdAt,
                SALT_SILENCE_CAUSES.start,
            ),
        };
    }
    return {
        phase: "booting",
        note:
            silenceNote(observedAt, silenceMs, s.createdAt, SALT_SILENCE_CAUSES.auth) ??
            "waiting for the Salt minion",
    };
}

/** {@link phaseOf}'s note for a Salt step not reached `silenceMs` after the previous one. */
function silenceNote(
    observedAt: number,
    silenceMs: number,
    since: number | undefined,
    cause: string,
): string | undefined {
    return since !== undefined && observedAt - since > silenceMs
        ? `no progress for ${Math.round((observedAt - since) / 60_000)} min: ${cause}`
        : undefined;
}

function activityOf(sched: SchedulerNode | undefined): Activity {
    if (!sched || !isUp(sched)) return "unknown";
    return isBusy(sched) ? "busy" : "idle";
}

/**
 * Nodes whose memory an observation made obsolete (pure): a record is kept while its launch is
 * in flight, while the observation may predate the server its launch created (or may have
 * created), and while Nova lists a server for the node; otherwise it is dropped.
 */
export function obsoleteRecords(
    records: ReadonlyMap<string, WorkerRecord>,
    observation: Pick<Observation, "at" | "servers">,
): string[] {
    const obsolete: string[] = [];
    if (!records.size) return obsolete;
    const listed = new Set<string | undefined>();
    for (const s of observation.servers) listed.add(s.node);
    for (const [node, r] of records) {
        if (r.launchInFlight || listed.has(node)) continue;
        if (r.launchReturnedAt !== undefined && r.launchReturnedAt >= observation.at) continue;
        if (r.launchUncertainAt !== undefined && r.launchUncertainAt >= observation.at) continue;
        obsolete.push(node);
    }
    return obsolete;
}

/** True while an unavailable entry still applies. */
export function stillUnavailable(
    entry: UnavailableEntry,
    input: Pick<PolicyInput, "now" | "autoMode" | "breakerOpen">,
    node: string,
): boolean {
    if (entry.cause === "cooldown") return entry.until !== undefined && entry.until > input.now;
    if (entry.cause === "breaker") return breakerOpenFor(input, node);
    return !input.autoMode;
}

/** True while launches of `node`'s pool are stopped by its breaker. */
function breakerOpenFor(input: Pick<PolicyInput, "breakerOpen">, node: string): boolean {
    return typeof input.breakerOpen === "function" ? input.breakerOpen(node) : input.breakerOpen;
}

/**
 * Decides. Pure: same input, same output. The steps, in order:
 * 1. {@link sortServers}: each server to its node, to a retired node, or to the orphans (deleted
 *    after the grace period);
 * 2. {@link retire} each node the scheduler has beyond the worker policy;
 * 3. per node of the policy: its phase ({@link phaseOf}), duplicate servers
 *    ({@link duplicateDeletes}), what the burst pool's rules say ({@link burstOutcome}), the
 *    address the scheduler must learn ({@link addressAction}), and its view;
 * 4. the nodes the scheduler must stop waiting for, and those kept out of use or given back
 *    ({@link unavailableActions});
 * 5. keys of workers that are gone ({@link staleKeys}) and remembered first keys to forget
 *    ({@link firstKeysToForget}).
 */
export function decide(input: PolicyInput): Decision {
    const { actions, workers, orphans, deferred } = decideNodes(input, true);
    return { actions, workers: workers!, orphans, deferred };
}

/**
 * {@link decide}'s actions and orphans without the views of the nodes, for a caller that reads
 * nothing else of them (the replay asks the policy 10^5 times per trace, and building the views
 * is a fifth of its time); and the number of nodes in transit, which the views would show.
 */
export function decideActions(input: PolicyInput): ActionDecision {
    const { actions, orphans, inTransit, deferred } = decideNodes(input, false);
    return { actions, orphans, inTransit, deferred };
}

/** {@link decide}'s steps; the views of the policy's nodes only when asked for. */
function decideNodes(
    input: PolicyInput,
    withViews: boolean,
): ActionDecision & { workers?: WorkerView[] } {
    const { config, observation, records } = input;
    const { keys } = observation;
    const snapshot = observation.scheduler;
    const actions: Action[] = [];
    const retiredViews: WorkerView[] = [];

    const poolOf = poolsOf(config.names);

    const sorted = sortServers(input, poolOf, actions);
    /** Nodes whose address a retiring server still holds while it runs a job. */
    const heldByRetiring = new Set<string>();
    for (const [node, servers] of sorted.retired) {
        const sched = snapshot.nodes.get(node)!;
        if (servers.length > 0 && sorted.byNode.has(node)) {
            // The node has its next server already: the old one goes once it runs no job.
            if (successorTakesOver(node, servers, sched, actions)) heldByRetiring.add(node);
            continue;
        }
        const view = retire(node, servers, sched, actions, poolOf.has(node));
        if (view) retiredViews.push(view);
    }

    const plan = handOffPlan(input, poolOf, sorted.byNode);
    const gone: string[] = [];
    const stopped: string[] = [];
    const cooling: string[] = [];
    const nodeViews: WorkerView[] = [];
    const undrain: string[] = [];
    /** Burst nodes that cannot be created now, and why (launchGroups.ts). */
    const blocked = new Map<string, string>();
    // The retired nodes' views (draining or deleting) are in transit.
    let inTransit = retiredViews.length;
    for (const [node, pool] of poolOf) {
        const candidates = sorted.byNode.get(node);
        // A node whose only server is being replaced is reported by retire() above.
        if (!candidates?.length && sorted.retired.get(node)?.length) continue;
        const server = candidates?.length ? keeperOf(candidates, keys) : undefined;
        const facts: NodeFacts = {
            node,
            pool,
            server,
            extras:
                candidates && candidates.length > 1
                    ? candidates.filter((s) => s !== server)
                    : NO_SERVERS,
            record: records.get(node),
            sched: snapshot.nodes.get(node),
        };
        const held = input.held.has(node);
        const seen = phaseOf(facts, keys, observation.at, config.saltSilenceMs ?? 180_000);
        if (facts.extras.length) actions.push(...duplicateDeletes(facts));
        const outcome =
            pool === "burst"
                ? burstOutcome(facts, held, seen, input, plan)
                : staticOutcome(facts, seen);
        if (outcome.actions.length) actions.push(...outcome.actions);
        if (outcome.list === "gone") gone.push(node);
        if (outcome.list === "stopped") stopped.push(node);
        if (outcome.list === "cooling") cooling.push(node);
        if (pool === "burst" && config.allOrNothing && cannotBeCreated(outcome))
            blocked.set(node, outcome.note ?? outcome.phase);
        const address = heldByRetiring.has(node) ? undefined : addressAction(facts, outcome.phase);
        if (address) actions.push(address);
        if (server && !sorted.retired.has(node) && drainedByService(facts.sched, server)) {
            undrain.push(node);
        }
        if (outcome.phase !== "absent" && outcome.phase !== "ready") inTransit++;
        if (withViews) nodeViews.push(workerView(facts, outcome, held, keys));
    }
    // Views of the policy's nodes first, then the retired ones (the API lists them so).
    const workers = retiredViews.length ? nodeViews.concat(retiredViews) : nodeViews;
    if (undrain.length) actions.push({ type: "undrain", nodes: undrain });

    actions.push(...unavailableActions(input, poolOf, sorted.byNode, { gone, stopped, cooling }));
    if (blocked.size) {
        const held = releaseBlockedJobs(input, poolOf, sorted.byNode, blocked, actions);
        // Their launch waits for the job's other nodes: say so instead of "launching".
        for (const view of nodeViews) {
            const note = held.get(view.node);
            if (note && view.phase === "launching") Object.assign(view, { phase: "absent", note });
        }
    }
    if (plan?.handOffs.length) actions.push({ type: "hand-off", jobs: plan.handOffs });
    const restore = weightsToRestore(snapshot.nodes);
    if (restore.length) actions.push({ type: "restore-weight", nodes: restore });
    // Deferred launches are in transit: the plan changes as time passes.
    if (plan) inTransit += plan.deferred.size;
    const live = liveMinions(input);
    const stale = staleKeys(input, poolOf, live);
    if (stale.size) actions.push({ type: "remove-keys", minionIds: [...stale].sort() });
    const forget = firstKeysToForget(input, stale, live);
    if (forget.length) actions.push({ type: "forget-first-keys", minionIds: forget });

    return {
        actions,
        orphans: sorted.orphans,
        inTransit,
        deferred: plan ? [...plan.deferred.keys()] : [],
        workers: withViews ? workers : undefined,
    };
}

/**
 * True when a burst node's outcome says it cannot be created now (launchGroups.ts): launches of
 * its pool are stopped (breaker, auto mode off), wait for its flavors' backoff, or its server
 * went to ERROR for capacity or quota this round. A boot that failed otherwise (a highstate, a
 * deadline) is not: its cooldown sends the job back to the queue, and the job's other nodes,
 * booted, can take it again at once.
 */
function cannotBeCreated(outcome: NodeOutcome): boolean {
    return (
        outcome.list === "stopped" ||
        outcome.note?.startsWith(BACKING_OFF_NOTE) === true ||
        outcome.actions.some(
            (a) => a.type === "fail" && (a.kind === "capacity" || a.kind === "quota"),
        )
    );
}

/**
 * Launches grouped per job (launchGroups.ts): the booting nodes of jobs that cannot get all
 * their nodes now are powered down with the reason, or not launched while none of them is;
 * returns the nodes whose launch waits, with the note why.
 */
function releaseBlockedJobs(
    input: PolicyInput,
    poolOf: ReadonlyMap<string, WorkerPoolKind>,
    byNode: ReadonlyMap<string, ServerView[]>,
    blocked: ReadonlyMap<string, string>,
    actions: Action[],
): ReadonlyMap<string, string> {
    const releases = releasesForBlockedJobs({
        jobs: input.observation.scheduler.jobs,
        nodes: input.observation.scheduler.nodes,
        blocked,
        releasable: (node) => poolOf.get(node) === "burst" && !input.held.has(node),
        launched: (node) =>
            byNode.has(node) || input.records.get(node)?.launchStartedAt !== undefined,
    });
    if (!releases.release.size && !releases.hold.size) return releases.hold;
    for (let i = actions.length - 1; i >= 0; i--) {
        const action = actions[i]!;
        if (
            action.type === "launch" &&
            (releases.release.has(action.node) || releases.hold.has(action.node))
        )
            actions.splice(i, 1);
    }
    for (const [node, reason] of releases.release)
        actions.push({ type: "cancel-resume", node, reason });
    return releases.hold;
}

/**
 * The round's hand-offs and deferred launches (autoscaler/handOff.ts), when the hand-off is on
 * and the scheduler lists jobs. Supply: the policy's nodes not held and not kept out of use.
 */
function handOffPlan(
    input: PolicyInput,
    poolOf: ReadonlyMap<string, WorkerPoolKind>,
    byNode: ReadonlyMap<string, ServerView[]>,
): HandOffPlan | undefined {
    const { config, observation } = input;
    if (!config.handOff || !observation.scheduler.jobs.length) return undefined;
    return planHandOffs({
        nodes: observation.scheduler.nodes,
        jobs: observation.scheduler.jobs,
        eligible: (node) =>
            poolOf.has(node) && !input.held.has(node) && !input.unavailable.has(node),
        launched: (node) =>
            byNode.has(node) || input.records.get(node)?.launchStartedAt !== undefined,
        now: input.now,
        expectedBootMs: config.expectedBootMs,
        roundMs: config.roundMs ?? 0,
        deferredBefore: input.deferred,
        handedOff: input.handedOff,
        poolOf: config.poolOf,
    });
}

/** {@link poolsOf}'s maps, by the `names` object they were built from. */
const poolsByNames = new WeakMap<NodeNames, ReadonlyMap<string, WorkerPoolKind>>();

/**
 * The pool of each node of the worker policy, static nodes first (a name in both pools is a
 * burst node). Built once per `names` object: the service and the replay pass the same
 * read-only names every round, and decide() goes through every node of them.
 */
function poolsOf(names: NodeNames): ReadonlyMap<string, WorkerPoolKind> {
    let pools = poolsByNames.get(names);
    if (!pools) {
        const built = new Map<string, WorkerPoolKind>();
        for (const n of names.static) built.set(n, "static");
        for (const n of names.burst) built.set(n, "burst");
        poolsByNames.set(names, built);
        pools = built;
    }
    return pools;
}

/**
 * Step 1: servers by the policy's node they serve; servers of retired nodes (the scheduler
 * still has the node, the policy no longer does: they finish their jobs first); every other
 * worker is an orphan, deleted once it has been one for the grace period (Pulumi's static
 * servers are never touched here). A server that is no worker (no pool tag or no node name: the
 * head node, a server tagged by hand) is never an orphan. Retired nodes the scheduler lists
 * without a server are included.
 */
function sortServers(
    input: PolicyInput,
    poolOf: ReadonlyMap<string, WorkerPoolKind>,
    actions: Action[],
): { byNode: Map<string, ServerView[]>; retired: Map<string, ServerView[]>; orphans: string[] } {
    const snapshot = input.observation.scheduler;
    const byNode = new Map<string, ServerView[]>();
    const retired = new Map<string, ServerView[]>();
    const orphans: string[] = [];
    const add = (map: Map<string, ServerView[]>, node: string, server: ServerView): void => {
        const list = map.get(node);
        if (list) list.push(server);
        else map.set(node, [server]);
    };
    for (const server of input.observation.servers) {
        const node = server.node;
        // Only a worker can be an orphan: a server with no pool tag or no node name (the head
        // node, a server tagged by hand) is none of the policy's business (lib/tags.ts).
        if (!node || !server.pool) continue;
        const handedOver = retiring(server, input.config);
        if (!handedOver && poolOf.has(node) && server.pool === poolOf.get(node)) {
            add(byNode, node, server);
            continue;
        }
        // Pulumi owns the static pool: never delete its servers here, unless it handed them over.
        if (server.pool === "static" && !handedOver) continue;
        // This service launched it, or the WorkerPool handed it over, for a node the policy no
        // longer covers or that is getting a new server, and Slurm still has the node (a node
        // Slurm no longer has runs no job: an orphan like any other).
        if ((handedOver || !poolOf.has(node)) && snapshot.nodes.has(node)) {
            add(retired, node, server);
            continue;
        }
        orphans.push(server.id);
        const since = input.orphanSince?.get(server.id) ?? input.now;
        if (input.now - since >= input.config.orphanGraceMs) {
            actions.push({
                type: "delete",
                serverId: server.id,
                reason: `orphan: server ${server.name} belongs to no worker of this cluster`,
            });
        }
    }
    for (const name of snapshot.nodes.keys()) {
        if (!poolOf.has(name) && !retired.has(name)) retired.set(name, []);
    }
    return { byNode, retired, orphans };
}

/**
 * True for a server the WorkerPool handed to the service: tagged `dc-retiring`, or (by an older
 * release) retagged into the burst pool under a static node's name.
 */
function retiring(server: ServerView, config: PolicyConfig): boolean {
    if (server.retiring) return true;
    return (
        server.pool === "burst" &&
        (config.staticPrefixes ?? []).some(
            (prefix) => indexOfNodeName(prefix, server.node) !== undefined,
        )
    );
}

/**
 * True when the scheduler shows the node drained by the service itself (to retire it), up, and
 * served by `server`'s own slurmd (started after the server was created: a replaced node keeps
 * its old slurmd's registration until Slurm notices it is gone), so that undraining it hands
 * jobs to a server that runs them.
 */
function drainedByService(sched: SchedulerNode | undefined, server: ServerView): boolean {
    return (
        sched !== undefined &&
        sched.flags.has("drain") &&
        OWN_DRAIN_REASONS.has(sched.reason) &&
        isUp(sched) &&
        sched.slurmdStartedAt !== undefined &&
        sched.slurmdStartedAt >= server.createdAt
    );
}

/**
 * A node that has a new server while its handed-over one still exists (pure; pushes its actions):
 * the old server keeps the node while the scheduler still reaches it there and it runs a job
 * (true: its address stays), and is deleted as soon as it does not. The node is never drained
 * for it: the new server is the node's future.
 */
function successorTakesOver(
    node: string,
    retiringServers: ServerView[],
    sched: SchedulerNode,
    actions: Action[],
): boolean {
    let holds = false;
    for (const server of retiringServers) {
        if (server.address !== undefined && sched.address === server.address && isBusy(sched)) {
            holds = true;
            continue;
        }
        actions.push({
            type: "delete",
            node,
            serverId: server.id,
            reason: REPLACED_DELETE_REASON,
            serverOnly: true,
        });
    }
    return holds;
}

/** Servers beyond the one kept for a burst node are deleted (never a static one). */
function duplicateDeletes(f: NodeFacts): Action[] {
    if (f.pool === "static") return [];
    return f.extras.map((extra) => ({
        type: "delete" as const,
        node: f.node,
        serverId: extra.id,
        reason: `duplicate: ${f.node} already has server ${f.server!.id}`,
    }));
}

/** What the rules decided for one node: its actions, final phase and note, and a list to join. */
interface NodeOutcome {
    actions: readonly Action[];
    phase: Phase | "absent";
    note?: string;
    /** The scheduler must stop waiting for it: server gone, launches stopped, or cooling down. */
    list?: "gone" | "stopped" | "cooling";
}

/** A static node: Pulumi replaces it; only an ERROR server gets a note saying so. */
function staticOutcome(f: NodeFacts, seen: Seen): NodeOutcome {
    const note =
        f.server?.status === "ERROR"
            ? `server in ERROR (${f.server.fault ?? "no fault"}); \`pulumi up\` replaces it`
            : seen.note;
    return { actions: NO_ACTIONS, phase: seen.phase, note };
}

/** A failure of the node's worker: counted, the server deleted, the node cooled down. */
function failure(f: NodeFacts, kind: FailureKind, reason: string): NodeOutcome {
    return {
        actions: [{ type: "fail", node: f.node, serverId: f.server?.id, kind, reason }],
        phase: "failed",
        note: reason,
    };
}

/**
 * Step 3, a burst node: nothing on a node the scheduler does not list; otherwise what the
 * scheduler wants decides ({@link whenWantedUp}, {@link whenWantedDown}).
 */
function burstOutcome(
    f: NodeFacts,
    held: boolean,
    seen: Seen,
    input: PolicyInput,
    plan: HandOffPlan | undefined,
): NodeOutcome {
    const request = input.requests.get(f.node);
    if (!f.sched && !request) {
        // Not in the scheduler's listing: nothing is decided on a node it cannot vouch for.
        return {
            actions: NO_ACTIONS,
            phase: seen.phase,
            note: f.server ? "not listed by the scheduler; kept as it is" : seen.note,
        };
    }
    return wantOf(f.sched, request) === "up"
        ? whenWantedUp(f, seen, input, request, plan)
        : whenWantedDown(f, held, seen, request, input.unavailable.has(f.node));
}

/** True while the service is cleaning up a failure of the node or deleting its server. */
function failing(f: NodeFacts): boolean {
    return f.record?.failedAt !== undefined || f.record?.deleteRequestedAt !== undefined;
}

/**
 * The scheduler wants the node up: a node without a server is launched (or kept waiting, and
 * why); a node with one is checked: ERROR, failed highstate, unreachable after it registered,
 * or past its launch deadline is a failure.
 */
function whenWantedUp(
    f: NodeFacts,
    seen: Seen,
    input: PolicyInput,
    request: NodeRequest | undefined,
    plan: HandOffPlan | undefined,
): NodeOutcome {
    const { now, config } = input;
    const r = f.record;
    if (!f.server && seen.phase === "absent") {
        const poweringUp = f.sched?.flags.has("powering_up") || request?.want === "up";
        const entry = input.unavailable.get(f.node);
        const keptOut = entry !== undefined && stillUnavailable(entry, input, f.node);
        if (!poweringUp) {
            return f.sched && !keptOut ? { ...kept(seen), list: "gone" } : kept(seen);
        }
        if (keptOut) return { ...kept(seen, entry!.reason), list: "cooling" };
        if (!input.autoMode || breakerOpenFor(input, f.node)) {
            return {
                ...kept(
                    seen,
                    input.autoMode ? "launches stopped (breaker open)" : "auto mode is off",
                ),
                list: "stopped",
            };
        }
        const deferral = plan?.deferred.get(f.node);
        if (
            !deferral &&
            input.deferred?.has(f.node) &&
            f.sched?.flags.has("powering_up") &&
            f.sched.allocatedCpus === 0 &&
            (!request || request.at <= input.observation.scheduler.takenAt)
        ) {
            // Its launch waited, and its job left meanwhile (handed off, or cancelled); an "up"
            // request newer than the snapshot may be a new job's, and that one is launched.
            const reason = "no job waits for it any more: powered down without booting";
            return {
                actions: [{ type: "cancel-resume", node: f.node, reason }],
                phase: "absent",
                note: reason,
            };
        }
        if (deferral) {
            return kept(
                seen,
                `waiting: job ${deferral.job} gets ${deferral.nodes.join(",")}, free by ` +
                    `${new Date(deferral.freeBy).toISOString()}, sooner than a boot`,
            );
        }
        const backoff =
            typeof input.backoffUntil === "function"
                ? input.backoffUntil(f.node)
                : input.backoffUntil;
        if (backoff !== undefined && backoff > now) {
            return kept(seen, `${BACKING_OFF_NOTE} until ${new Date(backoff).toISOString()}`);
        }
        return { actions: [{ type: "launch", node: f.node }], phase: "launching", note: seen.note };
    }
    if (!f.server || failing(f)) return kept(seen);
    const server = f.server;
    const sched = f.sched;
    const wasRegistered =
        sched !== undefined &&
        !sched.flags.has("powering_up") &&
        (sched.state === "down" || sched.flags.has("not_responding"));
    if (server.status === "ERROR") {
        const fault = server.fault ?? "no fault message";
        return failure(f, errorFaultKind(fault), `server ${server.name} went to ERROR: ${fault}`);
    }
    if (r?.configFailedAt !== undefined) {
        return failure(
            f,
            "config-failed",
            `the worker highstate failed${r.configFailureReason ? ` (${r.configFailureReason})` : ""}`,
        );
    }
    if (seen.phase === "ready" || seen.phase === "draining") {
        return r?.unreachableSince !== undefined
            ? kept(seen, seen.note, [{ type: "track-unreachable", node: f.node, since: undefined }])
            : kept(seen);
    }
    if (wasRegistered) {
        // It registered once (Slurm no longer waits for it) and is unreachable now.
        const since = r?.unreachableSince ?? now;
        const track: Action[] =
            r?.unreachableSince === undefined
                ? [{ type: "track-unreachable", node: f.node, since }]
                : [];
        if (now - since > config.downTimeoutMs) {
            const failed = failure(
                f,
                "unreachable",
                `the scheduler could not reach it for ${Math.round(config.downTimeoutMs / 1000)} s`,
            );
            return { ...failed, actions: [...track, ...failed.actions] };
        }
        return kept(seen, "unreachable since " + new Date(since).toISOString(), track);
    }
    const launchedAt = r?.launchStartedAt ?? server.createdAt;
    if (now - launchedAt > config.launchTimeoutMs) {
        return failure(
            f,
            "launch-timeout",
            `not ready ${Math.round(config.launchTimeoutMs / 1000)} s after launch (${seen.phase})`,
        );
    }
    return kept(seen);
}

/** A node's outcome as it was seen: its phase, a note (the seen one by default), and actions. */
function kept(seen: Seen, note = seen.note, actions: readonly Action[] = NO_ACTIONS): NodeOutcome {
    return { actions, phase: seen.phase, note };
}

/**
 * The scheduler wants the node down: its server is deleted (never a held one's); a resume the
 * scheduler gave up on (ResumeFailProgram) is a failure. One it gave up on before any server
 * was launched (the launch was held: the pool's flavors backing off, its breaker open, the job's
 * nodes created together) left the node DOWN with no worker to come: it is resumed in the
 * scheduler, which can plan jobs on it again; left DOWN, the partition would lose it for good.
 */
function whenWantedDown(
    f: NodeFacts,
    held: boolean,
    seen: Seen,
    request: NodeRequest | undefined,
    keptOut: boolean,
): NodeOutcome {
    if (!f.server) {
        if (
            request?.failed &&
            f.sched?.state === "down" &&
            !held &&
            !keptOut &&
            !f.record?.launchInFlight
        ) {
            return {
                actions: [{ type: "restore", nodes: [], resume: [f.node] }],
                phase: seen.phase,
                note: "the scheduler gave up on its resume before a launch went out; resumed",
            };
        }
        return { actions: NO_ACTIONS, phase: seen.phase, note: seen.note };
    }
    if (held) {
        return {
            actions: NO_ACTIONS,
            phase: seen.phase,
            note: "held: kept although the scheduler released it",
        };
    }
    if (failing(f)) return { actions: NO_ACTIONS, phase: seen.phase, note: seen.note };
    if (request?.failed) {
        return failure(
            f,
            "launch-timeout",
            "the scheduler gave up waiting for it (ResumeFailProgram)",
        );
    }
    return {
        actions: [
            {
                type: "delete",
                node: f.node,
                serverId: f.server.id,
                reason: "the scheduler released it (suspend)",
            },
        ],
        phase: "deleting",
        note: seen.note,
    };
}

/** The address the scheduler must learn: an ACTIVE server's, while the node is powered up. */
function addressAction(f: NodeFacts, phase: Phase | "absent"): Action | undefined {
    const server = f.server;
    const sched = f.sched;
    if (
        server?.address &&
        server.status === "ACTIVE" &&
        sched &&
        sched.address !== server.address &&
        !sched.flags.has("powered_down") &&
        !sched.flags.has("powering_down") &&
        phase !== "failed" &&
        phase !== "deleting"
    ) {
        return { type: "set-address", node: f.node, address: server.address };
    }
    return undefined;
}

/** One node as the API reports it. */
function workerView(
    f: NodeFacts,
    outcome: NodeOutcome,
    held: boolean,
    keys: KeyListing,
): WorkerView {
    const { server, record: r } = f;
    const phase = outcome.phase;
    return {
        node: f.node,
        pool: f.pool,
        phase,
        activity: phase === "ready" || phase === "draining" ? activityOf(f.sched) : "unknown",
        serverId: server?.id,
        serverStatus: server?.status,
        address: server?.address,
        minionId: server?.minionId ?? r?.minionId,
        keyState: keyStateOf(server?.minionId ?? r?.minionId, keys),
        schedulerState: schedulerStateText(f.sched),
        launchedAt: r?.launchStartedAt ?? server?.createdAt,
        held,
        note: outcome.note,
    };
}

/**
 * Step 4: the scheduler stops waiting for nodes whose server is gone, whose launch cannot come
 * (auto mode off, breaker open: recorded as unavailable) or that cool down after a failure;
 * nodes kept out of use are set down with their reason once powered down (Slurm resets the
 * state of a node it powers down, so not before); nodes whose reason is over go back.
 */
function unavailableActions(
    input: PolicyInput,
    poolOf: ReadonlyMap<string, WorkerPoolKind>,
    byNode: ReadonlyMap<string, ServerView[]>,
    lists: { gone: string[]; stopped: string[]; cooling: string[] },
): Action[] {
    const actions: Action[] = [];
    const snapshot = input.observation.scheduler;
    if (lists.gone.length) {
        actions.push({ type: "mark-gone", nodes: lists.gone, reason: REASONS.serverGone });
    }
    if (lists.stopped.length) {
        actions.push({
            type: "mark-gone",
            nodes: lists.stopped,
            reason: !input.autoMode ? REASONS.autoOff : REASONS.breaker,
            unavailable: input.autoMode ? "breaker" : "auto-off",
        });
    }
    for (const node of lists.cooling) {
        actions.push({
            type: "mark-gone",
            nodes: [node],
            reason: input.unavailable.get(node)!.reason,
        });
    }
    const settle = new Map<string, string[]>();
    const restore: string[] = [];
    const resume: string[] = [];
    for (const [node, entry] of input.unavailable) {
        const sched = snapshot.nodes.get(node);
        if (!stillUnavailable(entry, input, node)) {
            restore.push(node);
            if (sched?.state === "down") resume.push(node);
            continue;
        }
        if (
            sched &&
            poolOf.get(node) === "burst" &&
            sched.state !== "down" &&
            sched.flags.has("powered_down") &&
            !sched.flags.has("powering_up") &&
            !sched.flags.has("powering_down") &&
            !byNode.has(node)
        ) {
            settle.set(entry.reason, [...(settle.get(entry.reason) ?? []), node]);
        }
    }
    for (const [reason, nodes] of settle) actions.push({ type: "mark-unavailable", nodes, reason });
    if (restore.length) {
        actions.push({ type: "restore", nodes: restore.sort(), resume: resume.sort() });
    }
    return actions;
}

/**
 * Step 5, keys: those of workers that no longer exist, and rejected or denied keys of IDs that
 * are no worker of this cluster. Never the head's, never a live worker's, never an accepted or
 * pending key of an unknown ID (an admin may have added it), never a rejected or denied key of
 * an ID whose key is accepted (Salt keeps one per ID: an impersonation to look at).
 */
function staleKeys(
    input: PolicyInput,
    poolOf: ReadonlyMap<string, WorkerPoolKind>,
    live: ReadonlySet<string>,
): Set<string> {
    const { config } = input;
    const keys = input.observation.keys;
    // Of this cluster's naming: a node it has, or a node a lowered max or min retired.
    const prefixes = [...(config.burstPrefixes ?? []), ...(config.staticPrefixes ?? [])];
    const retiredName = (node: string): boolean =>
        prefixes.some((prefix) => indexOfNodeName(prefix, node) !== undefined);
    const ours = (id: string): boolean => {
        const node = nodeNameOfMinionId(id);
        return isMinionId(id) && node !== undefined && (poolOf.has(node) || retiredName(node));
    };
    const stale = new Set<string>();
    for (const state of ["accepted", "pending", "rejected", "denied"] as const) {
        for (const id of keys[state]) {
            if (id === config.headMinionId || live.has(id) || !isSafeMinionId(id)) continue;
            if (ours(id)) stale.add(id);
            else if ((state === "rejected" || state === "denied") && !keys.accepted.has(id)) {
                stale.add(id);
            }
        }
    }
    return stale;
}

/** Minion IDs of servers that exist or launches the service remembers. */
function liveMinions(input: PolicyInput): Set<string> {
    const live = new Set<string>();
    for (const server of input.observation.servers) if (server.minionId) live.add(server.minionId);
    for (const r of input.records.values()) if (r.minionId) live.add(r.minionId);
    return live;
}

/**
 * Remembered first keys to forget: once the ID has no key in any state and no worker (keys
 * deleted out of band, servers gone), and beyond the bound, oldest first; a live worker's entry
 * is never forgotten (its next key would count as a first one). Sorted.
 */
function firstKeysToForget(
    input: PolicyInput,
    stale: ReadonlySet<string>,
    live: ReadonlySet<string>,
): string[] {
    if (!input.firstKeys?.length) return [];
    const keys = input.observation.keys;
    const hasKey = (id: string): boolean =>
        keys.accepted.has(id) ||
        keys.pending.has(id) ||
        keys.rejected.has(id) ||
        keys.denied.has(id);
    const forget = new Set<string>();
    const kept: string[] = [];
    for (const id of input.firstKeys) {
        if (live.has(id) || stale.has(id)) continue;
        if (hasKey(id)) kept.push(id);
        else forget.add(id);
    }
    const max = input.config.firstKeysMax ?? FIRST_KEYS_MAX;
    const remaining = input.firstKeys.filter((id) => !forget.has(id) && !stale.has(id));
    const excess = Math.min(remaining.length - max, kept.length);
    for (const id of kept.slice(0, Math.max(0, excess))) forget.add(id);
    return [...forget].sort();
}

/**
 * A node the scheduler still has but the worker policy no longer covers (workers.max lowered, or a
 * floor server a lowered workers.min handed over), or, when `replaced`, a static node whose
 * server the WorkerPool handed over to replace it (pure; pushes its actions): drained first,
 * whatever it runs; its servers are deleted once the scheduler shows it drained and idle; a
 * retired node (not a replaced one) that is powered up without a server is released in the
 * scheduler. Returns its view while it still has a server.
 */
function retire(
    node: string,
    servers: ServerView[],
    sched: SchedulerNode,
    actions: Action[],
    replaced: boolean,
): WorkerView | undefined {
    const reason = replaced ? REASONS.replaced : REASONS.retired;
    const drained = sched.flags.has("drain");
    if (!drained) actions.push({ type: "drain", nodes: [node], reason });
    const busy = isBusy(sched);
    const deletable = drained && !busy;
    if (deletable) {
        for (const server of servers) {
            actions.push({
                type: "delete",
                node,
                serverId: server.id,
                reason: replaced ? REPLACED_DELETE_REASON : RETIRED_DELETE_REASON,
                ...(replaced ? { serverOnly: true } : {}),
            });
        }
    }
    const poweredDown = sched.flags.has("powered_down") || sched.flags.has("powering_down");
    if (drained && !busy && !poweredDown && !replaced) {
        // Its server is going (or gone): the scheduler must not wait for it. A replaced node
        // keeps its power state: it stays drained until its next server registers (slurmd
        // brings it back, the service undrains it), with no power-down its registration could
        // race.
        actions.push({ type: "mark-gone", nodes: [node], reason });
    }
    const server = servers[0];
    if (!server) return undefined;
    const why = replaced
        ? "being replaced (pulumi up)"
        : "retired (workers.max or workers.min lowered)";
    return {
        node,
        pool: server.pool ?? "burst",
        phase: deletable ? "deleting" : "draining",
        activity: isUp(sched) ? activityOf(sched) : "unknown",
        serverId: server.id,
        serverStatus: server.status,
        address: server.address,
        minionId: server.minionId,
        schedulerState: schedulerStateText(sched),
        launchedAt: server.createdAt,
        held: false,
        note: busy ? `${why}: drained, deleted once its jobs finish` : `${why}: deleted`,
    };
}
