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
import { nodeNameOfMinionId } from "../../lib/minionId";
import { metricComponent } from "../infra/carbon";
import type { ServiceCore, ServiceDeps } from "../service";

/** What the bridge works with besides the service core. */
export type SaltBridgeDeps = Pick<ServiceDeps, "keys" | "jobs" | "store" | "log" | "metrics" | "scheduler">;
import { type AdmissionCandidate, type AuthDecision, type AuthEvent, decideAuth } from "./auth";
import { HIGHSTATE_FUNCTIONS, highstateVerdict, type HighstateVerdict } from "./jobs";
import { isSafeMinionId, keyDigest, KeyError, normalizeKey } from "./keys";
import { type SignedStats, verifySignedStats } from "./stats";

/** A look-up of one minion's highstate is made at most this often (ms). */
const HIGHSTATE_CHECK_INTERVAL_MS = 5_000;

/** Handlers of the Salt events. */
export class SaltBridge {
    /** Stats dropped because they were not signed by the minion (claims of another ID, replays). */
    droppedStats = 0;
    /** Newest stats time accepted per minion (replays are older). */
    private readonly lastStats = new Map<string, number>();
    private overdueCheck?: Promise<void>;

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
                leaving: r.deleteRequestedAt !== undefined || r.failedAt !== undefined,
            });
        }
        for (const s of this.core.currentObservation()?.servers ?? []) {
            if (!s.minionId || !s.node || seen.has(s.minionId)) continue;
            if (!this.core.names.burst.includes(s.node) && !this.core.names.static.includes(s.node)) continue;
            if (nodeNameOfMinionId(s.minionId) !== s.node) continue;
            const r = this.core.findRecord(s.node);
            out.push({
                node: s.node,
                minionId: s.minionId,
                launchedAt: s.createdAt,
                leaving:
                    s.status === "ERROR" ||
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

    /** `salt/minion/<id>/start`: the reactor queued the worker's highstate. */
    async handleStart(minionId: string): Promise<{ node?: string }> {
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
        this.core.record(node).startedAt = this.core.now();
        this.core.event("info", `${node}: minion started, highstate queued`, node);
        return { node };
    }

    /**
     * `salt/job/<jid>/ret/<id>` of a highstate: looks the job up in the master's cache and
     * applies the authenticated return of every worker in it.
     */
    async handleJobReturn(jid: string): Promise<{ nodes: string[] }> {
        const jobs = this.deps.jobs;
        if (!jobs) return { nodes: [] };
        let job;
        try {
            job = await jobs.job(jid);
        } catch (err) {
            this.core.fault("salt jobs", err);
            return { nodes: [] };
        }
        if (!job || !HIGHSTATE_FUNCTIONS.has(job.function)) return { nodes: [] };
        const nodes: string[] = [];
        for (const [minionId, ret] of job.results) {
            const node = this.nodeOfMinion(minionId);
            if (!node) continue;
            await this.applyVerdict(node, minionId, highstateVerdict(ret), jid);
            nodes.push(node);
        }
        return { nodes };
    }

    /**
     * A worker says its highstate ended (`dynamic-cluster/worker/ready|failed`): a hint to look
     * for its newest highstate in the job cache.
     */
    async handleWorkerOutcome(minionId: string): Promise<{ node?: string }> {
        const node = this.nodeOfMinion(minionId);
        if (!node || !isSafeMinionId(minionId)) {
            this.deps.log.warn({ minionId }, "highstate outcome from a minion that is not a worker");
            return {};
        }
        await this.checkHighstate(node, minionId);
        return { node };
    }

    /** Looks up the newest highstate of `minionId` (rate-limited per worker). */
    private async checkHighstate(node: string, minionId: string): Promise<void> {
        const jobs = this.deps.jobs;
        const r = this.core.record(node);
        const now = this.core.now();
        if (!jobs || (r.highstateCheckedAt !== undefined && now - r.highstateCheckedAt < HIGHSTATE_CHECK_INTERVAL_MS))
            return;
        r.highstateCheckedAt = now;
        let jids: string[];
        try {
            jids = await jobs.highstateJobs(minionId);
        } catch (err) {
            this.core.fault("salt jobs", err);
            return;
        }
        for (const jid of jids) {
            const job = await jobs.job(jid).catch((err: unknown) => {
                this.core.fault("salt jobs", err);
                return undefined;
            });
            const ret = job?.results.get(minionId);
            if (ret) {
                await this.applyVerdict(node, minionId, highstateVerdict(ret), jid);
                return;
            }
        }
    }

    /**
     * Workers whose minion started but whose highstate result has not arrived for a while:
     * looked up in the job cache (a lost job-return event must not leave a worker waiting out
     * its launch deadline). Called after each round; one look-up runs at a time.
     */
    checkOverdueHighstates(): void {
        if (this.overdueCheck || !this.deps.jobs) return;
        const now = this.core.now();
        const overdue = this.core.workerRecords().filter(
            (r) =>
                r.minionId &&
                r.startedAt !== undefined &&
                r.configuredAt === undefined &&
                r.configFailedAt === undefined &&
                now - r.startedAt > 30_000 &&
                (r.highstateCheckedAt === undefined || now - r.highstateCheckedAt > 30_000),
        );
        if (overdue.length === 0) return;
        this.overdueCheck = (async () => {
            for (const r of overdue) await this.checkHighstate(r.node, r.minionId!);
        })().finally(() => (this.overdueCheck = undefined));
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
        let written = 0;
        for (const [name, value] of Object.entries(verified.metrics)) {
            if (typeof value !== "number" || !Number.isFinite(value)) continue;
            const path = name.split(".").map(metricComponent).join(".");
            this.deps.metrics.send(`nodes.${metricComponent(node)}.${path}`, value, verified.time * 1000);
            written++;
        }
        return { node, written };
    }
}
