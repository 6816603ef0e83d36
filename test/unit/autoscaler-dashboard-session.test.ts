/**
 * The dashboard's login sessions (autoscaler/api/sessions.ts, wired in autoscaler/api/public.ts):
 * `POST /api/v1/login` sets an `HttpOnly; Secure; SameSite=Strict` cookie and returns the CSRF
 * token; a session opens every report, and every state-changing call only with its token in
 * `X-CSRF-Token`; logout ends it; wrong passwords on the login route count in the same throttle
 * as HTTP Basic; idle and old sessions end; the store is bounded. Scripts keep HTTP Basic.
 * Requests go through Fastify's `inject` from the proxy's address; the service behind the API is
 * a stand-in that records the admin actions it is asked for. The same flow through the generated
 * nginx site is in test/integration/salt-generated-configs.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { buildPublicApi, CSRF_HEADER, SESSION_COOKIE } from "../../autoscaler/api/public";
import { SessionStore } from "../../autoscaler/api/sessions";
import type { DynamicClusterService } from "../../autoscaler/service";

const LOGIN = { username: "admin", password: "correct-horse-battery" };
const PROXY = "127.0.0.1";

function setup(sessions?: SessionStore) {
    const actions: string[] = [];
    const service = {
        status: () => ({ autoMode: true, breaker: { open: false } }),
        workers: () => [],
        actions: {
            resetBreaker: async (by: string) => void actions.push(`reset by ${by}`),
            setAutoMode: async (on: boolean, by: string) =>
                void actions.push(`auto ${String(on)} by ${by}`),
        },
    } as unknown as DynamicClusterService;
    const app = buildPublicApi(service, LOGIN, pino({ level: "silent" }), { sessions });
    return { app, actions };
}

type App = ReturnType<typeof setup>["app"];

async function logIn(app: App, password = LOGIN.password, peer = PROXY) {
    const res = await app.inject({
        method: "POST",
        url: "/api/v1/login",
        remoteAddress: peer,
        payload: { username: LOGIN.username, password },
    });
    const setCookie = res.headers["set-cookie"];
    const cookie = typeof setCookie === "string" ? setCookie : undefined;
    const id = cookie ? /^dc_session=([^;]*)/.exec(cookie)?.[1] : undefined;
    return {
        res,
        cookie,
        id,
        body: res.json<{ csrfToken?: string; error?: string; message?: string }>(),
    };
}

describe("dashboard sessions", () => {
    it("a login sets an HttpOnly, Secure, SameSite=Strict cookie for the whole site and returns the CSRF token", async () => {
        const { app } = setup();
        const { res, cookie, id, body } = await logIn(app);
        assert.equal(res.statusCode, 200, res.body);
        assert.ok(cookie);
        const attributes = cookie.split(";").map((a) => a.trim().toLowerCase());
        for (const a of ["httponly", "secure", "samesite=strict", "path=/", "max-age=43200"])
            assert.ok(attributes.includes(a), `${a} in ${cookie}`);
        assert.match(id!, /^[A-Za-z0-9_-]{43}$/);
        assert.match(body.csrfToken!, /^[A-Za-z0-9_-]{43}$/);
        assert.notEqual(body.csrfToken, id);
    });

    it("a wrong password gets a clear 401, no cookie and no browser login prompt", async () => {
        const { app } = setup();
        const { res, cookie } = await logIn(app, "wrong");
        assert.equal(res.statusCode, 401);
        assert.equal(cookie, undefined);
        assert.equal(res.headers["www-authenticate"], undefined);
        assert.match(res.body, /wrong user name or password/);
    });

    it("the session opens the reports, and GET /session gives the page its CSRF token", async () => {
        const { app } = setup();
        const { id, body } = await logIn(app);
        const headers = { cookie: `${SESSION_COOKIE}=${id!}` };
        const status = await app.inject({ url: "/api/v1/status", remoteAddress: PROXY, headers });
        assert.equal(status.statusCode, 200, status.body);
        const session = await app.inject({ url: "/api/v1/session", remoteAddress: PROXY, headers });
        assert.deepEqual(session.json(), {
            user: "admin",
            csrfToken: body.csrfToken,
            via: "session",
        });
    });

    it("a state-changing call needs the session's CSRF token: none or a wrong one is 403 and nothing happens", async () => {
        const { app, actions } = setup();
        const { id, body } = await logIn(app);
        const cookie = `${SESSION_COOKIE}=${id!}`;
        for (const headers of [{ cookie }, { cookie, [CSRF_HEADER]: "x".repeat(43) }]) {
            const res = await app.inject({
                method: "POST",
                url: "/api/v1/breaker/reset",
                remoteAddress: PROXY,
                headers,
            });
            assert.equal(res.statusCode, 403, res.body);
            assert.match(res.body, /CSRF token/);
        }
        assert.deepEqual(actions, []);
        const ok = await app.inject({
            method: "POST",
            url: "/api/v1/breaker/reset",
            remoteAddress: PROXY,
            headers: { cookie, [CSRF_HEADER]: body.csrfToken! },
        });
        assert.equal(ok.statusCode, 200, ok.body);
        assert.deepEqual(actions, ["reset by admin"]);
    });

    it("a call without a session or login is 401; a cookie with an unknown ID is no session", async () => {
        const { app, actions } = setup();
        for (const headers of [{}, { cookie: `${SESSION_COOKIE}=forged` }]) {
            const res = await app.inject({
                method: "PUT",
                url: "/api/v1/auto",
                remoteAddress: PROXY,
                headers: { ...headers, [CSRF_HEADER]: "anything" },
                payload: { on: false },
            });
            assert.equal(res.statusCode, 401, res.body);
        }
        assert.deepEqual(actions, []);
    });

    it("a state-changing call a browser marks cross-site is refused, even with valid credentials", async () => {
        const { app, actions } = setup();
        const { id, body } = await logIn(app);
        for (const headers of [
            { cookie: `${SESSION_COOKIE}=${id!}`, [CSRF_HEADER]: body.csrfToken! },
            {
                authorization: `Basic ${Buffer.from("admin:correct-horse-battery").toString("base64")}`,
            },
        ]) {
            const res = await app.inject({
                method: "POST",
                url: "/api/v1/breaker/reset",
                remoteAddress: PROXY,
                headers: { ...headers, "sec-fetch-site": "cross-site" },
            });
            assert.equal(res.statusCode, 403, res.body);
        }
        assert.deepEqual(actions, []);
    });

    it("logout ends the session and clears the cookie; the old cookie then opens nothing", async () => {
        const { app } = setup();
        const { id, body } = await logIn(app);
        const cookie = `${SESSION_COOKIE}=${id!}`;
        const out = await app.inject({
            method: "POST",
            url: "/api/v1/logout",
            remoteAddress: PROXY,
            headers: { cookie, [CSRF_HEADER]: body.csrfToken! },
        });
        assert.equal(out.statusCode, 200, out.body);
        assert.match(String(out.headers["set-cookie"]), /^dc_session=; .*Max-Age=0/);
        const after = await app.inject({
            url: "/api/v1/status",
            remoteAddress: PROXY,
            headers: { cookie },
        });
        assert.equal(after.statusCode, 401);
    });

    it("scripts keep HTTP Basic, with no CSRF token", async () => {
        const { app, actions } = setup();
        const res = await app.inject({
            method: "POST",
            url: "/api/v1/breaker/reset",
            remoteAddress: PROXY,
            headers: {
                authorization: `Basic ${Buffer.from("admin:correct-horse-battery").toString("base64")}`,
            },
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(actions, ["reset by admin"]);
    });

    it("wrong passwords on the login route are throttled per client like HTTP Basic, and then the right one is refused too", async () => {
        const { app } = setup();
        const codes: number[] = [];
        for (let i = 0; i < 11; i++)
            codes.push((await logIn(app, "wrong", "10.1.2.3")).res.statusCode);
        assert.deepEqual(codes, [...Array(10).fill(401), 429]);
        const locked = await logIn(app, LOGIN.password, "10.1.2.3");
        assert.equal(locked.res.statusCode, 429);
        assert.match(
            locked.res.body,
            /too many failed logins from your address; try again in \d+ s/,
        );
        assert.equal(locked.cookie, undefined);
        assert.equal((await logIn(app, LOGIN.password, "10.1.2.4")).res.statusCode, 200);
    });

    it("a session ends after its idle time and after its maximum age; the store keeps at most its bound", () => {
        let now = 0;
        const store = new SessionStore({ idleMs: 1000, maxAgeMs: 5000, maxEntries: 3 }, () => now);
        const a = store.create("admin");
        now = 900;
        assert.ok(store.get(a.id), "used within the idle time");
        now = 1899;
        assert.ok(store.get(a.id));
        now = 2899;
        assert.equal(store.get(a.id), undefined, "idle 1 s");
        now = 0;
        const b = store.create("admin");
        for (now = 900; now < 5000; now += 900) assert.ok(store.get(b.id), `used at ${now}`);
        now = 5000;
        assert.equal(store.get(b.id), undefined, "5 s after its login, however used");
        now = 10_000;
        const ids = [1, 2, 3, 4].map(() => store.create("admin").id);
        assert.equal(store.size, 3);
        assert.equal(store.get(ids[0]), undefined, "the oldest went first");
        assert.ok(store.get(ids[3]));
        assert.equal(store.delete(ids[3]), true);
        assert.equal(store.get(ids[3]), undefined);
    });
});
