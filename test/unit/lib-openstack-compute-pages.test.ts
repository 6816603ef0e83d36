/**
 * Server listing walks every page the way Nova hands them out: the client asks for its page size
 * (`limit`, default 200), Nova answers at most its own `[api] max_limit` (`osapi_max_limit`)
 * servers and a `servers_links` entry with `rel: "next"` whenever the page is full, and the
 * client follows those links until a page has none. A cloud whose limit is below the client's
 * page size must not truncate the list (live workers would look gone).
 *
 * Keystone and Nova are played by one node:http server in this process that issues a token
 * whose catalog points at it and pages `/servers/detail` like Nova's
 * `nova/api/openstack/common.py` `_get_collection_links` does: `limit` capped by max_limit, a
 * next link exactly when the page is full, its href on the cloud's public link prefix (another
 * host, which the client must never contact: it takes only the marker from the link).
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { ComputeClient, DEFAULT_PAGE_SIZE } from "../../lib/openstack/compute";
import type { CloudCredentials } from "../../lib/openstack/credentials";
import type { RetryPolicy } from "../../lib/openstack/http";
import { Session } from "../../lib/openstack/session";

const PROJECT = "p0123";
const TAG = "dc-cluster-pages";
/** The host Nova's links name (its `compute_link_prefix`), never reachable from the test. */
const LINK_PREFIX = "http://nova.public.invalid:8774";
const ONE_ATTEMPT: RetryPolicy = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 5000 };

/** How the fake Nova behaves in one test. */
interface Cloud {
    /** Servers in listing order. */
    servers: Array<{ id: string; tags: string[] }>;
    /** Nova's `[api] max_limit`. */
    maxLimit: number;
    /** A broken cloud: every next link repeats the first page's marker. */
    stuckMarker?: boolean;
}

let cloud: Cloud;
/** `GET /servers/detail` requests as received (path and query). */
let listings: URL[];
let http: Server;
let base: string;

/** Nova's `GET /servers/detail` with tags, limit and marker. */
function listServers(url: URL): { status: number; body: unknown } {
    const wanted = (url.searchParams.get("tags") ?? "").split(",").filter(Boolean);
    const matching = cloud.servers.filter((s) => wanted.every((t) => s.tags.includes(t)));
    const limit = Math.min(Number(url.searchParams.get("limit") ?? cloud.maxLimit), cloud.maxLimit);
    const marker = url.searchParams.get("marker");
    let start = 0;
    if (marker !== null) {
        const at = matching.findIndex((s) => s.id === marker);
        if (at < 0) {
            return {
                status: 400,
                body: { badRequest: { code: 400, message: `marker [${marker}] not found` } },
            };
        }
        start = at + 1;
    }
    const page = matching.slice(start, start + limit);
    const body: Record<string, unknown> = {
        servers: page.map((s) => ({
            id: s.id,
            name: s.id,
            status: "ACTIVE",
            tags: s.tags,
            metadata: {},
            addresses: {},
            created: "2026-05-01T12:00:00Z",
        })),
    };
    if (page.length > 0 && page.length === limit) {
        const next = new URLSearchParams(url.searchParams);
        next.set("marker", cloud.stuckMarker ? matching[0]!.id : page[page.length - 1]!.id);
        body["servers_links"] = [
            { rel: "next", href: `${LINK_PREFIX}/v2.1/${PROJECT}/servers/detail?${next}` },
        ];
    }
    return { status: 200, body };
}

function answer(req: IncomingMessage): { status: number; body: unknown; token?: string } {
    const url = new URL(req.url ?? "/", base);
    if (req.method === "POST" && url.pathname === "/v3/auth/tokens") {
        return {
            status: 201,
            token: "token-1",
            body: {
                token: {
                    expires_at: new Date(Date.now() + 3_600_000).toISOString(),
                    project: { id: PROJECT },
                    catalog: [
                        {
                            type: "compute",
                            endpoints: [
                                {
                                    interface: "public",
                                    region_id: "RegionOne",
                                    url: `${base}/v2.1/${PROJECT}`,
                                },
                            ],
                        },
                    ],
                },
            },
        };
    }
    if (req.method === "GET" && url.pathname === `/v2.1/${PROJECT}/servers/detail`) {
        listings.push(url);
        return listServers(url);
    }
    return { status: 404, body: { itemNotFound: { code: 404, message: "no such path" } } };
}

before(async () => {
    http = createServer((req, res) => {
        const { status, body, token } = answer(req);
        res.writeHead(status, {
            "content-type": "application/json",
            ...(token ? { "x-subject-token": token } : {}),
        });
        res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => http.close(() => resolve())));
beforeEach(() => {
    listings = [];
});

/** A client of the fake cloud, with client options. */
function client(options?: { pageSize?: number; maxPages?: number }): ComputeClient {
    const credentials: CloudCredentials = {
        authUrl: `${base}/v3`,
        interface: "public",
        auth: { kind: "application-credential", id: "cred", secret: "secret" },
    };
    return new ComputeClient(new Session(credentials, ONE_ATTEMPT), 10, options);
}

/** `count` servers tagged {@link TAG}, plus one of another cluster in between. */
function servers(count: number): Cloud["servers"] {
    const list = Array.from({ length: count }, (_, i) => ({
        id: `srv-${String(i + 1).padStart(2, "0")}`,
        tags: ["dc", TAG],
    }));
    list.splice(1, 0, { id: "other-cluster", tags: ["dc", "dc-cluster-other"] });
    return list;
}

const ids = (count: number): string[] =>
    Array.from({ length: count }, (_, i) => `srv-${String(i + 1).padStart(2, "0")}`);

describe("listServersByTags follows Nova's next links", () => {
    it("lists all 7 servers of a cloud whose max_limit (3) is below the default page size", async () => {
        cloud = { servers: servers(7), maxLimit: 3 };
        const listed = await client().listServersByTags([TAG]);
        assert.deepEqual(
            listed.map((s) => s.id),
            ids(7),
        );
        assert.equal(DEFAULT_PAGE_SIZE, 200);
        assert.deepEqual(
            listings.map((u) => [u.searchParams.get("limit"), u.searchParams.get("marker")]),
            [
                ["200", null],
                ["200", "srv-03"],
                ["200", "srv-06"],
            ],
        );
    });

    it("asks for the client's page size and walks 2+2+2+1 with the links' markers", async () => {
        cloud = { servers: servers(7), maxLimit: 1000 };
        const listed = await client({ pageSize: 2 }).listServersByTags([TAG]);
        assert.deepEqual(
            listed.map((s) => s.id),
            ids(7),
        );
        assert.deepEqual(
            listings.map((u) => [
                u.searchParams.get("tags"),
                u.searchParams.get("limit"),
                u.searchParams.get("marker"),
            ]),
            [
                [TAG, "2", null],
                [TAG, "2", "srv-02"],
                [TAG, "2", "srv-04"],
                [TAG, "2", "srv-06"],
            ],
        );
    });

    it("makes one request when everything fits on a page (no next link)", async () => {
        cloud = { servers: servers(3), maxLimit: 1000 };
        const listed = await client({ pageSize: 4 }).listServersByTags([TAG]);
        assert.deepEqual(
            listed.map((s) => s.id),
            ids(3),
        );
        assert.equal(listings.length, 1);
    });

    it("stops at the page cap with an error naming the cap, never a partial list", async () => {
        cloud = { servers: servers(10), maxLimit: 1000 };
        await assert.rejects(client({ pageSize: 2, maxPages: 3 }).listServersByTags([TAG]), {
            message:
                `Nova's list of servers tagged ${TAG} did not end within 3 pages of 2 ` +
                "(the client's page cap); refusing to act on a partial list.",
        });
        assert.equal(listings.length, 3);
    });

    it("fails at once on a next link whose marker does not advance", async () => {
        cloud = { servers: servers(10), maxLimit: 2, stuckMarker: true };
        await assert.rejects(client().listServersByTags([TAG]), {
            message:
                `Nova's list of servers tagged ${TAG} did not advance: its next link ` +
                'repeats the marker "srv-01"; refusing to act on a partial list.',
        });
        assert.equal(listings.length, 2);
    });

    it("rejects page options that cannot work", () => {
        assert.throws(() => client({ pageSize: 0 }), {
            message: "ComputeClient pageSize must be a whole number of at least 1 (got 0).",
        });
        assert.throws(() => client({ maxPages: 1.5 }), {
            message: "ComputeClient maxPages must be a whole number of at least 1 (got 1.5).",
        });
    });
});
