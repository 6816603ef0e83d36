/**
 * The Dynamic Cluster service's core: one reconcile loop and the handlers of the local API.
 *
 * Crash-only: at start nothing is assumed; each round observes Nova (servers tagged for the
 * cluster), the scheduler (nodes and jobs) and Salt (keys), asks the pure policy what to do,
 * and carries it out. The only memory between rounds is what cannot be observed (launches in
 * flight, deletes asked, Salt events) plus the small persisted state (`store.ts`). Rounds never
 * overlap; a request from Slurm or Salt triggers a round at once. No error of a dependency
 * stops the loop: it is logged, reported by `status()`, and the next round tries again. That
 * holds for a round that throws as a whole too (say the state file cannot be written: ENOSPC):
 * the failure is logged with its error, counted (`status().failedRounds`, consecutive) and
 * listed under `errors.round`, and the loop goes on; nothing escapes as an unhandled rejection,
 * which would end the process without a word.
 *
 * A dependency that hangs instead of failing does not hold the loop either: the observation has
 * a budget (`tuning.round_budget`); a call still unanswered then is recorded as that source's
 * error ("Nova did not answer within N s") and the round ends, the call finishing in the
 * background with its result unused. The age of the last complete observation is reported
 * (`status().observationAgeSeconds`, the `observation_age` metric); once it is older than
 * 2 x reconcile_interval + round_budget it is listed as `errors.observation`, with one warning
 * event when it becomes stale and an info event when it is current again.
 */
import { Mutex, Semaphore } from "../lib/concurrency";
import { nodesInUseByPool, type NodesInUseFiles } from "./nodesInUse";
import { WorkerPoolIndex, workerPoolsOf } from "../lib/workerPools";
import { OpenStackApiError, OpenStackConfigError } from "../lib/openstack";
import {
    backoffUntil,
    anyBreakerOpen,
    breakerOf,
    breakerOpen,
    clearBackoff,
    recordBootFailure,
    recordBootSuccess,
    recordCapacityError,
    unclearedBackoffs,
} from "./breaker";
import type { WorkerCloud } from "./cloud";
import { breakerKeyOf, launchChoiceOf, poolBackoffUntil, type LaunchChoice } from "./poolLaunch";
import { ActionError, AdminActions } from "./actions";
import { BootTimes } from "./bootTimes";
import type { CarbonClient } from "./infra/carbon";
import type { IpSet } from "./infra/ipset";
import {
    beginLaunch,
    type NodeNames,
    type NodeRequest,
    type Observation,
    type WorkerRecord,
    type WorkerView,
} from "./model";
import { type Action, decide, type Decision, type FailureKind, obsoleteRecords } from "./policy";
import type { SaltKeyStore } from "./salt/keys";
import type { SchedulerAdapter, SchedulerJob } from "./scheduler/types";
import type { ServiceSettings } from "./settings";
import { SaltBridge } from "./salt/bridge";
import type { SaltJobs } from "./salt/jobs";
import type { StateStore } from "./store";

/** The log calls the service makes (pino's shape). */
export interface Logger {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
}

/** One line of the service's recent-events list (shown by the API and the dashboard). */
export interface ServiceEvent {
    at: number;
    level: "info" | "warn" | "error";
    node?: string;
    message: string;
}

/** What the service is built from. */
export interface ServiceDeps {
    settings: ServiceSettings;
    cloud: WorkerCloud;
    scheduler: SchedulerAdapter;
    keys: SaltKeyStore;
    store: StateStore;
    log: Logger;
    ipset?: IpSet;
    metrics?: CarbonClient;
    /** The master's job cache (highstate outcomes); none in tests that need no Salt. */
    jobs?: SaltJobs;
    /** Where the head's Salt state reads how many nodes of each pool are in use (nodesInUse.ts). */
    nodesInUse?: Pick<NodesInUseFiles, "write">;
    now?: () => number;
}

/** Outcome of a scheduler request. */
export interface RequestResult {
    accepted: string[];
    rejected: Array<{ node: string; reason: string }>;
}

/**
 * What the Salt bridge and the admin actions use of the service: its node names, settings and
 * clock, its worker memory through {@link ServiceCore.record} and {@link ServiceCore.workerRecords}
 * (never the map itself), and its lock, events and deletes. Their other collaborators (keys,
 * scheduler, state store, ...) are given to them at construction ({@link SaltBridgeDeps},
 * {@link AdminActionDeps}), not reached through the service.
 */
export interface ServiceCore {
    readonly names: NodeNames;
    readonly settings: ServiceSettings;
    /** The remembered workers, as a snapshot (changing the list changes nothing). */
    workerRecords(): WorkerRecord[];
    /** The remembered worker of `node`, if any (does not create one). */
    findRecord(node: string): WorkerRecord | undefined;
    now(): number;
    currentObservation(): Observation | undefined;
    workerView(node: string): WorkerView;
    record(node: string): WorkerRecord;
    withLock<T>(work: () => Promise<T>): Promise<T>;
    event(level: ServiceEvent["level"], message: string, node?: string): void;
    fault(source: string, err: unknown): void;
    kick(): void;
    startDelete(serverId: string, node: string | undefined, reason: string): void;
}

const MAX_EVENTS = 200;

/** A delete of a server Nova still lists is asked again after this long (ms). */
const DELETE_RETRY_MS = 60_000;

/** The service. */
export class DynamicClusterService implements ServiceCore {
    readonly names: NodeNames;
    /** The worker pools (the default one first) and which pool a node is in. */
    readonly pools: WorkerPoolIndex;
    /** Handlers of the events the Salt reactors forward. */
    readonly salt: SaltBridge;
    /** Admin actions (hold, release, drain, delete, auto mode, breaker reset). */
    readonly actions: AdminActions;
    readonly settings: ServiceSettings;
    readonly now: () => number;
    private readonly records = new Map<string, WorkerRecord>();
    private requests = new Map<string, NodeRequest>();
    private observation?: Observation;
    private decision?: Decision;
    /** When each server no worker accounts for was first seen so (the orphan grace). */
    private orphanSince = new Map<string, number>();
    /** Resumed nodes whose launch the last round deferred (autoscaler/handOff.ts). */
    private deferred: ReadonlySet<string> = new Set();
    /** Jobs handed off, while Slurm still lists them (never handed off twice). */
    private handedOff = new Set<string>();
    /** Measured create-to-usable times of this cluster's workers (the hand-off weighs them). */
    private readonly bootTimes = new BootTimes();
    /** When the service asked Nova to delete each server still listed (startDelete). */
    private readonly deletesAsked = new Map<string, number>();
    private readonly events: ServiceEvent[] = [];
    private readonly errors = new Map<string, { at: number; message: string }>();
    private readonly lock = new Mutex();
    private readonly launches: Semaphore;
    private readonly inFlight = new Set<Promise<unknown>>();
    private timer?: NodeJS.Timeout;
    private running?: Promise<void>;
    private rerun = false;
    private stopped = true;
    /** Rounds completed (tests wait on it). */
    rounds = 0;
    /** Rounds in a row that threw (0 after a round that completes). */
    private failedRounds = 0;
    /** When the service was built: the observation's age counts from here before the first. */
    private readonly createdAt: number;
    /** The observation was stale at the end of the last round (for the warn/info events). */
    private stale = false;

    constructor(readonly deps: ServiceDeps) {
        this.settings = deps.settings;
        this.now = deps.now ?? Date.now;
        this.createdAt = this.now();
        this.pools = new WorkerPoolIndex(workerPoolsOf(deps.settings));
        this.names = this.pools.nodeNames();
        this.launches = new Semaphore(deps.settings.tuning.launch_concurrency);
        this.salt = new SaltBridge(this, deps);
        this.actions = new AdminActions(this, deps);
        if (deps.store.recoveredFrom) {
            this.event(
                "error",
                `state file was unreadable; kept it as ${deps.store.recoveredFrom} and started from defaults`,
            );
        }
    }

    // ------------------------------------------------------------------ loop

    /** Starts the reconcile loop (first round at once). */
    start(): void {
        this.stopped = false;
        this.kick();
    }

    /** Stops the loop and waits for the running round and every operation in flight. */
    async stop(): Promise<void> {
        this.stopped = true;
        clearTimeout(this.timer);
        await this.running;
        await this.settle();
    }

    /** Waits for every launch and delete in flight. */
    async settle(): Promise<void> {
        while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    }

    /** Asks for a round as soon as possible (coalesces). */
    kick(): void {
        if (this.stopped) return;
        if (this.running) {
            this.rerun = true;
            return;
        }
        clearTimeout(this.timer);
        this.running = this.round()
            .catch((err: unknown) => this.roundFailed(err))
            .finally(() => {
                this.running = undefined;
                if (this.stopped) return;
                if (this.rerun) {
                    this.rerun = false;
                    this.kick();
                } else {
                    this.timer = setTimeout(
                        () => this.kick(),
                        this.settings.tuning.reconcile_interval * 1000,
                    );
                }
            });
    }

    /**
     * A round threw: logs it with the error every time (with the count in a row), records it
     * as the `round` error and, once per distinct message, as an event. The loop goes on; the
     * next round starts from a fresh observation.
     */
    private roundFailed(err: unknown): void {
        this.failedRounds++;
        const message = err instanceof Error ? err.message : String(err);
        this.deps.log.error(
            { err, failedRounds: this.failedRounds },
            `reconcile round failed (${this.failedRounds} in a row); the next round tries again`,
        );
        const previous = this.errors.get("round");
        if (previous?.message !== message)
            this.event("error", `reconcile round failed: ${message}`);
        this.errors.set("round", { at: previous?.at ?? this.now(), message });
    }

    /** Runs one round now (tests and the loop). */
    async round(): Promise<void> {
        const at = this.now();
        let observation: Observation;
        try {
            observation = await this.observe(at);
        } catch {
            this.noteObservationAge();
            return; // observe() recorded the error; the next round tries again
        }
        await this.lock.run(async () => {
            const requests = this.requests;
            this.requests = new Map();
            this.observation = observation;
            for (const node of obsoleteRecords(this.records, observation))
                this.records.delete(node);
            const listed = new Set(observation.servers.map((server) => server.id));
            for (const id of this.deletesAsked.keys())
                if (!listed.has(id)) this.deletesAsked.delete(id);
            this.bootTimes.observe(this.records.values());
            if (this.handedOff.size) {
                const listed = new Set(observation.scheduler.jobs.map((job) => job.id));
                this.handedOff = new Set([...this.handedOff].filter((id) => listed.has(id)));
            }
            const decision = decide({
                now: this.now(),
                config: {
                    names: this.names,
                    launchTimeoutMs: this.settings.workers.launch_timeout * 1000,
                    downTimeoutMs: this.settings.tuning.down_timeout * 1000,
                    orphanGraceMs: this.settings.tuning.orphan_grace * 1000,
                    saltSilenceMs: this.settings.tuning.salt_silence * 1000,
                    headMinionId: this.settings.head.minion_id,
                    burstPrefixes: this.pools.pools.map((p) => p.burstPrefix),
                    staticPrefixes: this.pools.pools.map((p) => p.staticPrefix),
                    poolOf: (node) => this.pools.poolOf(node)?.name,
                    allOrNothing: this.settings.tuning.all_or_nothing,
                    handOff: this.settings.tuning.hand_off,
                    expectedBootMs: this.bootTimes.median(),
                    roundMs: this.settings.tuning.reconcile_interval * 1000,
                },
                observation,
                records: this.records,
                requests,
                autoMode: this.deps.store.state.autoMode,
                breakerOpen: (node) => breakerOpen(this.deps.store.state, this.breakerKey(node)),
                backoffUntil: (node) => this.poolBackoffUntil(node),
                held: new Set(this.deps.store.state.held),
                unavailable: new Map(Object.entries(this.deps.store.state.unavailable)),
                orphanSince: this.orphanSince,
                firstKeys: Object.keys(this.deps.store.state.firstKeys),
                deferred: this.deferred,
                handedOff: this.handedOff,
            });
            this.deferred = new Set(decision.deferred);
            this.orphanSince = new Map(
                decision.orphans.map((id) => [id, this.orphanSince.get(id) ?? observation.at]),
            );
            this.noteTransitions(this.decision, decision);
            this.decision = decision;
            await this.execute(decision.actions);
            this.recordNodesInUse(observation);
        });
        this.noteObservationAge();
        await this.syncFirewall(observation).catch((err) => this.fault("firewall", err));
        this.salt.checkOverdueHighstates();
        this.salt.forgetGone(
            new Set(observation.servers.flatMap((s) => (s.minionId ? [s.minionId] : []))),
        );
        this.emitMetrics();
        this.rounds++;
        if (this.failedRounds > 0) {
            this.event("info", `reconcile rounds complete again after ${this.failedRounds} failed`);
            this.failedRounds = 0;
            this.errors.delete("round");
        }
    }

    /**
     * Observes Nova, the scheduler and Salt's keys at once, within `tuning.round_budget`. A
     * source that fails or does not answer in time is recorded as its error (cleared when it
     * answers again) and the observation fails; a late call goes on in the background, its
     * result (or error) unused. The OpenStack client takes no abort signal, so the budget races
     * the calls instead of cancelling them.
     */
    private async observe(at: number): Promise<Observation> {
        const budget = this.settings.tuning.round_budget;
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<"expired">((resolve) => {
            timer = setTimeout(() => resolve("expired"), budget * 1000);
        });
        const guard = async <T>(
            source: string,
            what: string,
            work: () => Promise<T>,
        ): Promise<T> => {
            // Never rejects, so a call that fails after the budget is no unhandled rejection.
            const settled = Promise.resolve()
                .then(work)
                .then(
                    (value) => ({ ok: true as const, value }),
                    (err: unknown) => ({ ok: false as const, err }),
                );
            const outcome = await Promise.race([settled, expired]);
            if (outcome === "expired") {
                const err = new Error(`${what} did not answer within ${budget} s`);
                this.fault(source, err);
                throw err;
            }
            if (!outcome.ok) {
                this.fault(source, outcome.err);
                throw outcome.err;
            }
            if (this.errors.delete(source)) this.event("info", `${source} answers again`);
            return outcome.value;
        };
        // Each source settles (answers, fails or runs out of budget) within the budget, so the
        // round waits for all three and every one's error is recorded in this round.
        const [servers, scheduler, keys] = await Promise.allSettled([
            guard("nova", "Nova", () => this.deps.cloud.list()),
            guard("scheduler", `The scheduler (${this.settings.scheduler})`, () =>
                this.deps.scheduler.snapshot(),
            ),
            guard("salt", "Salt's key directory", () => this.deps.keys.list()),
        ]).finally(() => clearTimeout(timer));
        const value = <T>(result: PromiseSettledResult<T>): T => {
            if (result.status === "rejected") throw result.reason;
            return result.value;
        };
        return { at, servers: value(servers), scheduler: value(scheduler), keys: value(keys) };
    }

    /** Age (ms) of the last complete observation; before the first, time since the start. */
    private observationAgeMs(): number {
        return this.now() - (this.observation?.at ?? this.createdAt);
    }

    /** Older than this (ms), the last complete observation is stale: 2 x interval + budget. */
    private staleLimitMs(): number {
        const t = this.settings.tuning;
        return (2 * t.reconcile_interval + t.round_budget) * 1000;
    }

    /** The `errors.observation` entry while the observation is stale. */
    private staleness(): { at: number; message: string } | undefined {
        const age = this.observationAgeMs();
        const limit = this.staleLimitMs();
        if (age <= limit) return undefined;
        const last = this.observation
            ? `the last complete observation is ${Math.floor(age / 1000)} s old`
            : `no complete observation in the ${Math.floor(age / 1000)} s since the start`;
        return {
            at: (this.observation?.at ?? this.createdAt) + limit,
            message: `${last} (stale after ${limit / 1000} s); see the other errors for the source that fails`,
        };
    }

    /**
     * After each round: sends the observation's age (`observation_age`, seconds) and says once
     * when the observation becomes stale (warn) and when it is current again (info).
     */
    private noteObservationAge(): void {
        const age = this.observationAgeMs();
        this.deps.metrics?.send("observation_age", Math.floor(age / 1000));
        const stale = this.staleness();
        if (stale && !this.stale) {
            this.event("warn", `observation is stale: ${stale.message}`);
        } else if (!stale && this.stale) {
            this.event("info", "observation is current again");
        }
        this.stale = stale !== undefined;
    }

    /** Records and logs a failure of `source` (once per distinct message). */
    fault(source: string, err: unknown): void {
        const message = err instanceof Error ? err.message : String(err);
        const previous = this.errors.get(source);
        if (previous?.message !== message) {
            this.deps.log.error({ source, err: message }, `${source} failed`);
            this.event("error", `${source}: ${message}`);
        }
        this.errors.set(source, { at: previous?.at ?? this.now(), message });
    }

    private noteTransitions(before: Decision | undefined, after: Decision): void {
        const previous = new Map(before?.workers.map((w) => [w.node, w]) ?? []);
        const succeeded = new Set<string | undefined>();
        for (const w of after.workers) {
            const old = previous.get(w.node);
            // A worker stuck at a Salt step: said once, with the likely causes (policy.ts).
            if (w.note?.startsWith("no progress") && !old?.note?.startsWith("no progress")) {
                this.event("warn", `${w.node} (${w.phase}): ${w.note}`, w.node);
            }
            // Ready is Slurm's word; the highstate's verdict is the job cache's and is recorded
            // when it is read, whichever comes first (salt/bridge.ts).
            if (w.phase === "ready" && old && old.phase !== "ready" && old.phase !== "draining") {
                succeeded.add(this.breakerKey(w.node));
                this.event("info", `${w.node} is ready`, w.node);
            }
        }
        for (const pool of succeeded) {
            if (breakerOf(this.deps.store.state, pool).consecutiveFailures > 0)
                this.deps.store.update((s) => recordBootSuccess(s, pool));
        }
    }

    /** Which breaker a node's failures count toward (autoscaler/poolLaunch.ts). */
    private breakerKey(node: string): string | undefined {
        return breakerKeyOf(this.pools, node);
    }

    // ------------------------------------------------------------------ actions

    /** The remembered workers, as a snapshot. */
    workerRecords(): WorkerRecord[] {
        return [...this.records.values()];
    }

    /** The remembered worker of `node`, if any. */
    findRecord(node: string): WorkerRecord | undefined {
        return this.records.get(node);
    }

    /** The memory of `node`, created when missing. */
    record(node: string): WorkerRecord {
        let r = this.records.get(node);
        if (!r) {
            r = { node };
            this.records.set(node, r);
        }
        return r;
    }

    private track<T>(work: Promise<T>): void {
        // Launches and deletes handle their own errors; what still escapes (a state write that
        // fails while recording a launch's outcome) is logged, not lost.
        const p = work
            .catch((err: unknown) => this.fault("background operation", err))
            .finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
    }

    private async execute(actions: Action[]): Promise<void> {
        for (const action of actions) {
            try {
                await this.executeOne(action);
            } catch (err) {
                this.fault(`action ${action.type}`, err);
            }
        }
    }

    private async executeOne(action: Action): Promise<void> {
        switch (action.type) {
            case "launch":
                this.startLaunch(action.node);
                return;
            case "delete":
                this.startDelete(action.serverId, action.node, action.reason, action.serverOnly);
                return;
            case "fail":
                await this.fail(action.node, action.serverId, action.kind, action.reason);
                return;
            case "set-address":
                await this.deps.scheduler.setAddress(action.node, action.address);
                return;
            case "drain":
                await this.deps.scheduler.drain(action.nodes, action.reason);
                this.event("info", `drained ${action.nodes.join(",")}: ${action.reason}`);
                return;
            case "mark-gone":
                if (action.unavailable) {
                    const cause = action.unavailable;
                    this.deps.store.update((s) => {
                        for (const node of action.nodes) {
                            s.unavailable[node] = {
                                cause,
                                reason: action.reason,
                                since: this.now(),
                            };
                        }
                    });
                }
                this.event(
                    "warn",
                    `told the scheduler to stop waiting for ${action.nodes.join(",")}: ${action.reason}`,
                );
                await this.deps.scheduler.markGone(action.nodes, action.reason);
                return;
            case "mark-unavailable":
                await this.deps.scheduler.markUnavailable(action.nodes, action.reason);
                this.deps.log.info(
                    { nodes: action.nodes, reason: action.reason },
                    "nodes kept out of use set down in the scheduler",
                );
                return;
            case "undrain":
                await this.deps.scheduler.resume(action.nodes);
                this.event(
                    "info",
                    `${action.nodes.join(",")} accept jobs again: the worker policy covers them again`,
                );
                return;
            case "restore":
                await this.deps.scheduler.resume(action.resume);
                this.deps.store.update((s) => {
                    for (const node of action.nodes) delete s.unavailable[node];
                });
                this.event("info", `gave ${action.nodes.join(",")} back to the scheduler`);
                return;
            case "remove-keys":
                for (const id of action.minionIds) await this.deps.keys.remove(id);
                this.deps.store.update((s) => {
                    for (const id of action.minionIds) delete s.firstKeys[id];
                });
                this.deps.log.info(
                    { minionIds: action.minionIds },
                    "removed keys of workers that are gone",
                );
                return;
            case "forget-first-keys":
                this.deps.store.update((s) => {
                    for (const id of action.minionIds) delete s.firstKeys[id];
                });
                this.deps.log.info(
                    { minionIds: action.minionIds },
                    "forgot the first keys of minion IDs that have no key and no worker left",
                );
                return;
            case "track-unreachable":
                this.record(action.node).unreachableSince = action.since;
                return;
            case "restore-weight":
                await this.deps.scheduler.restoreWeight(action.nodes);
                return;
            case "cancel-resume":
                await this.deps.scheduler.markGone([action.node], action.reason);
                this.event("info", `${action.node}: ${action.reason}`, action.node);
                return;
            case "hand-off": {
                const requeued = new Set(await this.deps.scheduler.handOff(action.jobs));
                // Asked for, whatever came of it: a job Slurm did not move is not asked again.
                for (const h of action.jobs) this.handedOff.add(h.job);
                for (const h of action.jobs) {
                    if (!requeued.has(h.job)) continue;
                    this.event(
                        "info",
                        `job ${h.job} waited for ${h.booting.join(",")} to boot while ` +
                            `${h.idle.join(",")} sat idle: put back in the queue to start there ` +
                            "(the booting nodes serve the next job)",
                    );
                }
                return;
            }
        }
    }

    /** Tells the head's Salt state how many nodes slurm.conf must keep (nodesInUse.ts). */
    private recordNodesInUse(observation: Observation): void {
        if (!this.deps.nodesInUse) return;
        try {
            this.deps.nodesInUse.write(
                nodesInUseByPool(this.pools.pools, observation.servers, this.records),
            );
        } catch (err) {
            this.fault("nodes in use", err);
        }
    }

    /** When launches for `node` may resume (autoscaler/poolLaunch.ts). */
    private poolBackoffUntil(node: string): number | undefined {
        return poolBackoffUntil(this.pools.poolOf(node), this.deps.store.state, this.now());
    }

    /** What a launch of `node` boots (autoscaler/poolLaunch.ts). */
    private launchChoice(node: string): LaunchChoice {
        return launchChoiceOf(
            this.pools.poolOf(node) ?? this.pools.pools[0]!,
            this.deps.store.state,
            this.now(),
            this.settings.tuning.fallback_retry * 1000,
        );
    }

    /** The flavor the node's current server was launched with (its pool's first if unknown). */
    private flavorOf(node: string): string {
        return (
            this.records.get(node)?.flavor ??
            (this.pools.poolOf(node) ?? this.pools.pools[0]!).flavors[0]!
        );
    }

    private startLaunch(node: string): void {
        const r = this.record(node);
        const minionId = this.deps.cloud.newMinionId(node);
        const choice = this.launchChoice(node);
        beginLaunch(r, minionId, this.now());
        r.flavor = choice.flavor;
        const pool = this.pools.poolOf(node);
        if (pool && choice.flavor !== pool.flavors[0]) {
            this.event(
                "info",
                `launching ${node} as ${choice.flavor}: ${pool.flavors
                    .slice(0, pool.flavors.indexOf(choice.flavor))
                    .join(", ")} backing off (no capacity or quota)`,
                node,
            );
        }
        this.track(
            this.launches.run(async () => {
                const started = this.now();
                try {
                    const id = await this.deps.cloud.launch(node, minionId, choice);
                    r.serverId = id;
                    r.launchReturnedAt = this.now();
                    this.deps.log.info(
                        { node, serverId: id, minionId, ms: this.now() - started },
                        "launched",
                    );
                    this.event("info", `launched ${node} (server ${id}, ${choice.flavor})`, node);
                    if (this.deps.store.state.backoffs[choice.flavor]) {
                        this.deps.store.update((s) => clearBackoff(s, choice.flavor, this.now()));
                    }
                    this.deps.metrics?.send("launches", 1);
                } catch (err) {
                    await this.launchFailed(node, r, err);
                } finally {
                    r.launchInFlight = false;
                    this.kick();
                }
            }),
        );
    }

    private async launchFailed(node: string, r: WorkerRecord, err: unknown): Promise<void> {
        const flavor = r.flavor ?? this.flavorOf(node);
        if (err instanceof OpenStackApiError) {
            const why = `${err.status} ${err.apiMessage}`;
            if (err.kind === "quota" || err.kind === "rate-limited") {
                r.launchStartedAt = undefined;
                let until = 0;
                this.deps.store.update((s) => {
                    until = recordCapacityError(s, this.protection(), flavor, why, this.now());
                });
                this.event(
                    "warn",
                    `cannot launch ${node}: ${why}; launches of ${flavor} resume at ${new Date(until).toISOString()}`,
                    node,
                );
                return;
            }
            if (err.status >= 500) {
                r.launchUncertainAt = this.now();
                this.event(
                    "warn",
                    `launch of ${node} failed with ${why}; a server may exist, checking`,
                    node,
                );
                return;
            }
            r.launchStartedAt = undefined;
            this.countFailure(node, "boot-error", `create call rejected: ${why}`);
            return;
        }
        if (err instanceof OpenStackConfigError) {
            // Found before any create call (say the image or flavor does not exist): nothing was
            // created, and the next launch would fail the same way, so it counts as a failure.
            r.launchStartedAt = undefined;
            this.countFailure(node, "boot-error", `cannot launch: ${err.message}`);
            return;
        }
        const message = err instanceof Error ? err.message : String(err);
        // Refused connection, refused TLS certificate (the handshake failed, so the request was
        // never sent), bad user-data: no server was created.
        const name = (err as { name?: string })?.name;
        if (
            /ECONNREFUSED/.test(message) ||
            name === "OpenStackTlsError" ||
            name === "UserDataError"
        ) {
            r.launchStartedAt = undefined;
            this.event("error", `cannot launch ${node}: ${message}`, node);
            if ((err as { name?: string })?.name === "UserDataError") {
                this.countFailure(node, "boot-error", message);
            }
            return;
        }
        // Reset, timeout: the server may have been created.
        r.launchUncertainAt = this.now();
        this.event(
            "warn",
            `launch of ${node} had no answer (${message}); a server may exist, checking`,
            node,
        );
    }

    private protection() {
        const t = this.settings.tuning;
        return {
            threshold: t.breaker_threshold,
            backoffBaseMs: t.backoff_base * 1000,
            backoffMaxMs: t.backoff_max * 1000,
        };
    }

    private countFailure(node: string, kind: FailureKind, reason: string): void {
        if (kind === "capacity" || kind === "quota") {
            const flavor = this.flavorOf(node);
            let until = 0;
            this.deps.store.update((s) => {
                until = recordCapacityError(s, this.protection(), flavor, reason, this.now());
            });
            this.event(
                "warn",
                `${node}: ${reason}; launches of ${flavor} resume at ${new Date(until).toISOString()}`,
                node,
            );
            return;
        }
        let opened = false;
        const pool = this.breakerKey(node);
        this.deps.store.update((s) => {
            opened = recordBootFailure(
                s,
                this.protection(),
                `${node}: ${reason}`,
                this.now(),
                pool,
            );
        });
        this.event("warn", `${node} failed: ${reason}`, node);
        if (opened) {
            const why = breakerOf(this.deps.store.state, pool).reason;
            const which = pool === undefined ? "launches" : `launches of pool ${pool}`;
            this.deps.log.error({ reason: why, pool }, `breaker open: ${which} stopped`);
            this.event(
                "error",
                `${which} stopped: ${why}. Fix the cause, then run \`dynamic-cluster breaker reset\`.`,
            );
        }
    }

    private async fail(
        node: string,
        serverId: string | undefined,
        kind: FailureKind,
        reason: string,
    ): Promise<void> {
        const r = this.record(node);
        if (r.failedAt !== undefined) return;
        r.failedAt = this.now();
        r.failureReason = reason;
        this.countFailure(node, kind, reason);
        this.deps.metrics?.send(`failures.${kind}`, 1);
        if (serverId) this.startDelete(serverId, node, `failed: ${reason}`);
        if (this.names.burst.includes(node)) {
            // The node cools down before Slurm may pick it again (other nodes take its jobs).
            const until = this.now() + this.settings.tuning.failure_cooldown * 1000;
            const text = `dynamic-cluster: boot failed (${reason}); retried after ${new Date(until).toISOString()}`;
            this.deps.store.update((s) => {
                s.unavailable[node] = {
                    cause: "cooldown",
                    reason: text.slice(0, 250),
                    since: this.now(),
                    until,
                };
            });
            await this.deps.scheduler.markGone([node], text.slice(0, 250));
        }
    }

    /**
     * Asks Nova to delete a server (in the background) and remembers why, in the node's memory
     * unless `serverOnly` (a server the node leaves behind, not its own).
     */
    startDelete(
        serverId: string,
        node: string | undefined,
        reason: string,
        serverOnly = false,
    ): void {
        // A delete Nova took is not asked again while the server is still listed (it may take a
        // while to go); a lost one is, after DELETE_RETRY_MS.
        const asked = this.deletesAsked.get(serverId);
        if (asked !== undefined && this.now() - asked < DELETE_RETRY_MS) return;
        if (node && !serverOnly) {
            const r = this.record(node);
            if (r.deleteRequestedAt !== undefined && r.serverId === serverId) return;
            r.deleteRequestedAt = this.now();
            r.deleteReason = reason;
        }
        this.deletesAsked.set(serverId, this.now());
        this.deps.log.info({ node, serverId, reason }, "deleting server");
        this.event("info", `deleting ${node ?? serverId}: ${reason}`, node);
        this.track(
            this.deps.cloud.delete(serverId).catch((err) => {
                this.deletesAsked.delete(serverId);
                if (node && !serverOnly) this.record(node).deleteRequestedAt = undefined;
                this.fault("nova delete", err);
            }),
        );
    }

    private async syncFirewall(observation: Observation): Promise<void> {
        if (!this.deps.ipset) return;
        const wanted = new Set<string>();
        for (const s of observation.servers) {
            if (
                s.address &&
                s.status === "ACTIVE" &&
                s.minionId &&
                observation.keys.accepted.has(s.minionId)
            ) {
                wanted.add(s.address);
            }
        }
        const { added, removed } = await this.deps.ipset.sync(wanted);
        if (added.length || removed.length) {
            this.deps.log.info(
                { added, removed, set: this.deps.ipset.name },
                "worker ipset updated",
            );
        }
    }

    private emitMetrics(): void {
        const metrics = this.deps.metrics;
        if (!metrics || !this.decision || !this.observation) return;
        const counts = new Map<string, number>();
        for (const w of this.decision.workers) {
            if (w.phase === "absent") continue;
            const key = w.phase === "ready" ? `ready_${w.activity}` : w.phase;
            counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        for (const phase of [
            "launching",
            "booting",
            "configuring",
            "ready_busy",
            "ready_idle",
            "draining",
            "deleting",
            "failed",
        ]) {
            metrics.send(`workers.${phase}`, counts.get(phase) ?? 0);
        }
        const jobs = this.observation.scheduler.jobs;
        metrics.send("jobs.pending", jobs.filter((j) => j.state === "pending").length);
        metrics.send("jobs.running", jobs.filter((j) => j.state === "running").length);
        metrics.send("breaker_open", anyBreakerOpen(this.deps.store.state) ? 1 : 0);
        // Per pool (the dashboard's "Workers per pool" graph): its workers that exist.
        if (this.pools.pools.length > 1) {
            const perPool = new Map(this.pools.pools.map((p) => [p.name, 0]));
            for (const w of this.decision.workers) {
                const pool = w.phase === "absent" ? undefined : this.pools.poolOf(w.node);
                if (pool) perPool.set(pool.name, perPool.get(pool.name)! + 1);
            }
            for (const [name, count] of perPool) metrics.send(`pools.${name}.workers`, count);
        }
    }

    /** Adds to the recent events (and the log). */
    event(level: ServiceEvent["level"], message: string, node?: string): void {
        this.events.push({ at: this.now(), level, node, message });
        if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
        if (level !== "error") this.deps.log[level]({ node }, message);
    }

    // ------------------------------------------------------------------ scheduler requests

    /**
     * Records what the scheduler asked for `nodes` (ResumeProgram: up; SuspendProgram: down;
     * ResumeFailProgram: down, failed) and starts a round. Nodes that are not burst nodes of
     * this cluster are refused.
     */
    request(want: "up" | "down", nodes: string[], failed = false): RequestResult {
        const result: RequestResult = { accepted: [], rejected: [] };
        const burst = new Set(this.names.burst);
        for (const node of nodes) {
            if (!burst.has(node)) {
                result.rejected.push({
                    node,
                    reason: this.names.static.includes(node)
                        ? "a static worker (workers.min belongs to Pulumi)"
                        : "not a burst node of this cluster",
                });
                continue;
            }
            this.requests.set(node, { want, at: this.now(), failed: failed || undefined });
            result.accepted.push(node);
        }
        if (result.rejected.length) {
            this.event(
                "warn",
                `scheduler request (${want}) refused for ${result.rejected.map((r) => r.node).join(",")}`,
            );
        }
        if (result.accepted.length) {
            this.deps.log.info({ want, failed, nodes: result.accepted }, "scheduler request");
            this.kick();
        }
        return result;
    }

    /** True once the first observation is done (before that, admission answers "retry"). */
    get observed(): boolean {
        return this.observation !== undefined;
    }

    /** The worker named `node` as of the last round. @throws ActionError when there is none. */
    workerView(node: string): WorkerView {
        const view = this.decision?.workers.find((w) => w.node === node);
        if (!view) throw new ActionError("not-found", `No worker named ${node}.`);
        return view;
    }

    /** The last observation, if any. */
    currentObservation(): Observation | undefined {
        return this.observation;
    }

    /** Runs `work` alone (no round and no other handler at the same time). */
    withLock<T>(work: () => Promise<T>): Promise<T> {
        return this.lock.run(work);
    }

    // ------------------------------------------------------------------ reports

    /** Workers, as of the last round, each with the name of its worker pool. */
    workers(): WorkerView[] {
        return (this.decision?.workers ?? []).map((w) => ({
            ...w,
            workerPool: this.pools.poolOf(w.node)?.name,
        }));
    }

    /** The pools as the status reports them. */
    private workerPoolReport(workers: readonly WorkerView[]) {
        const state = this.deps.store.state;
        return this.pools.pools.map((pool, i) => {
            const mine = workers.filter((w) => w.workerPool === pool.name && w.phase !== "absent");
            return {
                name: pool.name,
                flavors: pool.flavors,
                image: pool.image,
                min: pool.min,
                max: pool.max,
                workers: {
                    static: mine.filter((w) => w.pool === "static").length,
                    burst: mine.filter((w) => w.pool === "burst").length,
                },
                /** The pool's breaker (the default pool's is also `breaker` above). */
                breaker: (({ consecutiveFailures, openedAt, reason }) => ({
                    open: openedAt !== undefined,
                    consecutiveFailures,
                    ...(reason === undefined ? {} : { reason }),
                }))(
                    (i === 0 ? state.breaker : state.poolBreakers[pool.name]) ?? {
                        consecutiveFailures: 0,
                    },
                ),
                /** Flavors backing off after a capacity or quota fault, until when (ms). */
                backingOff: Object.fromEntries(
                    pool.flavors.flatMap((flavor) => {
                        const until = backoffUntil(state, flavor, this.now());
                        return until === undefined ? [] : [[flavor, until] as const];
                    }),
                ),
            };
        });
    }

    /** Jobs, as of the last round. */
    jobs(): SchedulerJob[] {
        return this.observation?.scheduler.jobs ?? [];
    }

    /** The service's state in one object. */
    status() {
        const state = this.deps.store.state;
        const stale = this.staleness();
        const workers = this.workers();
        const count = (pool: string) =>
            workers.filter((w) => w.pool === pool && w.phase !== "absent").length;
        return {
            cluster: this.settings.cluster,
            scheduler: this.settings.scheduler,
            autoMode: state.autoMode,
            observedAt: this.observation?.at,
            /**
             * Seconds since the last complete observation (since the start before the first);
             * past 2 x reconcile_interval + round_budget it is listed as `errors.observation`.
             */
            observationAgeSeconds: Math.floor(this.observationAgeMs() / 1000),
            rounds: this.rounds,
            /** Reconcile rounds in a row that threw; the reason is in `errors.round`. */
            failedRounds: this.failedRounds,
            breaker: {
                open: breakerOpen(state),
                consecutiveFailures: state.breaker.consecutiveFailures,
                threshold: this.settings.tuning.breaker_threshold,
                openedAt: state.breaker.openedAt,
                reason: state.breaker.reason,
            },
            /** The flavors' backoffs no launch has succeeded since. */
            backoffs: unclearedBackoffs(state),
            pools: {
                static: { size: this.names.static.length, workers: count("static") },
                burst: { size: this.names.burst.length, workers: count("burst") },
            },
            /** Each worker pool: its flavors (and which back off), floor, maximum and workers. */
            workerPools: this.workerPoolReport(workers),
            held: state.held,
            unavailable: state.unavailable,
            errors: Object.fromEntries([
                ...this.errors,
                ...(stale ? [["observation", stale] as const] : []),
            ]),
            inFlight: this.inFlight.size,
            metricsDropped: this.deps.metrics?.dropped ?? 0,
            /** Where this cluster's metrics are in Graphite (the dashboard's graphs read them). */
            metricsPrefix: this.deps.metrics?.prefix,
            salt: {
                /** Workers stuck at a Salt step for longer than tuning.salt_silence, and why. */
                silent: workers
                    .filter((w) => w.note?.startsWith("no progress"))
                    .map((w) => ({ node: w.node, phase: w.phase, note: w.note })),
                /** Stats events dropped (not signed by the worker's accepted key, or replayed). */
                droppedStats: this.salt.droppedStats,
                /** Metrics of signed stats refused: not the collector's names, or too many interfaces. */
                refusedMetrics: this.salt.refusedMetrics,
                /** Worker highstates the service published (one per minion start, rate-limited). */
                highstatesStarted: this.salt.highstatesStarted,
                /** Look-ups of those highstates in the master's job cache. */
                jobLookups: this.salt.jobLookups,
                /** Job-return hints for jobs the service did not start (ignored at no cost). */
                ignoredJobHints: this.salt.ignoredJobHints,
            },
        };
    }

    /** Recent events, newest last. */
    recentEvents(): ServiceEvent[] {
        return [...this.events];
    }
}
