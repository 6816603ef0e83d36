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
 * - a burst server whose node `workers.max` no longer covers (it was lowered) is retired, never
 *   treated as an orphan while the scheduler has the node: the node is drained, and the server
 *   is deleted only once the scheduler shows the node drained and idle, so no shrink kills a
 *   job;
 * - a burst node the scheduler does not list is left alone (no launch, no delete): a node is
 *   never taken for idle because a listing missed it;
 * - extra servers for one node, and tagged servers no node accounts for (after a grace
 *   period counted from the first round that saw them so), are deleted;
 * - minion keys of workers that no longer exist are removed, and rejected or denied keys of IDs
 *   that are no worker of this cluster (garbage anyone who reaches port 4506 can leave); never a
 *   key of the head's ID, of a live worker's ID, nor accepted or pending keys of unknown IDs;
 * - remembered first keys (state.json) of IDs with no key left and no worker are forgotten, and
 *   at most {@link FIRST_KEYS_MAX} are kept (the oldest non-live ones forgotten first).
 */
import { isMinionId, nodeNameOfMinionId } from "../lib/minionId";
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
     * The burst pool's name prefix (`<prefix>-<n>`): keys of burst nodes beyond workers.max
     * (retired when it was lowered) are this cluster's too, and removed once their worker is gone.
     */
    burstPrefix?: string;
    /**
     * A worker still waiting for its next Salt step this long after the previous one gets a
     * note naming the likely causes (default 3 minutes).
     */
    saltSilenceMs?: number;
    /** The head node's minion ID: its keys are never cleaned up. */
    headMinionId?: string;
    /** At most this many remembered first keys (default {@link FIRST_KEYS_MAX}). */
    firstKeysMax?: number;
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

/** What the policy asks the executor to do. */
export type Action =
    | { type: "launch"; node: string }
    | { type: "delete"; node?: string; serverId: string; reason: string }
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
    /** Removes every key of these IDs (and their remembered first keys). */
    | { type: "remove-keys"; minionIds: string[] }
    /** Forgets the remembered first keys of these IDs (state.json). */
    | { type: "forget-first-keys"; minionIds: string[] }
    | { type: "track-unreachable"; node: string; since: number | undefined };

/** Everything the policy decides on. */
export interface PolicyInput {
    now: number;
    config: PolicyConfig;
    observation: Observation;
    records: ReadonlyMap<string, WorkerRecord>;
    /** Scheduler requests received since the last round, by node (they win over the snapshot). */
    requests: ReadonlyMap<string, NodeRequest>;
    autoMode: boolean;
    breakerOpen: boolean;
    /** Launches of the workers' flavor wait until then (ms), when backing off. */
    backoffUntil?: number;
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
}

/** The policy's answer. */
export interface Decision {
    actions: Action[];
    workers: WorkerView[];
    /** IDs of the servers no worker accounts for this round (the service dates them). */
    orphans: string[];
}

/** Reason texts the scheduler shows (`sinfo -R`); each names the way out. */
export const REASONS = {
    autoOff: "dynamic-cluster: auto mode is off (dynamic-cluster auto on)",
    breaker:
        "dynamic-cluster: launches stopped after repeated boot failures (dynamic-cluster breaker reset)",
    serverGone: "dynamic-cluster: server gone",
    retired:
        "dynamic-cluster: retired (workers.max no longer covers it); deleted once idle, gone from slurm.conf at the next pulumi up",
} as const;

/** The server kept for a node when several claim it: accepted key, then ACTIVE, then oldest. */
function keeperOf(servers: ServerView[], keys: KeyListing): ServerView {
    const score = (s: ServerView): number =>
        (s.minionId && keys.accepted.has(s.minionId) ? 4 : 0) +
        (s.status === "ACTIVE" ? 2 : 0) +
        (s.status === "ERROR" ? -8 : 0);
    return [...servers].sort((a, b) => score(b) - score(a) || a.createdAt - b.createdAt)[0]!;
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
    return [node.state, ...[...node.flags].sort()].join("+");
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
    extras: ServerView[];
    record?: WorkerRecord;
    sched?: SchedulerNode;
}

/** Phase and note of a node from what is known of it. */
function phaseOf(
    f: NodeFacts,
    keys: KeyListing,
    observedAt: number,
    silenceMs: number,
): { phase: Phase | "absent"; note?: string } {
    const r = f.record;
    const s = f.server;
    if (s && r?.deleteRequestedAt !== undefined) return { phase: "deleting", note: r.deleteReason };
    if (s && r?.failedAt !== undefined) return { phase: "failed", note: r.failureReason };
    if (!s) {
        if (r?.launchInFlight || (r?.launchStartedAt !== undefined && !r.serverId)) {
            return { phase: "launching" };
        }
        if (r?.launchReturnedAt !== undefined && r.launchReturnedAt >= observedAt) {
            return { phase: "launching", note: "created; not listed yet" };
        }
        if (r?.launchUncertainAt !== undefined && r.launchUncertainAt >= observedAt) {
            return { phase: "launching", note: "create call outcome unknown" };
        }
        return { phase: "absent" };
    }
    if (s.status === "ERROR") return { phase: "failed", note: s.fault ?? "server in ERROR" };
    if (f.sched && isUp(f.sched)) {
        return f.sched.flags.has("drain") ? { phase: "draining" } : { phase: "ready" };
    }
    if (s.status !== "ACTIVE") return { phase: "booting", note: `server ${s.status}` };
    const silent = (since: number | undefined, cause: string): string | undefined =>
        since !== undefined && observedAt - since > silenceMs
            ? `no progress for ${Math.round((observedAt - since) / 60_000)} min: ${cause}`
            : undefined;
    if (s.minionId && keys.accepted.has(s.minionId)) {
        if (r?.configuredAt) return { phase: "configuring", note: "highstate done" };
        if (r?.startedAt !== undefined) {
            return {
                phase: "configuring",
                note: silent(r.startedAt, SALT_SILENCE_CAUSES.highstate),
            };
        }
        return {
            phase: "configuring",
            note: silent(r?.authSeenAt ?? s.createdAt, SALT_SILENCE_CAUSES.start),
        };
    }
    return {
        phase: "booting",
        note: silent(s.createdAt, SALT_SILENCE_CAUSES.auth) ?? "waiting for the Salt minion",
    };
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
    const listed = new Set(observation.servers.map((s) => s.node));
    const obsolete: string[] = [];
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
): boolean {
    if (entry.cause === "cooldown") return entry.until !== undefined && entry.until > input.now;
    if (entry.cause === "breaker") return input.breakerOpen;
    return !input.autoMode;
}

/** Decides. Pure: same input, same output. */
export function decide(input: PolicyInput): Decision {
    const { now, config, observation, records, requests } = input;
    const { keys } = observation;
    const snapshot = observation.scheduler;
    const actions: Action[] = [];
    const workers: WorkerView[] = [];

    const poolOf = new Map<string, WorkerPoolKind>();
    for (const n of config.names.static) poolOf.set(n, "static");
    for (const n of config.names.burst) poolOf.set(n, "burst");

    // Servers by node; servers no node accounts for are orphans.
    const byNode = new Map<string, ServerView[]>();
    const retired = new Map<string, ServerView[]>();
    const orphans: string[] = [];
    for (const server of observation.servers) {
        const node = server.node;
        if (node && poolOf.has(node) && (server.pool ?? poolOf.get(node)) === poolOf.get(node)) {
            const list = byNode.get(node) ?? [];
            list.push(server);
            byNode.set(node, list);
            continue;
        }
        // Pulumi owns the static pool: never delete its servers here.
        if (server.pool === "static") continue;
        // This service launched it for a burst node that workers.max no longer covers and that
        // Slurm still has (a node Slurm no longer has runs no job: an orphan like any other).
        if (node && server.pool === "burst" && !poolOf.has(node) && snapshot.nodes.has(node)) {
            const list = retired.get(node) ?? [];
            list.push(server);
            retired.set(node, list);
            continue;
        }
        orphans.push(server.id);
        const since = input.orphanSince?.get(server.id) ?? now;
        if (now - since >= config.orphanGraceMs) {
            actions.push({
                type: "delete",
                serverId: server.id,
                reason: `orphan: server ${server.name} belongs to no worker of this cluster`,
            });
        }
    }
    // Retired nodes: the scheduler may still run jobs there (they finish first).
    for (const name of snapshot.nodes.keys()) {
        if (!poolOf.has(name) && !retired.has(name)) retired.set(name, []);
    }
    const retiredViews: WorkerView[] = [];
    for (const [node, servers] of retired) {
        const view = retire(node, servers, snapshot.nodes.get(node)!, actions);
        if (view) retiredViews.push(view);
    }

    const goneNodes: string[] = [];
    const stopped: string[] = [];
    const cooling: string[] = [];
    const stopReason = !input.autoMode ? REASONS.autoOff : REASONS.breaker;

    for (const [node, pool] of poolOf) {
        const candidates = byNode.get(node) ?? [];
        const server = candidates.length ? keeperOf(candidates, keys) : undefined;
        const facts: NodeFacts = {
            node,
            pool,
            server,
            extras: candidates.filter((s) => s !== server),
            record: records.get(node),
            sched: snapshot.nodes.get(node),
        };
        const r = facts.record;
        const held = input.held.has(node);
        let { phase, note } = phaseOf(
            facts,
            keys,
            observation.at,
            input.config.saltSilenceMs ?? 180_000,
        );
        const launchedAt = r?.launchStartedAt ?? server?.createdAt;

        for (const extra of facts.extras) {
            if (pool === "static") continue;
            actions.push({
                type: "delete",
                node,
                serverId: extra.id,
                reason: `duplicate: ${node} already has server ${server!.id}`,
            });
        }

        const failing = r?.failedAt !== undefined || r?.deleteRequestedAt !== undefined;
        const fail = (kind: FailureKind, reason: string): void => {
            actions.push({ type: "fail", node, serverId: server?.id, kind, reason });
            phase = "failed";
            note = reason;
        };

        if (pool === "burst" && !facts.sched && !requests.has(node)) {
            // Not in the scheduler's listing: nothing is decided on a node it cannot vouch for.
            if (server) note = "not listed by the scheduler; kept as it is";
        } else if (pool === "burst") {
            const want = wantOf(facts.sched, requests.get(node));
            const request = requests.get(node);
            if (want === "up") {
                if (!server && phase === "absent") {
                    const poweringUp =
                        facts.sched?.flags.has("powering_up") || request?.want === "up";
                    const entry = input.unavailable.get(node);
                    const keptOut = entry !== undefined && stillUnavailable(entry, input);
                    if (!poweringUp) {
                        if (facts.sched && !keptOut) goneNodes.push(node);
                    } else if (keptOut) {
                        cooling.push(node);
                        note = entry!.reason;
                    } else if (!input.autoMode || input.breakerOpen) {
                        stopped.push(node);
                        note = input.autoMode
                            ? "launches stopped (breaker open)"
                            : "auto mode is off";
                    } else if (input.backoffUntil !== undefined && input.backoffUntil > now) {
                        note = `waiting: flavor backing off until ${new Date(input.backoffUntil).toISOString()}`;
                    } else {
                        actions.push({ type: "launch", node });
                        phase = "launching";
                    }
                } else if (server && !failing) {
                    const sched = facts.sched;
                    const wasRegistered =
                        sched !== undefined &&
                        !sched.flags.has("powering_up") &&
                        (sched.state === "down" || sched.flags.has("not_responding"));
                    if (server.status === "ERROR") {
                        const fault = server.fault ?? "no fault message";
                        fail(
                            errorFaultKind(fault),
                            `server ${server.name} went to ERROR: ${fault}`,
                        );
                    } else if (r?.configFailedAt !== undefined) {
                        fail(
                            "config-failed",
                            `the worker highstate failed${r.configFailureReason ? ` (${r.configFailureReason})` : ""}`,
                        );
                    } else if (phase === "ready" || phase === "draining") {
                        if (r?.unreachableSince !== undefined) {
                            actions.push({ type: "track-unreachable", node, since: undefined });
                        }
                    } else if (wasRegistered) {
                        // It registered once (Slurm no longer waits for it) and is unreachable now.
                        const since = r?.unreachableSince ?? now;
                        if (r?.unreachableSince === undefined) {
                            actions.push({ type: "track-unreachable", node, since });
                        }
                        if (now - since > config.downTimeoutMs) {
                            fail(
                                "unreachable",
                                `the scheduler could not reach it for ${Math.round(config.downTimeoutMs / 1000)} s`,
                            );
                        } else {
                            note = "unreachable since " + new Date(since).toISOString();
                        }
                    } else if (
                        launchedAt !== undefined &&
                        now - launchedAt > config.launchTimeoutMs
                    ) {
                        fail(
                            "launch-timeout",
                            `not ready ${Math.round(config.launchTimeoutMs / 1000)} s after launch (${phase})`,
                        );
                    }
                }
            } else if (server && !failing && !held) {
                if (request?.failed) {
                    fail(
                        "launch-timeout",
                        "the scheduler gave up waiting for it (ResumeFailProgram)",
                    );
                } else {
                    actions.push({
                        type: "delete",
                        node,
                        serverId: server.id,
                        reason: "the scheduler released it (suspend)",
                    });
                    phase = "deleting";
                }
            } else if (server && held) {
                note = "held: kept although the scheduler released it";
            }
        } else if (server?.status === "ERROR") {
            note = `server in ERROR (${server.fault ?? "no fault"}); \`pulumi up\` replaces it`;
        }

        const schedNow = facts.sched;
        if (
            server?.address &&
            server.status === "ACTIVE" &&
            schedNow &&
            schedNow.address !== server.address &&
            !schedNow.flags.has("powered_down") &&
            !schedNow.flags.has("powering_down") &&
            phase !== "failed" &&
            phase !== "deleting"
        ) {
            actions.push({ type: "set-address", node, address: server.address });
        }

        workers.push({
            node,
            pool,
            phase,
            activity:
                phase === "ready" || phase === "draining" ? activityOf(facts.sched) : "unknown",
            serverId: server?.id,
            serverStatus: server?.status,
            address: server?.address,
            minionId: server?.minionId ?? r?.minionId,
            keyState: keyStateOf(server?.minionId ?? r?.minionId, keys),
            schedulerState: schedulerStateText(facts.sched),
            launchedAt,
            held,
            note,
        });
    }

    workers.push(...retiredViews);
    if (goneNodes.length) {
        actions.push({ type: "mark-gone", nodes: goneNodes, reason: REASONS.serverGone });
    }
    if (stopped.length) {
        actions.push({
            type: "mark-gone",
            nodes: stopped,
            reason: stopReason,
            unavailable: input.autoMode ? "breaker" : "auto-off",
        });
    }
    for (const node of cooling) {
        actions.push({
            type: "mark-gone",
            nodes: [node],
            reason: input.unavailable.get(node)!.reason,
        });
    }
    // Nodes kept out of use are set down with their reason once powered down (Slurm resets the
    // state of a node it powers down, so not before); nodes whose reason is over go back.
    const settle = new Map<string, string[]>();
    const restore: string[] = [];
    const resume: string[] = [];
    for (const [node, entry] of input.unavailable) {
        const sched = snapshot.nodes.get(node);
        if (!stillUnavailable(entry, input)) {
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
    if (restore.length)
        actions.push({ type: "restore", nodes: restore.sort(), resume: resume.sort() });

    // Keys: those of workers that no longer exist, and rejected or denied keys of IDs that are
    // no worker of this cluster. Never the head's, never a live worker's, never an accepted or
    // pending key of an unknown ID (an admin may have added it), never a rejected or denied key
    // of an ID whose key is accepted (Salt keeps one per ID: an impersonation to look at).
    const liveMinions = new Set<string>();
    for (const server of observation.servers) if (server.minionId) liveMinions.add(server.minionId);
    for (const r of records.values()) if (r.minionId) liveMinions.add(r.minionId);
    // Of this cluster's naming: a node it has, or a burst node a lowered workers.max retired.
    const retiredName = (node: string): boolean =>
        config.burstPrefix !== undefined &&
        node.startsWith(`${config.burstPrefix}-`) &&
        /^[1-9][0-9]*$/.test(node.slice(config.burstPrefix.length + 1));
    const ours = (id: string): boolean => {
        const node = nodeNameOfMinionId(id);
        return isMinionId(id) && node !== undefined && (poolOf.has(node) || retiredName(node));
    };
    const stale = new Set<string>();
    for (const state of ["accepted", "pending", "rejected", "denied"] as const) {
        for (const id of keys[state]) {
            if (id === config.headMinionId || liveMinions.has(id) || !isSafeMinionId(id)) continue;
            if (ours(id)) stale.add(id);
            else if ((state === "rejected" || state === "denied") && !keys.accepted.has(id)) {
                stale.add(id);
            }
        }
    }
    if (stale.size) actions.push({ type: "remove-keys", minionIds: [...stale].sort() });

    // Remembered first keys: forgotten once the ID has no key in any state and no worker (keys
    // deleted out of band, servers gone), and beyond the bound, oldest first; a live worker's
    // entry is never forgotten (its next key would count as a first one).
    if (input.firstKeys?.length) {
        const hasKey = (id: string): boolean =>
            keys.accepted.has(id) ||
            keys.pending.has(id) ||
            keys.rejected.has(id) ||
            keys.denied.has(id);
        const forget = new Set<string>();
        const kept: string[] = [];
        for (const id of input.firstKeys) {
            if (liveMinions.has(id) || stale.has(id)) continue;
            if (hasKey(id)) kept.push(id);
            else forget.add(id);
        }
        const max = config.firstKeysMax ?? FIRST_KEYS_MAX;
        const remaining = input.firstKeys.filter((id) => !forget.has(id) && !stale.has(id));
        const excess = Math.min(remaining.length - max, kept.length);
        for (const id of kept.slice(0, Math.max(0, excess))) forget.add(id);
        if (forget.size) actions.push({ type: "forget-first-keys", minionIds: [...forget].sort() });
    }

    return { actions, workers, orphans };
}

/**
 * A node the scheduler still has but workers.max no longer covers (pure; pushes its actions):
 * drained first, whatever it runs; its servers are deleted once the scheduler shows it drained
 * and idle; a powered-up node without a server is released in the scheduler. Returns its view
 * while it still has a server.
 */
function retire(
    node: string,
    servers: ServerView[],
    sched: SchedulerNode,
    actions: Action[],
): WorkerView | undefined {
    const drained = sched.flags.has("drain");
    if (!drained) actions.push({ type: "drain", nodes: [node], reason: REASONS.retired });
    const busy = isBusy(sched);
    const deletable = drained && !busy;
    if (deletable) {
        for (const server of servers) {
            actions.push({
                type: "delete",
                node,
                serverId: server.id,
                reason: "retired: workers.max no longer covers it and it runs no job",
            });
        }
    }
    const poweredDown = sched.flags.has("powered_down") || sched.flags.has("powering_down");
    if (drained && !busy && !poweredDown) {
        // Its server is going (or gone): the scheduler must not wait for it.
        actions.push({ type: "mark-gone", nodes: [node], reason: REASONS.retired });
    }
    const server = servers[0];
    if (!server) return undefined;
    return {
        node,
        pool: "burst",
        phase: deletable ? "deleting" : "draining",
        activity: isUp(sched) ? activityOf(sched) : "unknown",
        serverId: server.id,
        serverStatus: server.status,
        address: server.address,
        minionId: server.minionId,
        schedulerState: schedulerStateText(sched),
        launchedAt: server.createdAt,
        held: false,
        note: busy
            ? "retired (workers.max lowered): drained, deleted once its jobs finish"
            : "retired (workers.max lowered): deleted",
    };
}
