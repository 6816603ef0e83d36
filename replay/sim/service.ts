/**
 * The Dynamic Cluster service in simulated time: the real policy (`decide()`'s actions, through
 * `decideActions()`, which skips the views of the nodes the API shows, and `obsoleteRecords()`,
 * from autoscaler/policy.ts; the breaker and backoff updates from autoscaler/breaker.ts; the
 * tuning defaults from autoscaler/settings.ts) driven by rounds, with the executor's bookkeeping
 * modelled on autoscaler/service.ts (launch, fail, delete, mark-gone, restore), and its worker
 * pools' launch gates and flavor choice from autoscaler/poolLaunch.ts (each pool's breaker and
 * backoff). Only the I/O is simulated: Nova, Slurm and Salt are the objects in this folder.
 *
 * Rounds run as the service runs them: at once when Slurm sends a request (`kick`), and every
 * `reconcile_interval` after the previous round. A round whose outcome cannot differ from the
 * previous one's is skipped: nothing changed since, the previous round asked for nothing, and no
 * deadline of the policy is running (no worker between launch and ready, no node kept out of use,
 * no backoff). The policy is pure, so skipping such a round changes nothing but the run time.
 *
 * A round where only jobs moved since the previous one (cores given to jobs or given back: a
 * node's idle, mixed or allocated state), or nothing at all while the service waits for an
 * admin (the breaker open), runs and counts but does not ask the policy when the previous round's
 * decision repeats: it asked for nothing, saw no orphan and no node in transit, no cooldown or
 * backoff was running, and no record becomes obsolete. Which cores run jobs is no input of the
 * policy's actions, orphans or phases except its hand-off (autoscaler/handOff.ts), which acts
 * only while a job waits for booting nodes (then nodes are in transit and the round runs anyway;
 * the skip checks it too), and nothing else it reads changed or runs out with time, so it would
 * decide the same again (15-45 % of the rounds on the 18,000-job NASA trace; all but
 * a few once the breaker is open). `checkSkips` asks the policy in those rounds anyway and fails
 * the replay if it decided anything new (the tests' proof, on traces, that skipping is exact).
 */
import {
    breakerOpen,
    backoffUntil,
    clearBackoff,
    recordBootFailure,
    recordBootSuccess,
    recordCapacityError,
} from "../../autoscaler/breaker";
import { BootTimes } from "../../autoscaler/bootTimes";
import { beginLaunch, type NodeRequest, type WorkerRecord } from "../../autoscaler/model";
import {
    decideActions,
    obsoleteRecords,
    type Action,
    type ActionDecision,
    type FailureKind,
    type PolicyConfig,
} from "../../autoscaler/policy";
import type { Tuning } from "../../lib/serviceSettings";
import { WorkerPoolIndex, type WorkerPoolSpec } from "../../lib/workerPools";
import { breakerKeyOf, launchChoiceOf, poolBackoffUntil } from "../../autoscaler/poolLaunch";
import { defaultState, type PersistedState } from "../../autoscaler/store";
import type { EventQueue } from "./queue";
import { QuotaExceeded, type SimNova } from "./nova";
import type { SimSlurm, SlurmChange } from "./slurm";

/** The worker pools and deadline of the simulated cluster. */
export interface ServiceShape {
    /**
     * The pools as the service reads them from its settings (lib/workerPools.ts), the default
     * one first: each one's static and burst node names come from its prefixes, min and max.
     */
    pools: readonly WorkerPoolSpec[];
    /** s */
    launchTimeout: number;
}

/** The service under simulation. */
export class SimService {
    private readonly records = new Map<string, WorkerRecord>();
    private requests = new Map<string, NodeRequest>();
    private readonly state: PersistedState = defaultState();
    private orphanSince = new Map<string, number>();
    /** Resumed nodes whose launch the last round deferred (the hand-off). */
    private deferred: ReadonlySet<string> = EMPTY;
    /** Jobs handed off (never twice; job IDs are never reused in a replay). */
    private readonly handedOff = new Set<string>();
    /** Measured create-to-usable times, as the service keeps them. */
    private readonly bootTimes = new BootTimes();
    private lastRoundAt = -Infinity;
    /** Something besides jobs changed since the last round. */
    private dirty = true;
    /** Jobs were given cores or gave them back since the last round. */
    private jobsMoved = false;
    /** The last round asked for something or had a deadline running. */
    private unsettled = true;
    /**
     * The last round's decision repeats while only jobs move: it asked for nothing, saw no
     * orphan (no grace period) and no node in transit (no launch deadline), and no cooldown or
     * backoff was running (nothing it read runs out with time).
     */
    private repeats = false;
    private roundQueued = false;
    private tickToken = 0;
    private minionSeq = 0;
    /** The burst nodes, for look-ups on every request and failure. */
    private readonly burst: ReadonlySet<string>;
    /** The pools, and which one a node is in. */
    private readonly pools: WorkerPoolIndex;
    /** Every pool's flavors (the backoffs a round's outcome may wait for). */
    private readonly flavors: readonly string[];
    /** The policy's settings (fixed for a replay: built once, not every round). */
    private config: PolicyConfig;
    rounds = 0;
    failures = 0;
    /** Time spent in the policy (decideActions()), ms: its own cost. */
    decideMs = 0;

    constructor(
        private readonly clock: EventQueue,
        shape: ServiceShape,
        private readonly tuning: Tuning,
        private readonly nova: SimNova,
        private readonly slurm: SimSlurm,
        /** Ask the policy in the rounds that skip it, and fail if it decided anything. */
        private readonly checkSkips = false,
    ) {
        this.pools = new WorkerPoolIndex(shape.pools);
        const names = this.pools.nodeNames();
        this.burst = new Set(names.burst);
        this.flavors = [...new Set(shape.pools.flatMap((p) => p.flavors))];
        this.config = {
            names,
            launchTimeoutMs: shape.launchTimeout * 1000,
            downTimeoutMs: tuning.down_timeout * 1000,
            orphanGraceMs: tuning.orphan_grace * 1000,
            saltSilenceMs: tuning.salt_silence * 1000,
            burstPrefixes: shape.pools.map((p) => p.burstPrefix),
            staticPrefixes: shape.pools.map((p) => p.staticPrefix),
            poolOf: (node) => this.pools.poolOf(node)?.name,
            allOrNothing: tuning.all_or_nothing,
            handOff: tuning.hand_off,
            roundMs: tuning.reconcile_interval * 1000,
        };
    }

    /** The policy's hand-off is on and a job waits for booting nodes. */
    private handOffMayApply(): boolean {
        return !!this.config.handOff && this.slurm.configuringCount > 0;
    }

    /** Slurm's ResumeProgram / SuspendProgram / ResumeFailProgram reached the local API. */
    request(node: string, want: "up" | "down", failed: boolean): void {
        if (!this.burst.has(node)) return;
        this.requests.set(node, { want, at: this.ms(), failed: failed || undefined });
        this.kick();
    }

    /** The Salt reactor reported a worker's highstate done and slurmd registered. */
    ready(node: string): void {
        const r = this.records.get(node);
        if (r) {
            r.configuredAt = this.ms();
            if (r.launchStartedAt !== undefined) {
                this.bootTimes.add(r.configuredAt - r.launchStartedAt);
                // The policy weighs boots by the measured median, as the service's rounds pass it.
                this.config = { ...this.config, expectedBootMs: this.bootTimes.median() };
            }
        }
        recordBootSuccess(this.state, breakerKeyOf(this.pools, node));
        this.changed();
    }

    /** Nova or Slurm changed: the next scheduled round must run. */
    changed(what: SlurmChange = "nodes"): void {
        if (what === "jobs") this.jobsMoved = true;
        else this.dirty = true;
        if (!this.unsettled) this.armTick();
    }

    /** True while the service still has something to do (the replay's end waits for it). */
    get busy(): boolean {
        return this.unsettled || this.roundQueued;
    }

    private kick(): void {
        if (this.roundQueued) return;
        this.roundQueued = true;
        this.clock.soon(() => this.round());
    }

    /** The next periodic round: the first one at or after now on the loop's grid. */
    private armTick(): void {
        const interval = this.tuning.reconcile_interval;
        const now = this.clock.now;
        const steps = Math.max(1, Math.ceil((now - this.lastRoundAt) / interval));
        const at = Number.isFinite(this.lastRoundAt) ? this.lastRoundAt + steps * interval : now;
        const token = ++this.tickToken;
        this.clock.at(at, () => {
            if (token === this.tickToken) this.kick();
        });
    }

    private ms(): number {
        return this.clock.now * 1000;
    }

    private round(): void {
        this.roundQueued = false;
        this.tickToken++;
        this.lastRoundAt = this.clock.now;
        // Only jobs moved (or nothing) since the last round.
        const quiet = !this.dirty && !this.requests.size;
        if (quiet && !this.unsettled && !this.jobsMoved) return;
        this.dirty = false;
        this.jobsMoved = false;
        this.rounds++;
        const at = this.ms();
        const servers = this.nova.list();
        const obsolete = obsoleteRecords(this.records, { at, servers });
        // The policy would decide what it decided last round: the round counts, keeps the
        // schedule (above), and skips it.
        // Unless a job waits for booting nodes: then which nodes jobs hold is an input (a job
        // that ended may leave idle nodes to hand the waiting one to).
        const repeat = quiet && this.repeats && !obsolete.length && !this.handOffMayApply();
        if (repeat && !this.checkSkips) {
            if (this.unsettled) this.armTick();
            return;
        }
        const observation = {
            at,
            servers,
            scheduler: {
                takenAt: at,
                nodes: this.slurm.snapshot(),
                // Running jobs only matter when a boot can be weighed against their ends.
                jobs: this.config.handOff
                    ? this.slurm.jobViews(this.config.expectedBootMs !== undefined)
                    : [],
            },
            keys: {
                accepted: this.nova.accepted,
                pending: EMPTY,
                rejected: EMPTY,
                denied: EMPTY,
            },
        };
        const requests = this.requests;
        this.requests = new Map();
        for (const node of obsolete) this.records.delete(node);
        const started = performance.now();
        const decision = decideActions({
            now: at,
            config: this.config,
            observation,
            records: this.records,
            requests,
            autoMode: this.state.autoMode,
            breakerOpen: (node) => breakerOpen(this.state, breakerKeyOf(this.pools, node)),
            backoffUntil: (node) => poolBackoffUntil(this.pools.poolOf(node), this.state, at),
            held: EMPTY,
            unavailable: new Map(Object.entries(this.state.unavailable)),
            orphanSince: this.orphanSince,
            deferred: this.deferred,
            handedOff: this.handedOff,
        });
        this.decideMs += performance.now() - started;
        if (repeat && !repeats(decision, this.state, at, this.flavors)) {
            throw new Error(
                `internal: at ${at / 1000} s, the policy decided something new after only jobs moved: ${JSON.stringify(decision)}`,
            );
        }
        this.repeats = repeats(decision, this.state, at, this.flavors);
        this.deferred = decision.deferred.length ? new Set(decision.deferred) : EMPTY;
        this.orphanSince = new Map(
            decision.orphans.map((id) => [id, this.orphanSince.get(id) ?? at]),
        );
        for (const action of decision.actions) this.execute(action);
        this.unsettled = unsettled(decision, this.state, at, this.flavors);
        // Actions change Nova and Slurm; those changes are what the next round observes.
        this.dirty = decision.actions.length > 0;
        if (this.unsettled || this.dirty) this.armTick();
    }

    private record(node: string): WorkerRecord {
        let r = this.records.get(node);
        if (!r) {
            r = { node };
            this.records.set(node, r);
        }
        return r;
    }

    /** The executor (autoscaler/service.ts executeOne), with Nova and Slurm simulated. */
    private execute(action: Action): void {
        const at = this.ms();
        switch (action.type) {
            case "launch": {
                const r = this.record(action.node);
                const minionId = `${action.node}-${(++this.minionSeq).toString(36)}`;
                const { flavor } = launchChoiceOf(
                    this.pools.poolOf(action.node) ?? this.pools.pools[0]!,
                    this.state,
                    at,
                    this.tuning.fallback_retry * 1000,
                );
                beginLaunch(r, minionId, at);
                r.flavor = flavor;
                try {
                    r.serverId = this.nova.create(action.node, minionId, "burst");
                    r.launchReturnedAt = at;
                    clearBackoff(this.state, flavor, at);
                } catch (err) {
                    if (!(err instanceof QuotaExceeded)) throw err;
                    r.launchStartedAt = undefined;
                    recordCapacityError(this.state, this.protection(), flavor, err.message, at);
                } finally {
                    r.launchInFlight = false; // the simulated create call answers at once
                }
                return;
            }
            case "delete":
                this.startDelete(action.serverId, action.node, action.reason);
                return;
            case "fail":
                this.fail(action.node, action.serverId, action.kind, action.reason);
                return;
            case "mark-gone":
                if (action.unavailable) {
                    for (const node of action.nodes) {
                        this.state.unavailable[node] = {
                            cause: action.unavailable,
                            reason: action.reason,
                            since: at,
                        };
                    }
                }
                this.slurm.powerDownForce(action.nodes);
                return;
            case "mark-unavailable":
                this.slurm.setDown(action.nodes);
                return;
            case "restore":
                this.slurm.resume(action.resume);
                for (const node of action.nodes) delete this.state.unavailable[node];
                return;
            case "track-unreachable":
                this.record(action.node).unreachableSince = action.since;
                return;
            case "hand-off":
                for (const h of action.jobs) this.handedOff.add(h.job);
                this.slurm.handOff(action.jobs.map((h) => h.job));
                return;
            case "restore-weight":
                // The simulated Slurm ranks booting nodes after idle ones by itself.
                return;
            case "cancel-resume":
                this.slurm.powerDownForce([action.node]);
                return;
            case "drain":
            case "undrain":
            case "set-address":
            case "remove-keys":
            case "forget-first-keys":
                // No retired nodes (workers.max is fixed in a replay), addresses and keys are
                // kept by the simulated Nova itself.
                return;
        }
    }

    private protection() {
        return {
            threshold: this.tuning.breaker_threshold,
            backoffBaseMs: this.tuning.backoff_base * 1000,
            backoffMaxMs: this.tuning.backoff_max * 1000,
        };
    }

    private fail(
        node: string,
        serverId: string | undefined,
        kind: FailureKind,
        reason: string,
    ): void {
        const r = this.record(node);
        if (r.failedAt !== undefined) return;
        const at = this.ms();
        r.failedAt = at;
        r.failureReason = reason;
        this.failures++;
        if (kind === "capacity" || kind === "quota") {
            const flavor = r.flavor ?? this.pools.poolOf(node)?.flavors[0] ?? this.flavors[0]!;
            recordCapacityError(this.state, this.protection(), flavor, reason, at);
        } else {
            recordBootFailure(
                this.state,
                this.protection(),
                `${node}: ${reason}`,
                at,
                breakerKeyOf(this.pools, node),
            );
        }
        if (serverId) this.startDelete(serverId, node, `failed: ${reason}`);
        if (this.burst.has(node)) {
            const until = at + this.tuning.failure_cooldown * 1000;
            this.state.unavailable[node] = { cause: "cooldown", reason, since: at, until };
            this.slurm.powerDownForce([node]);
        }
    }

    private startDelete(serverId: string, node: string | undefined, reason: string): void {
        if (node) {
            const r = this.record(node);
            if (r.deleteRequestedAt !== undefined && r.serverId === serverId) return;
            r.deleteRequestedAt = this.ms();
            r.deleteReason = reason;
        }
        this.nova.delete(serverId);
    }
}

const EMPTY: ReadonlySet<string> & Set<string> = new Set<string>();

/**
 * True when a decision is one the policy gives again, as long as only jobs move (which cores run
 * jobs is no input of its actions, orphans or phases): it asked for nothing, saw no orphan and no
 * node in transit, and no node cools down and no flavor backs off (the deadlines the policy
 * reads from the state).
 */
function repeats(
    decision: ActionDecision,
    state: PersistedState,
    at: number,
    flavors: readonly string[],
): boolean {
    if (decision.actions.length || decision.orphans.length || decision.inTransit > 0) return false;
    for (const entry of Object.values(state.unavailable)) {
        if (entry.cause === "cooldown") return false;
    }
    return !backingOff(state, at, flavors);
}

/** True while one of `flavors` backs off. */
function backingOff(state: PersistedState, at: number, flavors: readonly string[]): boolean {
    return flavors.some((flavor) => backoffUntil(state, flavor, at) !== undefined);
}

/**
 * True when a round may decide differently later with nothing else changing: it asked for
 * something, a worker is between launch and ready (launch deadline), a node is kept out of use
 * (cooldown) or a flavor is backing off.
 */
function unsettled(
    decision: ActionDecision,
    state: PersistedState,
    at: number,
    flavors: readonly string[],
): boolean {
    if (decision.actions.length) return true;
    if (Object.keys(state.unavailable).length) return true;
    if (backingOff(state, at, flavors)) return true;
    return decision.inTransit > 0;
}
