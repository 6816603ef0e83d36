/**
 * The local API's callers each have their own token (autoscaler/api/local.ts): Slurm's
 * power-saving programs may call only `/local/v1/slurm/*`, the Salt reactors only
 * `/local/v1/salt/*`, root's `dynamic-cluster` command only the reports and admin actions. Each
 * token is refused on the other callers' routes (403, saying which token the route needs) and the
 * route's handler never runs; an unknown token is a 401; wrong tokens are throttled per caller
 * (429), and on a real socket a caller is told apart by the user that opened the connection, so
 * one local user sending wrong tokens does not lock out Slurm, Salt or root.
 * The service behind the API is a stand-in that records what the routes asked of it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import pino from "pino";
import { buildLocalApi } from "../../autoscaler/api/local";
import { peerUid } from "../../autoscaler/api/peer";
import * as cli from "../../autoscaler/cli";
import type { DynamicClusterService } from "../../autoscaler/service";

const execFileAsync = promisify(execFile);

const TOKENS = {
    slurm: randomBytes(24).toString("hex"),
    salt: randomBytes(24).toString("hex"),
    admin: randomBytes(24).toString("hex"),
};
type Caller = keyof typeof TOKENS;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const HASHES = {
    slurm: sha256(TOKENS.slurm),
    salt: sha256(TOKENS.salt),
    admin: sha256(TOKENS.admin),
};

/** A stand-in service: records every call a route makes. */
function stubService(calls: string[]): DynamicClusterService {
    const record =
        (name: string, answer: unknown = { ok: true }) =>
        (...args: unknown[]) => {
            calls.push(`${name} ${JSON.stringify(args)}`);
            return answer;
        };
    const worker = { node: "compute-dy-1", pool: "burst", phase: "ready" };
    return {
        names: { static: [], burst: ["compute-dy-1", "compute-dy-2"] },
        request: record("request", { accepted: [] }),
        status: record("status", { autoMode: true, breaker: { open: false }, workerPools: [] }),
        workers: record("workers", [worker]),
        jobs: record("jobs", []),
        recentEvents: record("recentEvents", []),
        salt: {
            handleAuth: async (...args: unknown[]) => {
                calls.push(`handleAuth ${JSON.stringify(args)}`);
                return { action: "accepted" };
            },
            handleStart: async (...args: unknown[]) => record("handleStart")(...args),
            handleWorkerOutcome: async (...args: unknown[]) =>
                record("handleWorkerOutcome")(...args),
            handleJobReturn: async (...args: unknown[]) => record("handleJobReturn")(...args),
            handleStats: async (...args: unknown[]) => record("handleStats")(...args),
        },
        actions: {
            hold: async (...args: unknown[]) => record("hold", worker)(...args),
            release: async (...args: unknown[]) => record("release", worker)(...args),
            drain: async (...args: unknown[]) => record("drain", worker)(...args),
            deleteWorker: async (...args: unknown[]) => record("deleteWorker", worker)(...args),
            setAutoMode: async (...args: unknown[]) => record("setAutoMode")(...args),
            resetBreaker: async (...args: unknown[]) => record("resetBreaker")(...args),
        },
    } as unknown as DynamicClusterService;
}

interface Route {
    method: "GET" | "POST" | "PUT";
    url: string;
    payload?: unknown;
    owner: Caller;
}

const MINION = `compute-dy-1-${"a".repeat(26)}`;
/** Every route of the local API, with a valid body, and the caller it belongs to. */
const ROUTES: Route[] = [
    ...["resume", "suspend", "resume-fail"].map((action): Route => ({
        method: "POST",
        url: `/local/v1/slurm/${action}`,
        payload: { nodes: "compute-dy-[1-2]" },
        owner: "slurm",
    })),
    {
        method: "POST",
        url: "/local/v1/salt/auth",
        payload: { id: MINION, act: "pend", pub: "k" },
        owner: "salt",
    },
    { method: "POST", url: "/local/v1/salt/start", payload: { id: MINION }, owner: "salt" },
    ...["ready", "failed"].map((outcome): Route => ({
        method: "POST",
        url: `/local/v1/salt/worker/${outcome}`,
        payload: { id: MINION, node_name: "compute-dy-1" },
        owner: "salt",
    })),
    {
        method: "POST",
        url: "/local/v1/salt/job-return",
        payload: { jid: "20261130120000123456", id: MINION, fun: "state.apply" },
        owner: "salt",
    },
    {
        method: "POST",
        url: "/local/v1/salt/stats",
        payload: { id: MINION, signed: "{}", signature: "c2ln" },
        owner: "salt",
    },
    ...["session", "status", "workers", "workers/compute-dy-1", "jobs", "pools", "events"].map(
        (what): Route => ({ method: "GET", url: `/local/v1/${what}`, owner: "admin" }),
    ),
    ...["hold", "release", "drain", "delete"].map((action): Route => ({
        method: "POST",
        url: `/local/v1/workers/compute-dy-1/actions/${action}`,
        owner: "admin",
    })),
    { method: "PUT", url: "/local/v1/auto", payload: { on: false }, owner: "admin" },
    { method: "POST", url: "/local/v1/breaker/reset", owner: "admin" },
];

function api(calls: string[] = []) {
    return buildLocalApi(stubService(calls), HASHES, pino({ level: "silent" }));
}

function call(
    app: ReturnType<typeof api>,
    route: Route,
    token: string | undefined,
    remoteAddress = "127.0.0.1",
) {
    return app.inject({
        method: route.method,
        url: route.url,
        remoteAddress,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        ...(route.payload !== undefined ? { payload: route.payload as object } : {}),
    });
}

describe("local API: one token per caller", () => {
    it("accepts each caller's token on each of its own routes", async () => {
        const calls: string[] = [];
        const app = api(calls);
        for (const route of ROUTES) {
            const res = await call(app, route, TOKENS[route.owner]);
            assert.ok(
                res.statusCode >= 200 && res.statusCode < 300,
                `${route.method} ${route.url} with the ${route.owner} token: ${res.statusCode} ${res.body}`,
            );
        }
        assert.ok(calls.length >= ROUTES.length - 1, calls.join("\n"));
        await app.close();
    });

    it("refuses each token on every other caller's routes with 403 and says which token the route needs; the handler never runs", async () => {
        const calls: string[] = [];
        const app = api(calls);
        const who: Record<Caller, string> = {
            slurm: "Slurm's power-saving programs \\(/etc/dynamic-cluster/slurm-local-api\\.header\\)",
            salt: "the Salt reactors \\(/etc/dynamic-cluster/reactor-local-api\\.header\\)",
            admin: "root's dynamic-cluster command \\(/etc/dynamic-cluster/admin-local-api\\.header\\)",
        };
        let refused = 0;
        for (const route of ROUTES) {
            for (const caller of Object.keys(TOKENS) as Caller[]) {
                if (caller === route.owner) continue;
                const res = await call(app, route, TOKENS[caller]);
                const where = `${route.method} ${route.url} with the ${caller} token`;
                assert.equal(res.statusCode, 403, `${where}: ${res.body}`);
                const { error } = res.json() as { error: string };
                assert.match(error, new RegExp(`needs the token of ${who[route.owner]}`), where);
                assert.match(error, new RegExp(`the token sent is that of ${who[caller]}`), where);
                refused++;
            }
        }
        assert.equal(refused, ROUTES.length * 2);
        assert.deepEqual(calls, [], "no refused call reached the service");
        await app.close();
    });

    it("answers 401 without a token or with an unknown one (the old shared-token shape included)", async () => {
        const calls: string[] = [];
        const app = api(calls);
        for (const route of [ROUTES[0]!, ROUTES[3]!, ROUTES.at(-1)!]) {
            const none = await call(app, route, undefined);
            assert.equal(none.statusCode, 401, route.url);
            assert.match((none.json() as { error: string }).error, /token/);
            const wrong = await call(app, route, "x".repeat(48), "127.0.0.9");
            assert.equal(wrong.statusCode, 401, route.url);
            assert.match((wrong.json() as { error: string }).error, /wrong token/);
            // A token's hash is not a token.
            const hash = await call(app, route, HASHES[route.owner], "127.0.0.10");
            assert.equal(hash.statusCode, 401, route.url);
        }
        assert.deepEqual(calls, []);
        await app.close();
    });

    it("refuses to start with a missing or shared token", () => {
        const log = pino({ level: "silent" });
        const service = stubService([]);
        assert.throws(
            () => buildLocalApi(service, { ...HASHES, salt: HASHES.slurm }, log),
            /distinct/,
        );
        assert.throws(
            () => buildLocalApi(service, { ...HASHES, admin: "" } as typeof HASHES, log),
            /admin/,
        );
    });
});

describe("local API: wrong tokens are throttled per caller", () => {
    it("after 10 wrong tokens a caller gets 429 (even with a right token) while other callers go on", async () => {
        const calls: string[] = [];
        const app = api(calls);
        const status = ROUTES.find((r) => r.url === "/local/v1/status")!;
        const codes: number[] = [];
        for (let i = 0; i < 12; i++)
            codes.push((await call(app, status, randomBytes(24).toString("hex"))).statusCode);
        assert.deepEqual(codes.slice(0, 10), Array(10).fill(401));
        assert.deepEqual(codes.slice(10), [429, 429]);
        const locked = await call(app, status, TOKENS.admin);
        assert.equal(locked.statusCode, 429);
        assert.match((locked.json() as { error: string }).error, /too many wrong tokens/);
        assert.ok(locked.headers["retry-after"], "says when to retry");
        // Another caller (here another address; on a real socket another user) is not affected.
        const other = await call(app, status, TOKENS.admin, "127.0.0.2");
        assert.equal(other.statusCode, 200, other.body);
        await app.close();
    });

    it("a token used on another caller's route (403) is not counted as a guess", async () => {
        const app = api();
        const status = ROUTES.find((r) => r.url === "/local/v1/status")!;
        for (let i = 0; i < 15; i++)
            assert.equal((await call(app, status, TOKENS.salt)).statusCode, 403);
        assert.equal((await call(app, status, TOKENS.admin)).statusCode, 200);
        await app.close();
    });
});

describe("local API: callers on the loopback are told apart by their user", () => {
    const root = process.getuid?.() === 0;
    let app: ReturnType<typeof api>;
    let url: string;
    before(async () => {
        app = api();
        url = await app.listen({ host: "127.0.0.1", port: 0 });
    });
    after(async () => app.close());

    it("root's dynamic-cluster command reads root's header file by default, `slurm ...` Slurm's; another caller's header gets the service's 403 reason", async () => {
        assert.equal(
            cli.defaultTokenFile(["status"]),
            "/etc/dynamic-cluster/admin-local-api.header",
        );
        assert.equal(
            cli.defaultTokenFile(["worker", "delete", "compute-dy-1"]),
            "/etc/dynamic-cluster/admin-local-api.header",
        );
        assert.equal(
            cli.defaultTokenFile(["slurm", "resume", "compute-dy-1"]),
            "/etc/dynamic-cluster/slurm-local-api.header",
        );
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-cli-"));
        try {
            const header = path.join(dir, "slurm-local-api.header");
            fs.writeFileSync(header, `Authorization: Bearer ${TOKENS.slurm}`);
            const run = async (...words: string[]) => {
                const out: string[] = [];
                const err: string[] = [];
                const sink = <T>(to: string[]) =>
                    ({ write: (t: string) => to.push(t) }) as unknown as T;
                const code = await cli.runCli(
                    ["--url", url, "--token-file", header, ...words],
                    sink<typeof process.stdout>(out),
                    sink<typeof process.stderr>(err),
                );
                return { code, out: out.join(""), err: err.join("") };
            };
            const refused = await run("worker", "delete", "compute-dy-1");
            assert.equal(refused.code, 3);
            assert.match(refused.err, /^dynamic-cluster: 403: .*needs the token of root's/);
            const resumed = await run("slurm", "resume", "compute-dy-1");
            assert.equal(resumed.code, 0, resumed.err);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("peerUid finds the user of the other end of a loopback connection", async () => {
        const server = net.createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const seen = new Promise<number | undefined>((resolve) =>
            server.once("connection", (socket) => {
                resolve(peerUid(socket));
                socket.destroy();
            }),
        );
        const client = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
        assert.equal(await seen, process.getuid!());
        client.destroy();
        server.close();
    });

    it(
        "a local user (nobody) who sends wrong tokens is locked out, root with its token is not",
        { skip: !root || !fs.existsSync("/usr/bin/setpriv") ? "needs root and setpriv" : false },
        async () => {
            const codes: string[] = [];
            for (let i = 0; i < 12; i++) {
                // Asynchronously: the API answers from this process's event loop.
                const run = await execFileAsync(
                    "setpriv",
                    [
                        "--reuid=nobody",
                        "--regid=nogroup",
                        "--clear-groups",
                        "curl",
                        "-s",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code}",
                        "-H",
                        `Authorization: Bearer wrong-${i}`,
                        `${url}/local/v1/status`,
                    ],
                    { encoding: "utf8", timeout: 20_000 },
                );
                codes.push(run.stdout);
            }
            assert.deepEqual(codes.slice(9), ["401", "429", "429"]);
            const res = await fetch(`${url}/local/v1/status`, {
                headers: { Authorization: `Bearer ${TOKENS.admin}` },
            });
            assert.equal(res.status, 200, await res.text());
        },
    );
});
