/**
 * The local API, on the head node's loopback only (127.0.0.1:8081), for the callers that run
 * there: Slurm's power-saving programs (the `dynamic-cluster` command), the Salt reactors and
 * root's own `dynamic-cluster` commands. Every call needs `Authorization: Bearer <service
 * token>` (the token is in root/salt/slurm-readable header files, never on a command line).
 *
 *   POST /local/v1/slurm/{resume,suspend,resume-fail}   {"nodes": "<Slurm host list>"}
 *   POST /local/v1/salt/auth                            {"id", "act", "pub"}     (salt/auth)
 *   POST /local/v1/salt/start                           {"id"}                   (minion start)
 *   POST /local/v1/salt/worker/{ready,failed}           {"id", "node_name"}      (highstate end)
 *   POST /local/v1/salt/job-return                      {"jid", "id", "fun"}     (job return)
 *   POST /local/v1/salt/stats                           {"id", "signed", "signature"}
 * The Salt routes carry claims (see salt/bridge.ts): the service checks each against what the
 * master itself recorded before acting.
 *   plus the shared reports and admin actions (routes.ts) under /local/v1.
 */
import bearerAuth from "@fastify/bearer-auth";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";

import { expandHostList, HostListError } from "../scheduler/hostlist";
import type { DynamicClusterService } from "../service";
import { registerClusterRoutes } from "./routes";

const minionIdSchema = { type: "string", minLength: 1, maxLength: 255 } as const;
/** IDs the master's key directory can hold; anything else is a forged event (400). */
const safeMinionIdSchema = {
    type: "string",
    pattern: "^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$",
} as const;

/** Builds the local API (not yet listening). */
export function buildLocalApi(
    service: DynamicClusterService,
    token: string,
    logger: FastifyBaseLogger,
): FastifyInstance {
    const app = Fastify({ loggerInstance: logger, bodyLimit: 1024 * 1024 });
    app.register(
        async (api) => {
            await api.register(bearerAuth, {
                keys: new Set([token]),
                addHook: true,
                errorResponse: () => ({ error: "missing or wrong service token" }),
            });

            registerClusterRoutes(api, service, () => "root (local API)");

            api.post<{
                Params: { action: "resume" | "suspend" | "resume-fail" };
                Body: { nodes: string };
            }>(
                "/slurm/:action",
                {
                    schema: {
                        params: {
                            type: "object",
                            required: ["action"],
                            properties: {
                                action: {
                                    type: "string",
                                    enum: ["resume", "suspend", "resume-fail"],
                                },
                            },
                        },
                        body: {
                            type: "object",
                            required: ["nodes"],
                            properties: {
                                nodes: { type: "string", minLength: 1, maxLength: 65536 },
                            },
                            additionalProperties: false,
                        },
                    },
                },
                async (request, reply) => {
                    let nodes: string[];
                    try {
                        // Bounded by the cluster's own size: a resume/suspend list never names
                        // more nodes than slurm.conf has (static floor plus burst pool).
                        const clusterNodes =
                            service.names.static.length + service.names.burst.length;
                        nodes = expandHostList(request.body.nodes, clusterNodes);
                    } catch (err) {
                        if (err instanceof HostListError)
                            return reply.code(400).send({ error: err.message });
                        throw err;
                    }
                    const { action } = request.params;
                    const result =
                        action === "resume"
                            ? service.request("up", nodes)
                            : service.request("down", nodes, action === "resume-fail");
                    return reply.code(202).send(result);
                },
            );

            api.post<{ Body: { id: string; act: string; pub?: string } }>(
                "/salt/auth",
                {
                    schema: {
                        body: {
                            type: "object",
                            required: ["id", "act"],
                            properties: {
                                id: minionIdSchema,
                                act: { type: "string", maxLength: 32 },
                                pub: { type: "string", maxLength: 16384 },
                            },
                        },
                    },
                },
                async (request, reply) => {
                    const { id, act, pub = "" } = request.body;
                    const decision = await service.salt.handleAuth({ id, act, pub });
                    return reply.code(decision.action === "retry" ? 503 : 200).send(decision);
                },
            );

            api.post<{ Body: { id: string } }>(
                "/salt/start",
                {
                    schema: {
                        body: {
                            type: "object",
                            required: ["id"],
                            properties: { id: safeMinionIdSchema },
                        },
                    },
                },
                async (request) => service.salt.handleStart(request.body.id),
            );

            api.post<{
                Params: { outcome: "ready" | "failed" };
                Body: { id: string; node_name?: string };
            }>(
                "/salt/worker/:outcome",
                {
                    schema: {
                        params: {
                            type: "object",
                            required: ["outcome"],
                            properties: { outcome: { type: "string", enum: ["ready", "failed"] } },
                        },
                        body: {
                            type: "object",
                            required: ["id"],
                            properties: {
                                id: safeMinionIdSchema,
                                node_name: { type: "string", maxLength: 64 },
                            },
                        },
                    },
                },
                async (request) => service.salt.handleWorkerOutcome(request.body.id),
            );

            api.post<{ Body: { jid: string; id?: string; fun?: string } }>(
                "/salt/job-return",
                {
                    schema: {
                        body: {
                            type: "object",
                            required: ["jid"],
                            properties: {
                                jid: { type: "string", pattern: "^[0-9]{20}$" },
                                id: minionIdSchema,
                                fun: { type: "string", maxLength: 128 },
                            },
                        },
                    },
                },
                async (request) => service.salt.handleJobReturn(request.body.jid),
            );

            api.post<{ Body: { id: string; signed: string; signature: string } }>(
                "/salt/stats",
                {
                    schema: {
                        body: {
                            type: "object",
                            required: ["id", "signed", "signature"],
                            properties: {
                                id: safeMinionIdSchema,
                                signed: { type: "string", minLength: 2, maxLength: 65536 },
                                signature: { type: "string", minLength: 1, maxLength: 4096 },
                            },
                        },
                    },
                },
                async (request) => service.salt.handleStats(request.body),
            );
        },
        { prefix: "/local/v1" },
    );
    return app;
}
