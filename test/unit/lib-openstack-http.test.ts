/**
 * The OpenStack HTTP client's waits between attempts: `Retry-After` is honoured but capped (one
 * answer of an hour must not stall the service's reconcile loop), and a bad or absent value
 * falls back to the ordinary backoff. The delay arithmetic is table-tested as a pure function;
 * the client itself is run against a real HTTP server on 127.0.0.1 that answers 429/503 with
 * `Retry-After: 3600`, with the wait between attempts recorded instead of slept.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
    backoffMs,
    httpRequest,
    MAX_RETRY_AFTER_MS,
    parseRetryAfter,
    type RetryPolicy,
} from "../../lib/openstack/http";

const POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 800, timeoutMs: 5000 };
const NOW = Date.parse("2026-05-01T12:00:00Z");

describe("Retry-After", () => {
    it("is capped at 30 s", () => assert.equal(MAX_RETRY_AFTER_MS, 30_000));

    const parsed: Array<[string | null, number | undefined]> = [
        [null, undefined],
        ["", undefined],
        ["0", 0],
        ["3", 3],
        ["3600", 3600],
        [" 7 ", 7],
        ["-5", undefined], // not delay-seconds (RFC 9110 10.2.3): ignored
        ["1.5", undefined],
        ["soon", undefined],
        ["1e3", undefined],
        ["Fri, 01 May 2026 12:00:30 GMT", 30],
        ["Fri, 01 May 2026 13:00:00 GMT", 3600],
        ["Fri, 01 May 2026 11:00:00 GMT", 0], // a date in the past: no wait asked
    ];
    for (const [header, seconds] of parsed) {
        it(`reads ${JSON.stringify(header)} as ${seconds} s`, () => {
            assert.equal(parseRetryAfter(header, NOW), seconds);
        });
    }

    // [attempt, Retry-After seconds, random(), expected ms]
    const delays: Array<[number, number | undefined, number, number]> = [
        [1, undefined, 0.5, 50], // full jitter of 100 ms
        [4, undefined, 0.999, 799], // capped by maxDelayMs
        [1, 3, 0.5, 3000], // the server's wait, when longer than the jitter
        [1, 0, 0.5, 50],
        [1, 3600, 0.5, 30_000], // an hour: capped
        [1, 3600, 0, 30_000],
        [3, 31, 0.999, 30_000],
        [1, Number.POSITIVE_INFINITY, 0.5, 30_000],
    ];
    for (const [attempt, retryAfter, random, expected] of delays) {
        it(`waits ${expected} ms before retry ${attempt} (Retry-After ${retryAfter})`, () => {
            assert.equal(
                backoffMs(POLICY, attempt, retryAfter, () => random),
                expected,
            );
        });
    }
});

describe("httpRequest against a server asking for an hour", () => {
    let server: Server;
    let base: string;
    const hits: string[] = [];
    /** Answers per path: a queue of [status, headers]; then 200. */
    const script = new Map<string, Array<[number, Record<string, string>]>>();

    before(async () => {
        server = createServer((req, res) => {
            hits.push(`${req.method} ${req.url}`);
            const next = script.get(req.url ?? "")?.shift();
            if (next) {
                const [status, headers] = next;
                res.writeHead(status, { "content-type": "application/json", ...headers });
                res.end(JSON.stringify({ error: { message: "slow down" } }));
                return;
            }
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ ok: true }));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    for (const status of [429, 503]) {
        it(
            `retries a ${status} with Retry-After: 3600 after at most the cap`,
            { timeout: 10_000 },
            async () => {
                const path = `/servers-${status}`;
                script.set(path, [[status, { "retry-after": "3600" }]]);
                const waits: number[] = [];
                const response = await httpRequest(
                    { method: "GET", url: base + path },
                    POLICY,
                    async (ms) => {
                        waits.push(ms);
                    },
                );
                assert.equal(response.status, 200);
                assert.deepEqual(response.json, { ok: true });
                assert.deepEqual(waits, [MAX_RETRY_AFTER_MS]);
                assert.equal(hits.filter((h) => h === `GET ${path}`).length, 2);
            },
        );
    }

    it("falls back to the ordinary backoff for a Retry-After it cannot read", async () => {
        const path = "/servers-bad";
        script.set(path, [[503, { "retry-after": "tomorrow-ish" }]]);
        const waits: number[] = [];
        const response = await httpRequest(
            { method: "GET", url: base + path },
            POLICY,
            async (ms) => {
                waits.push(ms);
            },
        );
        assert.equal(response.status, 200);
        assert.equal(waits.length, 1);
        assert.ok(waits[0]! >= 0 && waits[0]! < POLICY.baseDelayMs, `waited ${waits[0]} ms`);
    });

    it("reports the server's own Retry-After on the error when attempts run out", async () => {
        const path = "/servers-gone";
        script.set(path, [
            [429, { "retry-after": "3600" }],
            [429, { "retry-after": "3600" }],
            [429, { "retry-after": "3600" }],
        ]);
        const waits: number[] = [];
        await assert.rejects(
            httpRequest({ method: "GET", url: base + path }, POLICY, async (ms) => {
                waits.push(ms);
            }),
            (err: unknown) =>
                (err as { status?: number }).status === 429 &&
                (err as { retryAfterSeconds?: number }).retryAfterSeconds === 3600,
        );
        assert.deepEqual(waits, [MAX_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS]);
    });
});

describe("a file upload", () => {
    let server: Server;
    let base: string;
    const received: Array<{ length: string | undefined; type: string | undefined; body: Buffer }> =
        [];
    let dir: string;

    before(async () => {
        dir = mkdtempSync(path.join(tmpdir(), "dc-http-upload-"));
        server = createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (chunk: Buffer) => chunks.push(chunk));
            req.on("end", () => {
                received.push({
                    length: req.headers["content-length"],
                    type: req.headers["content-type"],
                    body: Buffer.concat(chunks),
                });
                res.writeHead(204);
                res.end();
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
    });

    it("streams the file with its length and type, and no JSON body", async () => {
        const file = path.join(dir, "image");
        // Larger than one stream chunk (64 KiB), so the body arrives in pieces.
        const content = randomBytes(300_000);
        writeFileSync(file, content);
        const response = await httpRequest({
            method: "PUT",
            url: `${base}/v2/images/x/file`,
            upload: { path: file, contentType: "application/octet-stream" },
        });
        assert.equal(response.status, 204);
        assert.equal(received.length, 1);
        assert.equal(received[0]!.length, String(content.length));
        assert.equal(received[0]!.type, "application/octet-stream");
        assert.ok(received[0]!.body.equals(content));
    });

    it("fails with the file's error when the file cannot be read", async () => {
        await assert.rejects(
            httpRequest(
                {
                    method: "PUT",
                    url: `${base}/v2/images/y/file`,
                    upload: {
                        path: path.join(dir, "missing"),
                        contentType: "application/octet-stream",
                    },
                },
                { attempts: 1, baseDelayMs: 0, maxDelayMs: 0, timeoutMs: 5000 },
            ),
            /ENOENT/,
        );
    });
});
