/**
 * The dashboard's live view, `GET /api/v1/stream` (autoscaler/api/stream.ts): a server-sent
 * events stream of cluster snapshots behind the public API's login, sent at once and then on
 * change, with keep-alive comments in between, unbuffered by the proxy, bounded in number.
 * The API listens on 127.0.0.1 for real (a stream cannot go through `inject`); the service
 * behind it is a stand-in whose answers the tests change. The stream through the generated nginx
 * site is in test/integration/salt-generated-configs.test.ts.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { buildPublicApi, CSRF_HEADER, SESSION_COOKIE } from "../../autoscaler/api/public";
import { SessionStore } from "../../autoscaler/api/sessions";
import type { DynamicClusterService } from "../../autoscaler/service";
import { waitFor } from "../helpers/waitFor";

const LOGIN = { username: "admin", password: "correct-horse-battery" };
const BASIC = `Basic ${Buffer.from(`${LOGIN.username}:${LOGIN.password}`).toString("base64")}`;

/** One open stream: its answer's status and headers, and the events and comments so far. */
interface OpenStream {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
    events: Array<{ event: string; data: unknown }>;
    comments: number;
    /** The server ended the answer. */
    ended: boolean;
    close(): void;
}

function openStream(port: number, headers: http.OutgoingHttpHeaders): Promise<OpenStream> {
    return new Promise((resolve, reject) => {
        const req = http.get(
            { host: "127.0.0.1", port, path: "/api/v1/stream", headers, agent: false },
            (res) => {
                const stream: OpenStream = {
                    status: res.statusCode!,
                    headers: res.headers,
                    body: "",
                    events: [],
                    comments: 0,
                    ended: false,
                    close: () => req.destroy(),
                };
                let pending = "";
                res.setEncoding("utf8");
                res.on("data", (chunk: string) => {
                    stream.body += chunk;
                    pending += chunk;
                    let end: number;
                    while ((end = pending.indexOf("\n\n")) >= 0) {
                        const block = pending.slice(0, end);
                        pending = pending.slice(end + 2);
                        if (block.startsWith(":")) stream.comments += 1;
                        const event = /^event: (.*)$/m.exec(block)?.[1];
                        const data = /^data: (.*)$/m.exec(block)?.[1];
                        if (event && data) stream.events.push({ event, data: JSON.parse(data) });
                    }
                });
                res.on("end", () => (stream.ended = true));
                res.on("error", () => undefined);
                resolve(stream);
            },
        );
        req.on("error", reject);
    });
}

describe("the dashboard's live view", () => {
    let app: FastifyInstance;
    let port: number;
    const state = { autoMode: true, workers: [{ node: "compute-dy-1", phase: "ready" }] };
    const streams: OpenStream[] = [];

    before(async () => {
        const service = {
            status: () => ({ autoMode: state.autoMode }),
            workers: () => state.workers,
            jobs: () => [{ id: "7", state: "PENDING", reason: "Resources" }],
            recentEvents: () => [{ level: "info", message: "launched compute-dy-1" }],
        } as unknown as DynamicClusterService;
        app = buildPublicApi(service, LOGIN, pino({ level: "silent" }), {
            stream: { intervalMs: 20, heartbeatMs: 100, maxStreams: 2 },
        });
        port = Number(new URL(await app.listen({ host: "127.0.0.1", port: 0 })).port);
    });
    after(async () => {
        for (const s of streams) s.close();
        await app.close();
    });

    const open = async (headers: http.OutgoingHttpHeaders) => {
        const s = await openStream(port, headers);
        streams.push(s);
        return s;
    };

    it("sends a snapshot at once: status, workers, jobs and events, unbuffered by the proxy", async () => {
        const s = await open({ authorization: BASIC });
        assert.equal(s.status, 200);
        assert.match(String(s.headers["content-type"]), /^text\/event-stream/);
        assert.equal(s.headers["x-accel-buffering"], "no");
        assert.equal(s.headers["cache-control"], "no-store");
        const [first] = await waitFor("the first snapshot", () =>
            s.events.length ? s.events : undefined,
        );
        assert.deepEqual(first, {
            event: "snapshot",
            data: {
                status: { autoMode: true },
                workers: [{ node: "compute-dy-1", phase: "ready" }],
                jobs: [{ id: "7", state: "PENDING", reason: "Resources" }],
                events: [{ level: "info", message: "launched compute-dy-1" }],
            },
        });
        s.close();
    });

    it("sends a new snapshot when something changed, and only keep-alive comments otherwise", async () => {
        const s = await open({ authorization: BASIC });
        await waitFor("the first snapshot", () => (s.events.length ? true : undefined));
        await waitFor("two keep-alive comments", () => (s.comments >= 2 ? true : undefined));
        assert.equal(s.events.length, 1, "nothing changed, nothing sent again");
        state.workers = [{ node: "compute-dy-1", phase: "draining" }];
        const second = await waitFor("the changed snapshot", () => s.events[1]);
        assert.deepEqual((second.data as { workers: unknown }).workers, [
            { node: "compute-dy-1", phase: "draining" },
        ]);
        s.close();
    });

    it("refuses a client without the login (401) and sends it nothing of the cluster", async () => {
        const s = await open({});
        assert.equal(s.status, 401);
        await waitFor("the end of the answer", () => (s.body.length ? true : undefined));
        assert.doesNotMatch(s.body, /compute-dy|snapshot/);
    });

    it("opens with a dashboard session's cookie too", async () => {
        const login = await app.inject({
            method: "POST",
            url: "/api/v1/login",
            payload: LOGIN,
        });
        const cookie = String(login.headers["set-cookie"]).split(";")[0]!;
        assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=`));
        const s = await open({ cookie });
        assert.equal(s.status, 200);
        await waitFor("a snapshot", () => (s.events.length ? true : undefined));
        s.close();
    });

    it("holds at most maxStreams open: the next is a 503 that says why, and a closed one frees its place", async () => {
        const [a, b] = [await open({ authorization: BASIC }), await open({ authorization: BASIC })];
        assert.deepEqual([a.status, b.status], [200, 200]);
        const refused = await waitFor("a refusal while two are open", async () => {
            const c = await open({ authorization: BASIC });
            if (c.status === 200) {
                c.close(); // an earlier test's stream was still closing
                return undefined;
            }
            return c;
        });
        assert.equal(refused.status, 503);
        await waitFor("the refusal's text", () => (refused.body ? true : undefined));
        assert.match(refused.body, /2 live views are open already/);
        a.close();
        const again = await waitFor("a place freed by the closed stream", async () => {
            const c = await open({ authorization: BASIC });
            return c.status === 200 ? c : undefined;
        });
        again.close();
        b.close();
    });
});

describe("the live view ends with its session", () => {
    const service = {
        status: () => ({ autoMode: true }),
        workers: () => [],
        jobs: () => [],
        recentEvents: () => [],
    } as unknown as DynamicClusterService;

    /** Streams the current test opened; closed whatever happens, so the server can stop. */
    const opened: OpenStream[] = [];
    const track = async (stream: Promise<OpenStream>) => {
        const s = await stream;
        opened.push(s);
        return s;
    };

    async function withApi(
        sessions: SessionStore,
        body: (app: FastifyInstance, port: number) => Promise<void>,
    ): Promise<void> {
        const app = buildPublicApi(service, LOGIN, pino({ level: "silent" }), {
            sessions,
            stream: { intervalMs: 20, heartbeatMs: 50, maxStreams: 5 },
        });
        const port = Number(new URL(await app.listen({ host: "127.0.0.1", port: 0 })).port);
        try {
            await body(app, port);
        } finally {
            for (const s of opened.splice(0)) s.close();
            await app.close();
        }
    }

    async function login(app: FastifyInstance) {
        const res = await app.inject({ method: "POST", url: "/api/v1/login", payload: LOGIN });
        return {
            cookie: String(res.headers["set-cookie"]).split(";")[0]!,
            csrf: res.json<{ csrfToken: string }>().csrfToken,
        };
    }

    it("at logout: the open stream of that session ends", async () => {
        await withApi(new SessionStore(), async (app, port) => {
            const { cookie, csrf } = await login(app);
            const s = await track(openStream(port, { cookie }));
            await waitFor("a snapshot", () => (s.events.length ? true : undefined));
            const out = await app.inject({
                method: "POST",
                url: "/api/v1/logout",
                headers: { cookie, [CSRF_HEADER]: csrf },
            });
            assert.equal(out.statusCode, 200);
            await waitFor("the stream to end", () => (s.ended ? true : undefined));
            assert.match(s.body, /: the session has ended/);
        });
    });

    it("when the session idles out: the stream itself does not keep it alive", async () => {
        const sessions = new SessionStore({ idleMs: 300, maxAgeMs: 60_000, maxEntries: 10 });
        await withApi(sessions, async (app, port) => {
            const { cookie } = await login(app);
            const s = await track(openStream(port, { cookie }));
            await waitFor("a snapshot", () => (s.events.length ? true : undefined));
            await waitFor("the stream to end", () => (s.ended ? true : undefined));
            const after = await app.inject({ url: "/api/v1/status", headers: { cookie } });
            assert.equal(after.statusCode, 401, "the session is over");
        });
    });

    it("a stream opened with HTTP Basic is not cut", async () => {
        await withApi(
            new SessionStore({ idleMs: 100, maxAgeMs: 200, maxEntries: 10 }),
            async (_app, port) => {
                const s = await track(openStream(port, { authorization: BASIC }));
                await waitFor("keep-alives past the session limits", () =>
                    s.comments >= 6 ? true : undefined,
                );
                assert.equal(s.ended, false);
                s.close();
            },
        );
    });
});
