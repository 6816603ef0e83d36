/**
 * The Salt bridge: what the service does with the events the reactors forward to its local
 * API. `salt/auth` is decided by the admission rule (`auth.ts`) and carried out on the master's
 * key directory (`keys.ts`); minion start and highstate outcome update the worker's memory and,
 * for a ready worker, tell the scheduler its address; node stats go to Graphite.
 */
import { nodeNameOfMinionId } from "../../lib/minionId";
import { metricComponent } from "../infra/carbon";
import type { ServiceCore } from "../service";
import { type AdmissionCandidate, type AuthDecision, type AuthEvent, decideAuth } from "./auth";
import { keyDigest, KeyError } from "./keys";

/** Handlers of the Salt events. */
export class SaltBridge {
    constructor(private readonly core: ServiceCore) {}

    private candidates(): AdmissionCandidate[] {
        const out: AdmissionCandidate[] = [];
        const seen = new Set<string>();
        for (const r of this.core.records.values()) {
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
            const r = this.core.records.get(s.node);
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

    /**
     * Decides on a `salt/auth` event and carries the decision out on the master's keys.
     * Returns `retry` before the first observation (the minion re-authenticates every 10 s).
     */
    async handleAuth(
        event: AuthEvent,
    ): Promise<AuthDecision | { action: "retry"; reason: string }> {
        if (!this.core.currentObservation())
            return { action: "retry", reason: "the service has not observed the cluster yet" };
        return this.core.withLock(async () => {
            const digest = keyDigest(event.pub);
            const candidates = this.candidates();
            const known = candidates.some((c) => c.minionId === event.id);
            const firstKeys = this.core.deps.store.state.firstKeys;
            if (known && event.act === "pend" && firstKeys[event.id] === undefined) {
                this.core.deps.store.update((s) => {
                    s.firstKeys[event.id] = digest;
                });
            }
            let alreadyAccepted = false;
            try {
                alreadyAccepted = (await this.core.deps.keys.read("accepted", event.id)) !== undefined;
            } catch (err) {
                if (!(err instanceof KeyError)) throw err;
            }
            const decision = decideAuth({
                event,
                candidates,
                alreadyAccepted,
                firstKeyDigest: this.core.deps.store.state.firstKeys[event.id],
                presentedKeyDigest: digest,
                now: this.core.now(),
                launchTimeoutMs: this.core.settings.workers.launch_timeout * 1000,
            });
            const node = nodeNameOfMinionId(event.id);
            if (decision.action === "accept") {
                try {
                    await this.core.deps.keys.accept(event.id, event.pub);
                } catch (err) {
                    if (err instanceof KeyError && err.code === "not-pending") {
                        return { action: "retry" as const, reason: err.message };
                    }
                    if (err instanceof KeyError && err.code === "mismatch") {
                        await this.core.deps.keys.reject(event.id);
                        const reason = err.message;
                        this.core.event("warn", `rejected the key of ${event.id}: ${reason}`, node);
                        return { action: "reject" as const, reason };
                    }
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
                const moved = await this.core.deps.keys.reject(event.id).catch(() => false);
                this.core.deps.log.warn(
                    { minionId: event.id, reason: decision.reason, moved },
                    "rejected a Salt key",
                );
                this.core.event("warn", `rejected the Salt key of ${event.id}: ${decision.reason}`);
            } else {
                this.core.deps.log.info(
                    { minionId: event.id, reason: decision.reason },
                    "auth event ignored",
                );
            }
            return decision;
        });
    }

    private nodeOfMinion(minionId: string): string | undefined {
        const candidate = this.candidates().find((c) => c.minionId === minionId);
        return candidate?.node;
    }

    /** `salt/minion/<id>/start`: the reactor queued the worker's highstate. */
    handleStart(minionId: string): { node?: string } {
        const node = this.nodeOfMinion(minionId);
        if (node) {
            this.core.record(node).startedAt = this.core.now();
            this.core.event("info", `${node}: minion started, highstate queued`, node);
        } else {
            this.core.deps.log.warn({ minionId }, "start event from a minion that is not a worker");
        }
        return { node };
    }

    /** `dynamic-cluster/worker/ready|failed`: the worker highstate finished. */
    async handleWorkerOutcome(
        minionId: string,
        outcome: "ready" | "failed",
    ): Promise<{ node?: string }> {
        const node = this.nodeOfMinion(minionId);
        if (!node) {
            this.core.deps.log.warn(
                { minionId, outcome },
                "highstate outcome from a minion that is not a worker",
            );
            return {};
        }
        const r = this.core.record(node);
        if (outcome === "ready") {
            r.configuredAt = this.core.now();
            this.core.event("info", `${node}: highstate done`, node);
            const server = this.core.currentObservation()?.servers.find((s) => s.minionId === minionId);
            if (server?.address) {
                await this.core.deps.scheduler
                    .setAddress(node, server.address)
                    .catch((err) => this.core.fault("scheduler", err));
            }
        } else {
            r.configFailedAt = this.core.now();
            this.core.event("warn", `${node}: highstate failed`, node);
        }
        this.core.kick();
        return { node };
    }

    /** Forwards a worker's stats (from the stats reactor) to Graphite. */
    handleStats(
        minionId: string,
        atSeconds: number | undefined,
        metrics: Record<string, number>,
    ): { node?: string; written: number } {
        const node = this.nodeOfMinion(minionId);
        if (!node || !this.core.deps.metrics) return { node, written: 0 };
        const at = atSeconds !== undefined ? atSeconds * 1000 : this.core.now();
        let written = 0;
        for (const [name, value] of Object.entries(metrics)) {
            if (typeof value !== "number" || !Number.isFinite(value)) continue;
            const path = name.split(".").map(metricComponent).join(".");
            this.core.deps.metrics.send(`nodes.${metricComponent(node)}.${path}`, value, at);
            written++;
        }
        return { node, written };
    }
}
