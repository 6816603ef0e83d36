/**
 * The public API's login throttle (autoscaler/api/public.ts). The client's address is the
 * proxy's own `X-Real-IP` header, trusted only on connections from the proxy's address
 * (127.0.0.1: nginx on the head node), and otherwise the connection's peer; `X-Forwarded-For` is
 * never read. Failed logins are counted per address and per account, in bounded tables that
 * evict their oldest entries; an address that logged in recently is not locked out by an attack
 * on its account from elsewhere. Requests go through Fastify's `inject` with the peer address set
 * (`remoteAddress`), the service behind the API is a stand-in.
 * The generated nginx config in front of the real API is tested in
 * test/integration/salt-generated-configs.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { buildPublicApi } from "../../autoscaler/api/public";
import { FailureThrottle } from "../../autoscaler/api/throttle";
import type { DynamicClusterService } from "../../autoscaler/service";

const LOGIN = { username: "admin", password: "correct-horse-battery" };
const PROXY = "127.0.0.1";

const service = {
    status: () => ({ autoMode: true }),
    workers: () => [],
} as unknown as DynamicClusterService;

function api() {
    return buildPublicApi(service, LOGIN, pino({ level: "silent" }));
}

const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function login(
    app: ReturnType<typeof api>,
    options: {
        peer?: string;
        headers?: Record<string, string>;
        user?: string;
        password?: string;
    } = {},
): Promise<number> {
    const res = await app.inject({
        method: "GET",
        url: "/api/v1/session",
        remoteAddress: options.peer ?? PROXY,
        headers: {
            authorization: basic(options.user ?? LOGIN.username, options.password ?? "wrong"),
            ...options.headers,
        },
    });
    return res.statusCode;
}

const addr = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

describe("login throttle: the client cannot choose the address it is counted under", () => {
    it("200 wrong passwords from the proxy's address with a new X-Forwarded-For and X-Real-IP each time are throttled (per account)", async () => {
        const app = api();
        const codes: number[] = [];
        for (let i = 0; i < 200; i++) {
            codes.push(
                await login(app, {
                    headers: { "x-forwarded-for": addr(i), "x-real-ip": addr(i + 1000) },
                }),
            );
        }
        const first = codes.indexOf(429);
        assert.ok(first >= 0 && first <= 20, `first 429 at attempt ${first + 1}`);
        assert.deepEqual(codes.slice(0, first), Array(first).fill(401));
        assert.ok(
            codes.slice(first).every((c) => c === 429),
            "locked for the rest of the minute",
        );
        // Locked means not checked: the right password gets 429 from a new address too.
        assert.equal(
            await login(app, { headers: { "x-real-ip": "192.0.2.77" }, password: LOGIN.password }),
            429,
        );
        await app.close();
    });

    it("200 wrong passwords from 200 real peer addresses are throttled per account", async () => {
        const app = api();
        const codes: number[] = [];
        for (let i = 0; i < 200; i++) codes.push(await login(app, { peer: addr(i) }));
        const first = codes.indexOf(429);
        assert.ok(first >= 0 && first <= 20, `first 429 at attempt ${first + 1}`);
        await app.close();
    });

    it("X-Real-IP counts only on connections from the proxy: a direct client is counted under its own address", async () => {
        const app = api();
        const codes: number[] = [];
        for (let i = 0; i < 11; i++) {
            codes.push(
                await login(app, {
                    peer: "203.0.113.9",
                    user: "someone",
                    headers: { "x-real-ip": addr(i), "x-forwarded-for": addr(i) },
                }),
            );
        }
        assert.deepEqual(codes, [...Array(10).fill(401), 429]);
        await app.close();
    });
});

describe("login throttle: IPv6 clients", () => {
    it("are counted per /64, so a host cannot rotate through its own prefix", async () => {
        const app = api();
        const codes: number[] = [];
        for (let i = 1; i <= 11; i++) {
            codes.push(
                await login(app, {
                    user: "someone",
                    headers: { "x-real-ip": `2001:db8:1:2::${i.toString(16)}` },
                }),
            );
        }
        assert.deepEqual(codes, [...Array(10).fill(401), 429]);
        // Another /64 is another client.
        assert.equal(
            await login(app, {
                headers: { "x-real-ip": "2001:db8:1:3::1" },
                password: LOGIN.password,
            }),
            200,
        );
        await app.close();
    });
});

describe("login throttle: one address or one account does not lock out the others", () => {
    it("an address locked out (for another account) does not lock out a second address behind the proxy", async () => {
        const app = api();
        const a = { "x-real-ip": "198.51.100.7" };
        const b = { "x-real-ip": "198.51.100.8" };
        const codes: number[] = [];
        for (let i = 0; i < 11; i++) codes.push(await login(app, { headers: a, user: "root" }));
        assert.deepEqual(codes, [...Array(10).fill(401), 429]);
        // The locked address is not checked at all, even with the right login ...
        assert.equal(await login(app, { headers: a, password: LOGIN.password }), 429);
        // ... and the other address (all of them reach the service from nginx, 127.0.0.1) is free.
        assert.equal(await login(app, { headers: b, password: LOGIN.password }), 200);
        // The same through nginx's auth_request for Graphite, which now sends X-Real-IP too.
        assert.equal(
            await login(app, {
                headers: { ...b, "x-original-uri": "/graphite/" },
                password: LOGIN.password,
            }),
            200,
        );
        await app.close();
    });

    it("an address that logged in recently is not locked out by an attack on its account from elsewhere", async () => {
        const app = api();
        const mine = { "x-real-ip": "198.51.100.20" };
        assert.equal(await login(app, { headers: mine, password: LOGIN.password }), 200);
        const codes: number[] = [];
        for (let i = 0; i < 60; i++) codes.push(await login(app, { peer: addr(i) }));
        assert.ok(codes.includes(429), "the attack is throttled");
        assert.equal(await login(app, { headers: mine, password: LOGIN.password }), 200);
        // ... but a known address is still limited like any other.
        const mineWrong: number[] = [];
        for (let i = 0; i < 11; i++) mineWrong.push(await login(app, { headers: mine }));
        assert.deepEqual(mineWrong, [...Array(10).fill(401), 429]);
        await app.close();
    });

    it("says why it refuses and when to retry", async () => {
        const app = api();
        for (let i = 0; i < 10; i++) await login(app, { peer: "203.0.113.50", user: "x" });
        const res = await app.inject({
            method: "GET",
            url: "/api/v1/status",
            remoteAddress: "203.0.113.50",
            headers: { authorization: basic("x", "y") },
        });
        assert.equal(res.statusCode, 429);
        assert.match(res.body, /too many failed logins from your address/);
        const wait = Number(res.headers["retry-after"]);
        assert.ok(wait > 0 && wait <= 60, `Retry-After: ${wait}`);
        await app.close();
    });
});

describe("login throttle: bounded tables", () => {
    it("stay bounded and evict the oldest entries, never the one blocked last", () => {
        const t = new FailureThrottle({ limit: 3, windowMs: 60_000, maxEntries: 100 });
        const now = 1_000_000;
        for (let i = 0; i < 99; i++) t.fail(`old-${i}`, now);
        for (let i = 0; i < 3; i++) t.fail("attacker", now + 1);
        assert.equal(t.blocked("attacker", now + 2), true);
        // One more entry than the table holds: the old code cleared the whole table here.
        t.fail("new-0", now + 3);
        assert.equal(t.size, 100);
        assert.equal(t.blocked("attacker", now + 4), true, "the blocked entry survives");
        assert.equal(t.has("old-0"), false, "the oldest entry went");
        for (let i = 0; i < 10_000; i++) t.fail(`flood-${i}`, now + 5);
        assert.equal(t.size, 100);
        // Expired entries go first, and an expired lock is no lock.
        assert.equal(t.blocked("flood-9999", now + 70_000), false);
    });
});
