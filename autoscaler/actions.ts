/**
 * The admin actions of both APIs and the `dynamic-cluster` command: hold, release, drain and
 * delete a worker, auto mode, breaker reset. Each one refuses what would lose work (deleting a
 * busy worker, touching the Pulumi-owned floor) with a message that says what to do instead.
 * Each runs under the service's lock (`ServiceCore.withLock`), the one serialisation the
 * reconcile round and the Salt bridge take too: an action never interleaves with a round's
 * decisions and their execution, and it reads the worker as the last finished round left it.
 */
import { resetBreaker } from "./breaker";
import type { WorkerView } from "./model";
import { isBusy } from "./scheduler/types";
import type { ServiceCore, ServiceDeps } from "./service";

/** What the admin actions work with besides the service core. */
export type AdminActionDeps = Pick<ServiceDeps, "scheduler" | "store">;

/** An admin action's refusal (the API maps it to 404/409). */
export class ActionError extends Error {
    override name = "ActionError";

    constructor(
        readonly code: "not-found" | "conflict",
        message: string,
    ) {
        super(message);
    }
}

/** The admin actions. */
export class AdminActions {
    constructor(
        private readonly core: ServiceCore,
        private readonly deps: AdminActionDeps,
    ) {}

    /** Hold: no new jobs on the worker and it is never scaled in until released. */
    hold(node: string, by: string): Promise<WorkerView> {
        return this.core.withLock(async () => {
            const view = this.core.workerView(node);
            if (view.phase !== "ready" && view.phase !== "draining") {
                throw new ActionError(
                    "conflict",
                    `${node} is ${view.phase}; only a ready worker can be held.`,
                );
            }
            await this.deps.scheduler.hold(node, `dynamic-cluster: held by ${by}`);
            this.deps.store.update((s) => {
                s.held = [...new Set([...s.held, node])].sort();
            });
            this.core.event("info", `${node} held by ${by}`, node);
            this.core.kick();
            return { ...view, held: true };
        });
    }

    /** Release: undoes hold (the worker takes jobs again and may be scaled in). */
    release(node: string, by: string): Promise<WorkerView> {
        return this.core.withLock(async () => {
            const view = this.core.workerView(node);
            if (!this.deps.store.state.held.includes(node)) {
                throw new ActionError("conflict", `${node} is not held.`);
            }
            await this.deps.scheduler.release(node);
            this.deps.store.update((s) => {
                s.held = s.held.filter((n) => n !== node);
            });
            this.core.event("info", `${node} released by ${by}`, node);
            this.core.kick();
            return { ...view, held: false };
        });
    }

    /** Drain: the worker finishes its jobs, takes no new ones, and then goes away. */
    drain(node: string, by: string): Promise<WorkerView> {
        return this.core.withLock(async () => {
            const view = this.core.workerView(node);
            if (view.pool === "static") {
                throw new ActionError(
                    "conflict",
                    `${node} belongs to the static floor (workers.min), which Pulumi owns: lower workers.min and run \`pulumi up\`, or hold it.`,
                );
            }
            if (this.deps.store.state.held.includes(node)) {
                await this.deps.scheduler.release(node);
                this.deps.store.update((s) => {
                    s.held = s.held.filter((n) => n !== node);
                });
            }
            await this.deps.scheduler.releaseWhenIdle([node], `dynamic-cluster: drained by ${by}`);
            this.core.event("info", `${node} draining (asked by ${by})`, node);
            this.core.kick();
            return view;
        });
    }

    /** Delete: removes a worker now; refused while it runs jobs (no job is ever killed). */
    deleteWorker(node: string, by: string): Promise<WorkerView> {
        return this.core.withLock(async () => {
            const view = this.core.workerView(node);
            if (view.pool === "static") {
                throw new ActionError(
                    "conflict",
                    `${node} belongs to the static floor (workers.min), which Pulumi owns: lower workers.min and run \`pulumi up\`.`,
                );
            }
            if (!view.serverId) throw new ActionError("conflict", `${node} has no server.`);
            // No job may start between the check and the deletion: drain first, then look at what
            // the scheduler says now (the last round's view may be seconds old).
            await this.deps.scheduler.drain([node], `dynamic-cluster: being deleted by ${by}`);
            const now = await this.deps.scheduler.snapshot();
            const jobs = now.jobs.filter(
                (j) =>
                    (j.state === "running" ||
                        j.state === "configuring" ||
                        j.state === "completing") &&
                    j.nodes.includes(node),
            );
            const sched = now.nodes.get(node);
            if (jobs.length > 0 || (sched && isBusy(sched))) {
                await this.deps.scheduler.resume([node]);
                throw new ActionError(
                    "conflict",
                    `${node} runs ${jobs.length || "some"} job(s)` +
                        (jobs.length ? ` (${jobs.map((j) => j.id).join(", ")})` : "") +
                        "; drain it instead, or cancel the jobs first.",
                );
            }
            this.core.startDelete(view.serverId, node, `deleted by ${by}`);
            await this.deps.scheduler.markGone([node], `dynamic-cluster: deleted by ${by}`);
            this.deps.store.update((s) => {
                s.held = s.held.filter((n) => n !== node);
            });
            this.core.kick();
            return { ...view, phase: "deleting" };
        });
    }

    /** Turns automatic scaling on or off. Off: no launch for new demand (nodes marked unavailable). */
    setAutoMode(on: boolean, by: string): Promise<void> {
        return this.core.withLock(async () => {
            if (this.deps.store.state.autoMode === on) return;
            this.deps.store.update((s) => {
                s.autoMode = on;
            });
            this.core.event("info", `auto mode ${on ? "on" : "off"} (by ${by})`);
            this.core.kick();
        });
    }

    /** Closes the breaker and gives back the nodes marked unavailable while it was open. */
    resetBreaker(by: string): Promise<void> {
        return this.core.withLock(async () => {
            this.deps.store.update((s) => resetBreaker(s));
            this.core.event("info", `breaker reset by ${by}`);
            this.core.kick();
        });
    }
}
