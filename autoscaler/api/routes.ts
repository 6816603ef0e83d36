/**
 * Routes shared by both APIs: reports (status, workers, jobs, pools, events) and admin actions
 * (hold, release, drain, delete a worker; auto mode; breaker reset). Each API registers them
 * behind its own authentication (`local.ts`: the service token; `public.ts`: the dashboard
 * login). Every route has a JSON schema; refusals come back as 404/409 with a message that says
 * what to do instead.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ActionError } from "../actions";
import type { DynamicClusterService } from "../service";

const nodeParams = {
    type: "object",
    required: ["node"],
    properties: { node: { type: "string", pattern: "^[a-z][a-z0-9-]{0,39}$" } },
    additionalProperties: false,
} as const;

const workerActions = ["hold", "release", "drain", "delete"] as const;
type WorkerAction = (typeof workerActions)[number];

/** Maps an action refusal to its HTTP answer. */
export function sendActionError(reply: FastifyReply, err: unknown): FastifyReply {
    if (err instanceof ActionError) {
        return reply.code(err.code === "not-found" ? 404 : 409).send({ error: err.message });
    }
    throw err;
}

/**
 * Registers the shared routes.
 *
 * @param who names the caller in the service's log and events (e.g. the dashboard user).
 * @param sessionDetails what `GET /session` adds about the caller's login (the public API: the
 *   dashboard session's CSRF token).
 */
export function registerClusterRoutes(
    app: FastifyInstance,
    service: DynamicClusterService,
    who: (request: { headers: Record<string, unknown> }) => string,
    sessionDetails?: (request: FastifyRequest) => Record<string, unknown>,
): void {
    // The reverse proxy's auth_request for Graphite asks here whether a caller is logged in.
    app.get("/session", async (request) => ({
        user: who(request),
        ...sessionDetails?.(request),
    }));

    app.get("/status", async () => service.status());

    app.get("/workers", async () => ({ workers: service.workers() }));

    app.get<{ Params: { node: string } }>(
        "/workers/:node",
        { schema: { params: nodeParams } },
        async (request, reply) => {
            const worker = service.workers().find((w) => w.node === request.params.node);
            if (!worker)
                return reply.code(404).send({ error: `No worker named ${request.params.node}.` });
            return worker;
        },
    );

    app.get("/jobs", async () => ({ jobs: service.jobs() }));

    app.get("/pools", async () => {
        const status = service.status();
        const workers = service.workers();
        const pool = (name: "static" | "burst") => ({
            name,
            owner: name === "static" ? "pulumi (workers.min)" : "dynamic-cluster service",
            nodes: name === "static" ? service.names.static : service.names.burst,
            workers: workers
                .filter((w) => w.pool === name && w.phase !== "absent")
                .map((w) => w.node),
        });
        return {
            autoMode: status.autoMode,
            breaker: status.breaker,
            pools: [pool("static"), pool("burst")],
            /** The worker pools (default first): flavors, limits, backoffs and their workers. */
            workerPools: status.workerPools.map((p) => ({
                ...p,
                nodes: workers
                    .filter((w) => w.workerPool === p.name && w.phase !== "absent")
                    .map((w) => w.node),
            })),
        };
    });

    app.get("/events", async () => ({ events: service.recentEvents() }));

    app.post<{ Params: { node: string; action: WorkerAction } }>(
        "/workers/:node/actions/:action",
        {
            schema: {
                params: {
                    type: "object",
                    required: ["node", "action"],
                    properties: {
                        node: nodeParams.properties.node,
                        action: { type: "string", enum: [...workerActions] },
                    },
                    additionalProperties: false,
                },
            },
        },
        async (request, reply) => {
            const { node, action } = request.params;
            const by = who(request);
            try {
                const handlers: Record<WorkerAction, () => Promise<unknown>> = {
                    hold: () => service.actions.hold(node, by),
                    release: () => service.actions.release(node, by),
                    drain: () => service.actions.drain(node, by),
                    delete: () => service.actions.deleteWorker(node, by),
                };
                return { worker: await handlers[action]() };
            } catch (err) {
                return sendActionError(reply, err);
            }
        },
    );

    app.put<{ Body: { on: boolean } }>(
        "/auto",
        {
            schema: {
                body: {
                    type: "object",
                    required: ["on"],
                    properties: { on: { type: "boolean" } },
                    additionalProperties: false,
                },
            },
        },
        async (request) => {
            await service.actions.setAutoMode(request.body.on, who(request));
            return { autoMode: service.status().autoMode };
        },
    );

    app.post("/breaker/reset", async (request) => {
        await service.actions.resetBreaker(who(request));
        return { breaker: service.status().breaker };
    });
}
