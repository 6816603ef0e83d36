/**
 * The local API, on the head node's loopback only (127.0.0.1:8081), for the callers that run
 * there, each with its own token (`Authorization: Bearer <token>`, read from a header file that
 * only that caller's group can read, never on a command line), each token opening only its
 * caller's routes:
 *
 *   Slurm's power-saving programs (/etc/dynamic-cluster/slurm-local-api.header, root:slurm 0640)
 *   POST /local/v1/slurm/{resume,suspend,resume-fail}   {"nodes": "<Slurm host list>"}
 *
 *   the Salt reactors (/etc/dynamic-cluster/reactor-local-api.header, root:salt 0640)
 *   POST /local/v1/salt/auth                            {"id", "act", "pub"}     (salt/auth)
 *   POST /local/v1/salt/start                           {"id"}                   (minion start)
 *   POST /local/v1/salt/worker/{ready,failed}           {"id", "node_name"}      (highstate end)
 *   POST /local/v1/salt/job-return                      {"jid", "id", "fun"}     (job return)
 *   POST /local/v1/salt/stats                           {"id", "signed", "signature"}
 *
 *   root's `dynamic-cluster` command (/etc/dynamic-cluster/admin-local-api.header, root 0600)
 *   the shared reports and admin actions (routes.ts) under /local/v1.
 *
 * A token on another caller's route is refused with 403 (saying which token the route needs) and
 * logged, so a compromised slurmctld or salt-master cannot delete workers or accept keys. The
 * service holds only the tokens' SHA-256 digests (settings: `local_api_token_sha256`). A missing
 * or unknown token is a 401; wrong tokens are throttled per caller (429 after 10 in a minute),
 * where a caller is the local user that opened the connection (peer.ts), so one local user
 * guessing does not lock out Slurm, Salt or root.
 * The Salt routes carry claims (see salt/bridge.ts): the service checks each against what the
 * master itself recorded before acting.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, {
    type FastifyBaseLogger,
    type FastifyInstance,
    type FastifyReply,
    type FastifyRequest,
} from "fastify";

import { expandHostList, HostListError } from "../scheduler/hostlist";
import type { DynamicClusterService } from "../service";
import { peerUid } from "./peer";
import { registerClusterRoutes } from "./routes";
import { FailureThrottle } from "./throttle";

/** The local API's callers. */
export type LocalCaller = "slurm" | "salt" | "admin";

/** Each caller's name (as messages give it), header file and routes. */
export const LOCAL_CALLERS: Record<LocalCaller, { who: string; file: string; routes: string }> = {
    slurm: {
        who: "Slurm's power-saving programs",
        file: "/etc/dynamic-cluster/slurm-local-api.header",
        routes: "/local/v1/slurm/*",
    },
    salt: {
        who: "the Salt reactors",
        file: "/etc/dynamic-cluster/reactor-local-api.header",
        routes: "/local/v1/salt/*",
    },
    admin: {
        who: "root's dynamic-cluster command",
        file: "/etc/dynamic-cluster/admin-local-api.header",
        routes: "the reports and admin actions under /local/v1",
    },
};

/** SHA-256 digests (hex) of each caller's token. */
export type LocalApiTokenDigests = Record<LocalCaller, string>;

/** Options of {@link buildLocalApi}, for the tests. */
export interface LocalApiOptions {
    /** Who a request comes from, for the wrong-token throttle (default: the peer's user). */
    callerKey?: (request: FastifyRequest) => string;
}

/** Wrong tokens a caller may send per minute before it is refused for the rest of it. */
const WRONG_TOKEN_LIMIT = 10;

const sha256 = (text: string): Buffer => createHash("sha256").update(text).digest();
const named = (caller: LocalCaller) =>
    `${LOCAL_CALLERS[caller].who} (${LOCAL_CALLERS[caller].file})`;

const keyBySocket = new WeakMap<object, string>();

/** The local user that opened the connection (`uid N`), else its address. */
function peerKey(request: FastifyRequest): string {
    const socket = request.raw.socket;
    let key = keyBySocket.get(socket);
    if (key === undefined) {
        const uid = peerUid(socket);
        key = uid === undefined ? `address ${request.ip}` : `uid ${uid}`;
        keyBySocket.set(socket, key);
    }
    return key;
}

const minionIdSchema = { type: "string", minLength: 1, maxLength: 255 } as const;
/** IDs the master's key directory can hold; anything else is a forged event (400). */
const safeMinionIdSchema = {
    type: "string",
    pattern: "^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$",
} as const;

/** Builds the local API (not yet listening). @throws Error for a missing or shared token. */
export function buildLocalApi(
    service: DynamicClusterService,
    tokenDigests: LocalApiTokenDigests,
    logger: FastifyBaseLogger,
    options: LocalApiOptions = {},
): FastifyInstance {
    const callers = Object.keys(LOCAL_CALLERS) as LocalCaller[];
    for (const caller of callers) {
        if (!/^[0-9a-f]{64}$/.test(tokenDigests[caller] ?? "")) {
            throw new Error(`the ${caller} token's SHA-256 digest is missing or not 64 hex digits`);
        }
    }
    if (new Set(callers.map((c) => tokenDigests[c])).size !== callers.length)
        throw new Error("the local API's tokens must be distinct, one per caller");
    const digests = callers.map((c) => [c, Buffer.from(tokenDigests[c], "hex")] as const);
    /** The caller whose token this is; every digest is compared, in constant time. */
    const callerOf = (token: string): LocalCaller | undefined => {
        const digest = sha256(token);
        let found: LocalCaller | undefined;
        for (const [caller, expected] of digests)
            if (timingSafeEqual(digest, expected)) found = caller;
        return found;
    };
    const throttle = new FailureThrottle({
        limit: WRONG_TOKEN_LIMIT,
        windowMs: 60_000,
        maxEntries: 1000,
    });
    const keyOf = options.callerKey ?? peerKey;

    /** The onRequest hook of one caller's routes. */
    const only =
        (need: LocalCaller) =>
        async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
            // Look the caller up only when someone has sent a wrong token lately.
            let key = throttle.size > 0 ? keyOf(request) : undefined;
            if (key !== undefined && throttle.blocked(key)) {
                const wait = throttle.retryAfterSeconds(key);
                return reply
                    .code(429)
                    .header("Retry-After", String(wait))
                    .send({
                        error: `too many wrong tokens from this caller (${key}); wait ${wait} s`,
                    });
            }
            const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? "");
            if (!match) {
                return reply.code(401).send({
                    error:
                        "missing token: send 'Authorization: Bearer <token>' with the header file " +
                        `of ${named(need)}`,
                });
            }
            const caller = callerOf(match[1]!);
            if (caller === undefined) {
                key ??= keyOf(request);
                throttle.fail(key);
                request.log.warn({ caller: key, route: request.url }, "wrong local API token");
                return reply.code(401).send({
                    error:
                        "wrong token for this route (a stale header file? the head's " +
                        `state.apply writes them); it needs the token of ${named(need)}`,
                });
            }
            if (caller !== need) {
                request.log.warn(
                    { token: caller, route: `${request.method} ${request.url}`, needs: need },
                    "local API token used on another caller's route",
                );
                return reply.code(403).send({
                    error:
                        `${request.method} ${request.url} needs the token of ${named(need)}; ` +
                        `the token sent is that of ${named(caller)}, which opens only ` +
                        `${LOCAL_CALLERS[caller].routes}`,
                });
            }
            return undefined;
        };

    const app = Fastify({ loggerInstance: logger, bodyLimit: 1024 * 1024 });
    app.register(
        async (api) => {
            api.register(async (admin) => {
                admin.addHook("onRequest", only("admin"));
                registerClusterRoutes(admin, service, () => "root (local API)");
            });
            api.register(async (slurm) => {
                slurm.addHook("onRequest", only("slurm"));
                registerSlurmRoutes(slurm, service);
            });
            api.register(async (salt) => {
                salt.addHook("onRequest", only("salt"));
                registerSaltRoutes(salt, service);
            });
        },
        { prefix: "/local/v1" },
    );
    return app;
}

/** Slurm's power-saving programs: resume, suspend, resume-fail. */
function registerSlurmRoutes(api: FastifyInstance, service: DynamicClusterService): void {
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
                const clusterNodes = service.names.static.length + service.names.burst.length;
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
}

/** The Salt reactors' events (through salt/_runners/dc_forward.py). */
function registerSaltRoutes(api: FastifyInstance, service: DynamicClusterService): void {
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
}
