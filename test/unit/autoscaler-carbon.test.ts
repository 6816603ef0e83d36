/**
 * The carbon client (autoscaler/infra/carbon.ts) against real sockets on 127.0.0.1: a peer that
 * accepts and never reads (connected but slow) cannot make it hold more than its bound, and
 * every line is either delivered or counted as dropped; a port with nothing listening is retried
 * with capped exponential backoff, not at every send. The clock and the retry timer are
 * injected; connection attempts are counted at `net.Socket.prototype.connect`, so nothing of the
 * client's own bookkeeping is trusted. Against a real carbon-cache:
 * test/integration/metrics-carbon.test.ts.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { setImmediate as tick } from "node:timers/promises";
import { afterEach, describe, it } from "node:test";
import { CarbonClient } from "../../autoscaler/infra/carbon";
import { freePort } from "../helpers/ports";

/** Records the connection attempts made to `port` while installed (all sockets of the process). */
function countAttempts(port: number, at: () => number) {
    const original = net.Socket.prototype.connect;
    const attempts: Array<{ at: number; socket: net.Socket; closed: Promise<void> }> = [];
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
        const first = args[0];
        const options = (Array.isArray(first) ? first[0] : first) as { port?: unknown };
        if (typeof options === "object" && options !== null && Number(options.port) === port) {
            const closed = new Promise<void>((resolve) => this.once("close", () => resolve()));
            attempts.push({ at: at(), socket: this, closed });
        }
        return (original as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof original;
    return { attempts, restore: () => (net.Socket.prototype.connect = original) };
}

describe("carbon client", () => {
    const cleanups: Array<() => unknown> = [];
    afterEach(async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it("holds at most its bound for a connected peer that does not read, and counts every line it drops", async () => {
        const peers: net.Socket[] = [];
        // pauseOnConnect: the peer never reads, so the kernel's buffers fill and then the client's.
        const server = net.createServer({ pauseOnConnect: true }, (socket) => peers.push(socket));
        server.listen(0, "127.0.0.1");
        await once(server, "listening");
        cleanups.push(() => new Promise((resolve) => server.close(resolve)));
        const port = (server.address() as net.AddressInfo).port;

        const maxQueue = 1000;
        const counter = countAttempts(port, Date.now);
        cleanups.push(counter.restore);
        const client = new CarbonClient("127.0.0.1", port, "p".repeat(120), maxQueue);
        cleanups.push(() => client.close());
        // Before the client's close (which waits for a peer that reads), when the test failed.
        cleanups.push(() => peers.forEach((p) => p.destroy()));
        // Connected first: lines queued while connecting are not what this test is about.
        client.send("m", 1_000_000, 1_800_000_000_000);
        let sent = 1;
        await once(counter.attempts[0]!.socket, "connect");
        await tick();
        const lineBytes = `${"p".repeat(120)}.m 1000000 1800000000\n`.length;
        // Far beyond what loopback TCP buffers (send buffer at most net.ipv4.tcp_wmem's 4 MiB,
        // the unread receive window a few hundred KiB) plus the bound can hold.
        const limitLines = Math.ceil((48 * 1024 * 1024) / lineBytes);
        let maxPending = 0;
        let sentAfterFirstDrop = 0;
        let firstDropAt = 0;
        while (sent < limitLines && sentAfterFirstDrop < 20 * maxQueue) {
            // Batches well under the bound: a write's callback comes a tick later.
            for (let i = 0; i < 200; i++) {
                client.send("m", 1_000_000 + sent, 1_800_000_000_000);
                sent++;
                if (client.dropped > 0) sentAfterFirstDrop++;
                else firstDropAt = sent;
            }
            maxPending = Math.max(maxPending, client.pending);
            await tick();
        }
        assert.equal(peers.length, 1, "one connection");
        assert.equal(counter.attempts.length, 1, "never reconnected");
        assert.ok(
            client.dropped > 0,
            `sent ${sent} lines (${Math.round((sent * lineBytes) / 1048576)} MiB) to a peer that reads nothing ` +
                `and dropped none: they are buffered without bound`,
        );
        assert.ok(maxPending <= maxQueue, `unacknowledged lines ${maxPending} > ${maxQueue}`);

        // The peer reads again: what the client still holds is delivered; nothing else is lost.
        const peer = peers[0]!;
        let received = 0;
        let last = -1;
        let ordered = true;
        let rest = "";
        peer.on("data", (chunk: Buffer) => {
            const lines = (rest + chunk.toString("latin1")).split("\n");
            rest = lines.pop()!;
            for (const line of lines) {
                const value = Number(line.split(" ")[1]);
                if (!(value > last)) ordered = false;
                last = value;
                received++;
            }
        });
        peer.resume();
        const ended = once(peer, "end");
        await client.close();
        await ended;
        assert.equal(rest, "", "no partial line");
        assert.ok(ordered, "lines arrive in the order they were sent");
        console.log(
            `# slow peer: ${sent} lines sent, first dropped after ${firstDropAt} ` +
                `(${Math.round((firstDropAt * lineBytes) / 1024)} KiB), ${client.dropped} dropped, ${received} delivered`,
        );
        assert.equal(
            received + client.dropped,
            sent,
            `received ${received} + dropped ${client.dropped}`,
        );
        assert.equal(client.pending, 0);
    });

    it("backs off exponentially (capped) while nothing listens, instead of connecting at every send", async () => {
        const port = await freePort(); // nothing listens on it
        let now = 0;
        const timers: Array<{ ms: number; fire: () => void; cancelled: boolean }> = [];
        const counter = countAttempts(port, () => now);
        cleanups.push(counter.restore);
        const client = new CarbonClient("127.0.0.1", port, "dc", 100, {
            now: () => now,
            backoffBaseMs: 1000,
            backoffMaxMs: 8000,
            jitter: 0,
            schedule: (fire, ms) => {
                const timer = { ms, fire, cancelled: false };
                timers.push(timer);
                return () => (timer.cancelled = true);
            },
        });
        cleanups.push(() => client.close());
        const { attempts } = counter;
        /** Sends one line at `at` and waits for the attempt it may have started to fail. */
        const sendAt = async (at: number) => {
            now = at;
            const before = attempts.length;
            client.send("x", 1);
            if (attempts.length > before) await attempts[attempts.length - 1]!.closed;
            // Let the client see the failure (its 'close' handler) before the clock moves.
            await tick();
        };

        for (const at of [0, 0, 500, 999, 1000, 1500, 2999, 3000, 6999, 7000, 14_999, 15_000]) {
            await sendAt(at);
        }
        for (const at of [22_999, 23_000, 30_999, 31_000]) await sendAt(at);
        assert.deepEqual(
            attempts.map((a) => a.at),
            [0, 1000, 3000, 7000, 15_000, 23_000, 31_000],
            "delays 1, 2, 4, 8 s, then capped at 8 s",
        );
        assert.equal(client.dropped, 0, "16 lines fit the queue of 100");

        // A send held back by the backoff arms one retry at the backoff's end; an attempt
        // cancels it.
        assert.ok(timers.length > 0);
        assert.deepEqual(
            timers.filter((t) => !t.cancelled),
            [],
        );
        timers.length = 0;
        await sendAt(33_000);
        await sendAt(34_000);
        const live = timers.filter((t) => !t.cancelled);
        assert.deepEqual(
            live.map((t) => t.ms),
            [6000],
            "one timer, for the rest of the 8 s delay after the failure at 31 s",
        );
        live[0]!.fire();
        assert.equal(attempts.length, 8, "the retry timer connects");
        await attempts[7]!.closed;
    });

    it("spreads retries with jitter below the exponential delay", async () => {
        const port = await freePort();
        let now = 0;
        const counter = countAttempts(port, () => now);
        cleanups.push(counter.restore);
        const client = new CarbonClient("127.0.0.1", port, "dc", 100, {
            now: () => now,
            backoffBaseMs: 1000,
            jitter: 0.5,
            random: () => 1,
            schedule: () => () => undefined,
        });
        cleanups.push(() => client.close());
        client.send("x", 1);
        await counter.attempts[0]!.closed;
        await tick();
        now = 499;
        client.send("x", 1);
        assert.equal(counter.attempts.length, 1);
        now = 500; // 1000 ms less half of it
        client.send("x", 1);
        assert.equal(counter.attempts.length, 2);
        await counter.attempts[1]!.closed;
    });
});
