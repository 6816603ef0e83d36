/**
 * The Salt bridge: what the service does with the events the reactors forward to its local API.
 *
 * Events are claims, not facts. A minion can make the master fire any event, with any tag and
 * any `id` in its data (batched `event.send ... preload={"events": [...]}` is fired as is), so
 * the service decides only on what the master itself verified:
 * - `salt/auth`: only when the master's pending-key file for the ID is byte for byte the key the
 *   event presents (the master writes it while authenticating; an event alone cannot) is the key
 *   recorded as the ID's first key and the admission rule (`auth.ts`) applied; a mismatch or a
 *   missing file is ignored (and logged), never held against the genuine minion;
 * - minion start: only for an ID whose key the master holds as accepted;
 * - highstate outcome: only from the master's job cache (`jobs.ts`), where returns arrive through
 *   the master's authenticated request channel. `salt/job/.../ret/...` and the worker's own
 *   ready/failed events only say where to look; a highstate that failed to compile (so sent no
 *   event at all) fails the worker as soon as its return is in the cache;
 * - stats: only when signed with the key the master accepted for the ID (`stats.ts`), else
 *   dropped and counted.
 * IDs that are not valid file names (`../../etc/evil`, spaces, quotes) are refused before any look-up.
 */
import { Mutex } from "../../lib/concurrency";
import { nodeNameOfMinionId } from "../../lib/minionId";
import { metricComponent } from "../infra/carbon";
import type { ServiceCore, ServiceDeps } from "../service";

/** What the bridge works with besides the service core. */
export type SaltBridgeDeps = Pick<ServiceDeps, "keys" | "jobs" | "store" | "log" | "metrics" | "scheduler">;
import { type AdmissionCandidate, type AuthDecision, type AuthEvent, decideAuth } from "./auth";
import type { WorkerRecord } from "../model";
import { HIGHSTATE_FUNCTIONS, highstateVerdict, type HighstateVerdict } from "./jobs";
import { isSafeMinionId, keyDigest, KeyError, normalizeKey } from "./keys";
import { collectorMetrics, type SignedStats, verifySignedStats } from "./stats";

/** A look-up of one minion's highstate is made at most this often (ms). */
const HIGHSTATE_CHECK_INTERVAL_MS = 5_000;

/**
 * A worker's highstate is started again on a minion start at most this often (ms): a restarted
 * minion is configured again, a forged start event costs one highstate per worker per interval.
 */
export const HIGHSTATE_RESTART_INTERVAL_MS = 5 * 60_000;

/** Handlers of the Salt events. */
export class SaltBridge {
    /** Stats dropped because they were not signed by the minion (claims of another ID, replays). */
    droppedStats = 0;
    /** Newest stats time accepted per minion (replays are older). */
    private readonly lastStats = new Map<string, number>();
    /** The network interfaces each minion's stats were written for (at most MAX_INTERFACES). */
    private readonly interfaces = new Map<string, Set<string>>();
    /** Metrics refused since the start: not the collector's names, or too many interfaces. */
    refusedMetrics = 0;
    /** Highstates published since the start. */
    highstatesStarted = 0;
    /** Job-cache look-ups made since the start. */
    jobLookups = 0;
    /** Job-return hints for jobs the service did not start (or already decided on). */
    ignoredJobHints = 0;
    /** Highstates waiting to be published, by node (the newest minion ID of each). */
    private readonly pendingStarts = new Map<string, string>();
    /** One `salt --async` at a time. */
    private readonly publishing = new Mutex();
    /** Job IDs waiting to be looked up, each once. */
    private readonly lookups = new Set<string>();
    /** One job-cache look-up (`salt-run`) at a time. */
    private readonly lookingUp = new Mutex();

    constructor(
        private readonly core: ServiceCore,
        private readonly deps: SaltBridgeDeps,
    ) {}

    private candidates(): AdmissionCandidate[] {
        const out: AdmissionCandidate[] = [];
        const seen = new Set<string>();
        for (const r of this.core.workerRecords()) {
            if (!r.minionId || r.launchStartedAt === undefined) continue;
            seen.add(r.minionId);
            out.push({
                node: r.node,
                minionId: r.minionId,
                launchedAt: r.launchStartedAt,
                pool: "burst",
                leaving: r.deleteRequestedAt !== undefined || r.failedAt !== undefined,
            });
        }
        for (const s of this.core.currentObservation()?.servers ?? []) {
            if (!s.minionId || !s.node || seen.has(s.minionId)) continue;
            const pool = this.core.names.static.includes(s.node)
                ? "static"
                : this.core.names.burst.includes(s.node)
                  ? "burst"
                  : undefined;
            // A server's pool tag must agree with its name's pool (lib/tags.ts, policy.ts).
            if (!pool || s.pool !== pool) continue;
            if (nodeNameOfMinionId(s.minionId) !== s.node) continue;
            const r = this.core.findRecord(s.node);
            out.push({
                node: s.node,
                minionId: s.minionId,
                launchedAt: s.createdAt,
                pool,
                leaving:
                    s.status === "ERROR" ||
                    s.retiring === true ||
                    r?.deleteRequestedAt !== undefined ||
                    r?.failedAt !== undefined,
            });
        }
        return out;
    }

    private nodeOfMinion(minionId: string): string | undefined {
        return this.candidates().find((c) => c.minionId === minionId)?.node;
    }

    /** The key the master holds for `id` in `state`, or undefined. */
    private async keyOf(state: "pending" | "accepted", id: string): Promise<string | undefined> {
        try {
            return await this.deps.keys.read(state, id);
        } catch (err) {
            if (err instanceof KeyError) return undefined;
            throw err;
        }
    }

    /**
     * Decides on a `salt/auth` event and carries the decision out on the master's keys.
     * Returns `retry` before the first observation (the minion re-authenticates every 10 s).
     */
    async handleAuth(
        event: AuthEvent,
    ): Promise<AuthDecision | { action: "retry"; reason: string }> {
        if (!isSafeMinionId(event.id)) {
            const reason = `${JSON.stringify(event.id.slice(0, 80))} is not a minion ID Salt accepts`;
            this.deps.log.warn({ reason }, "auth event refused");
            return { action: "ignore", reason };
        }
        if (!this.core.currentObservation())
            return { action: "retry", reason: "the service has not observed the cluster yet" };
        return this.core.withLock(async () => {
            if (event.act === "pend") {
                // The master's own record of the authentication: an event cannot write it.
                const pending = await this.keyOf("pending", event.id);
                const reason =
                    pending === undefined
                        ? `the master holds no pending key for ${event.id}`
                        : normalizeKey(pending) !== normalizeKey(event.pub)
                          ? `the event's key for ${event.id} is not the key the master holds`
                          : undefined;
                if (reason) {
                    this.deps.log.warn(
                        { minionId: event.id, reason },
                        "auth event ignored: not backed by the master's key directory (a forged event?)",
                    );
                    return { action: "ignore" as const, reason };
                }
            }
            const digest = keyDigest(event.pub);
            const candidates = this.candidates();
            const candidate = candidates.find((c) => c.minionId === event.id);
            if (candidate && event.act === "pend") {
                this.core.record(candidate.node).authSeenAt ??= this.core.now();
                if (this.deps.store.state.firstKeys[event.id] === undefined) {
                    this.deps.store.update((s) => {
                        s.firstKeys[event.id] = digest;
                    });
                }
            }
            const alreadyAccepted = (await this.keyOf("accepted", event.id)) !== undefined;
            const decision = decideAuth({
                event,
                candidates,
                alreadyAccepted,
                firstKeyDigest: this.deps.store.state.firstKeys[event.id],
                presentedKeyDigest: digest,
                now: this.core.now(),
                launchTimeoutMs: this.core.settings.workers.launch_timeout * 1000,
            });
            if (decision.action === "accept") {
                try {
                    await this.deps.keys.accept(event.id, event.pub);
                } catch (err) {
                    // Gone or swapped between the check and the rename: the minion tries again.
                    if (err instanceof KeyError) return { action: "retry" as const, reason: err.message };
                    throw err;
                }
                this.core.event(
                    "info",
                    `accepted the Salt key of ${decision.node} (${event.id})`,
                    decision.node,
                );
                this.core.kick();
                return decision;
            }
            if (decision.action === "reject") {
                const moved = await this.deps.keys.reject(event.id).catch(() => false);
                this.deps.log.warn(
                    { minionId: event.id, reason: decision.reason, moved },
                    "rejected a Salt key",
                );
                this.core.event("warn", `rejected the Salt key of ${event.id}: ${decision.reason}`);
            } else {
                this.deps.log.info(
                    { minionId: event.id, reason: decision.reason },
                    "auth event ignored",
                );
            }
            return decision;
        });
    }

    /**
     * `salt/minion/<id>/start`: a minion (re)started. Only for a worker whose key the master
     * accepted does the service start its highstate itself, at most one at a time and at most
     * once per {@link HIGHSTATE_RESTART_INTERVAL_MS} (the start reactor no longer runs it: an
     * event's text never chooses a target, and a forged start costs at most that). Answers at
     * once; the highstate is published in the background, one at a time.
     */
    async handleStart(minionId: string): Promise<{ node?: string; highstate?: "queued" | "running" | "recent" }> {
        const node = this.nodeOfMinion(minionId);
        if (!node || !isSafeMinionId(minionId)) {
            this.deps.log.warn({ minionId }, "start event from a minion that is not a worker");
            return {};
        }
        if ((await this.keyOf("accepted", minionId)) === undefined) {
            this.deps.log.warn(
                { minionId },
                "start event ignored: the master has not accepted this minion's key",
            );
            return {};
        }
        const r = this.core.record(node);
        const now = this.core.now();
        if (r.highstate?.minionId !== minionId) {
            // Another server under this node's name (the floor's are replaced in place).
            Object.assign(r, { configuredAt: undefined, configFailedAt: undefined, highstate: undefined });
        }
        r.startedAt = now;
        const last = r.highstate;
        const running =
            last !== undefined &&
            r.configuredAt === undefined &&
            r.configFailedAt === undefined &&
            now - last.requestedAt < this.core.settings.workers.launch_timeout * 1000;
        if (running) return { node, highstate: "running" };
        if (last !== undefined && now - last.requestedAt < HIGHSTATE_RESTART_INTERVAL_MS) {
            this.deps.log.info({ node, minionId }, "start event: a highstate ran less than 5 minutes ago");
            return { node, highstate: "recent" };
        }
        this.core.event("info", `${node}: minion started, highstate queued`, node);
        this.queueHighstate(node, minionId);
        return { node, highstate: "queued" };
    }

    /** Publishes the highstate of `node`'s minion `minionId`, after those queued before it. */
    private queueHighstate(node: string, minionId: string): void {
        const jobs = this.deps.jobs;
        if (!jobs || this.pendingStarts.get(node) === minionId) return;
        this.pendingStarts.set(node, minionId);
        void this.publishing.run(async () => {
            if (this.pendingStarts.get(node) !== minionId) return; // a newer minion took over
            this.pendingStarts.delete(node);
            const r = this.core.findRecord(node);
            // The worker went away, or another server took the name, while this waited.
            if (!r || this.nodeOfMinion(minionId) !== node) return;
            try {
                const jid = await jobs.startHighstate(minionId);
                r.highstate = { minionId, jid, requestedAt: this.core.now() };
                this.highstatesStarted++;
                this.deps.log.info({ node, minionId, jid }, "highstate started");
            } catch (err) {
                this.core.fault("salt highstate", err);
            }
        });
    }

    /** The worker whose current highstate is job `jid`, if any. */
    private recordOfJob(jid: string): WorkerRecord | undefined {
        return this.core.workerRecords().find((r) => r.highstate?.jid === jid);
    }

    /**
     * `salt/job/<jid>/ret/<id>` of a state run: a hint that a highstate the service started may
     * have returned. Only such a job is looked up (in the master's cache, later, one look-up at a
     * time); any other job ID costs nothing, whoever sends it.
     */
    handleJobReturn(jid: string): { node?: string; lookup: boolean } {
        const r = this.recordOfJob(jid);
        if (!r || r.configuredAt !== undefined || r.configFailedAt !== undefined) {
            this.ignoredJobHints++;
            return { lookup: false };
        }
        this.lookUp(jid);
        return { node: r.node, lookup: true };
    }

    /**
     * A worker says its highstate ended (`dynamic-cluster/worker/ready|failed`): a hint to look
     * its current highstate up in the job cache.
     */
    handleWorkerOutcome(minionId: string): { node?: string } {
        const node = this.nodeOfMinion(minionId);
        if (!node || !isSafeMinionId(minionId)) {
            this.deps.log.warn({ minionId }, "highstate outcome from a minion that is not a worker");
            return {};
        }
        const jid = this.core.findRecord(node)?.highstate?.jid;
        if (jid) this.lookUp(jid);
        return { node };
    }

    /** Queues a look-up of job `jid` (once while queued); look-ups run one at a time. */
    private lookUp(jid: string): void {
        if (!this.deps.jobs || this.lookups.has(jid)) return;
        this.lookups.add(jid);
        void this.lookingUp.run(async () => {
            this.lookups.delete(jid);
            await this.checkHighstate(jid);
        });
    }

    /** Forgets what it kept per minion for minions no server has any more (after each round). */
    forgetGone(live: ReadonlySet<string>): void {
        for (const map of [this.lastStats, this.interfaces]) {
            for (const id of map.keys()) if (!live.has(id)) map.delete(id);
        }
    }

    /** Resolves once every highstate queued and every look-up queued so far is done (tests). */
    async idle(): Promise<void> {
        await this.publishing.run(async () => undefined);
        await this.lookingUp.run(async () => undefined);
    }

    /** Reads job `jid` from the cache (at most every 5 s per worker) and applies its verdict. */
    private async checkHighstate(jid: string): Promise<void> {
        const r = this.recordOfJob(jid);
        const hs = r?.highstate;
        if (!r || !hs || r.configuredAt !== undefined || r.configFailedAt !== undefined) return;
        const now = this.core.now();
        if (r.highstateCheckedAt !== undefined && now - r.highstateCheckedAt < HIGHSTATE_CHECK_INTERVAL_MS)
            return;
        r.highstateCheckedAt = now;
        this.jobLookups++;
        let job;
        try {
            job = await this.deps.jobs!.job(jid);
        } catch (err) {
            this.core.fault("salt jobs", err);
            return;
        }
        const ret = job && HIGHSTATE_FUNCTIONS.has(job.function) ? job.results.get(hs.minionId) : undefined;
        if (ret) await this.applyVerdict(r.node, hs.minionId, highstateVerdict(ret), jid);
    }

    /**
     * Workers whose highstate the service started a while ago and whose outcome has not arrived:
     * looked up in the job cache (a lost job-return event must not leave a worker waiting out its
     * launch deadline). Called after each round.
     */
    checkOverdueHighstates(): void {
        const now = this.core.now();
        for (const r of this.core.workerRecords()) {
            const hs = r.highstate;
            if (
                hs &&
                r.configuredAt === undefined &&
                r.configFailedAt === undefined &&
                now - hs.requestedAt > 30_000 &&
                (r.highstateCheckedAt === undefined || now - r.highstateCheckedAt > 30_000)
            ) {
                this.lookUp(hs.jid);
            }
        }
    }

    private async applyVerdict(
        node: string,
        minionId: string,
        verdict: HighstateVerdict,
        jid: string,
    ): Promise<void> {
        const r = this.core.record(node);
        if (r.configuredAt !== undefined || r.configFailedAt !== undefined) return;
        if (verdict.ok) {
            r.configuredAt = this.core.now();
            this.core.event("info", `${node}: highstate done (job ${jid})`, node);
            const server = this.core.currentObservation()?.servers.find((s) => s.minionId === minionId);
            if (server?.address) {
                await this.deps.scheduler
                    .setAddress(node, server.address)
                    .catch((err) => this.core.fault("scheduler", err));
            }
        } else {
            r.configFailedAt = this.core.now();
            r.configFailureReason = `job ${jid}: ${verdict.reason}`;
            this.core.event("warn", `${node}: highstate failed (${r.configFailureReason})`, node);
        }
        this.core.kick();
    }

    /**
     * A worker's stats (from the stats reactor): written to Graphite only when signed by the key
     * the master accepted for the ID they claim, and newer than the last ones from it.
     */
    async handleStats(stats: SignedStats): Promise<{ node?: string; written: number }> {
        if (!this.deps.metrics) return { written: 0 };
        const node = this.nodeOfMinion(stats.id);
        const key =
            node && isSafeMinionId(stats.id) ? await this.keyOf("accepted", stats.id) : undefined;
        const verified = key === undefined ? undefined : verifySignedStats(stats, key);
        const last = this.lastStats.get(stats.id) ?? 0;
        if (
            !node ||
            !verified ||
            verified.time <= last ||
            Math.abs(verified.time * 1000 - this.core.now()) > 600_000
        ) {
            this.droppedStats++;
            this.deps.log.warn(
                { minionId: stats.id, reason: !verified ? "signature" : "stale or replayed" },
                "stats dropped: not signed by the worker's accepted key, or not new",
            );
            return { node, written: 0 };
        }
        this.lastStats.set(stats.id, verified.time);
        let interfaces = this.interfaces.get(stats.id);
        if (!interfaces) this.interfaces.set(stats.id, (interfaces = new Set()));
        const { accepted, refused } = collectorMetrics(verified.metrics, interfaces);
        if (refused > 0) {
            this.refusedMetrics += refused;
            this.deps.log.warn(
                { minionId: stats.id, refused },
                "stats: metrics that are not the collector's refused (names outside dc_stats.py's, or too many interfaces)",
            );
        }
        let written = 0;
        for (const [name, value] of Object.entries(accepted)) {
            if (typeof value !== "number" || !Number.isFinite(value)) continue;
            const path = name.split(".").map(metricComponent).join(".");
            this.deps.metrics.send(`nodes.${metricComponent(node)}.${path}`, value, verified.time * 1000);
            written++;
        }
        return { node, written };
    }
}
