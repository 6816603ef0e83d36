/**
 * Metrics to Graphite over carbon's plaintext protocol (`<path> <value> <epoch seconds>\n` on
 * TCP 2003 of the head node's loopback), so metrics can never block or grow the service:
 *
 * - one bound covers every line not yet handed to the kernel: the client's queue plus what the
 *   socket holds (written, its write callback not called yet). Nothing more is written while
 *   `write()` says the socket is full, until its 'drain'. Over the bound the oldest queued line
 *   is dropped; every line the client knows it lost (dropped, or still in the socket when the
 *   connection broke; not what the kernel took and a dying carbon never read) is counted in
 *   `dropped`, which the service reports as `metricsDropped` in its status;
 * - a failed connection attempt backs off exponentially (capped, with jitter): attempts are made
 *   when there is something to send and the backoff allows it; a send held back by the backoff
 *   arms one timer for the backoff's end. A connection that was established resets the backoff.
 */
import * as net from "node:net";

export { metricComponent } from "../../lib/metricNames";

/** Tuning and seams of a {@link CarbonClient} (all optional). */
export interface CarbonOptions {
    /** Delay after the first failed connection attempt; doubles with each failure (ms, 1000). */
    backoffBaseMs?: number;
    /** Longest delay between attempts (ms, 30 000). */
    backoffMaxMs?: number;
    /** Fraction of a delay taken off at random, 0..1 (0.2), so restarts do not align. */
    jitter?: number;
    /** Random numbers in [0, 1) for the jitter (Math.random). */
    random?: () => number;
    /** The clock, ms (Date.now). */
    now?: () => number;
    /** Runs `fire` once after `ms`; returns a function that cancels it (unref'd setTimeout). */
    schedule?: (fire: () => void, ms: number) => () => void;
}

/** One connection (attempt) and the lines written into it that the kernel has not taken yet. */
interface Connection {
    socket: net.Socket;
    /** 'connect' was seen. */
    ready: boolean;
    /** `write()` returned false; waiting for 'drain'. */
    blocked: boolean;
    /** Lines written whose write callback has not been called. */
    unflushed: number;
    closed: boolean;
}

function defaultSchedule(fire: () => void, ms: number): () => void {
    const timer = setTimeout(fire, ms);
    timer.unref();
    return () => clearTimeout(timer);
}

/** A carbon plaintext client. */
export class CarbonClient {
    private queue: string[] = [];
    private conn?: Connection;
    private failures = 0;
    private nextAttemptAt = 0;
    private cancelRetry?: () => void;
    private closed = false;
    private readonly backoffBaseMs: number;
    private readonly backoffMaxMs: number;
    private readonly jitter: number;
    private readonly random: () => number;
    private readonly now: () => number;
    private readonly schedule: (fire: () => void, ms: number) => () => void;
    /** Lines lost: dropped over the bound, sent after `close`, or cut off with a connection. */
    dropped = 0;

    /**
     * @param host carbon's address.
     * @param port its plaintext port.
     * @param prefix path prefix of every metric (e.g. `dynamic_cluster.<cluster>`).
     * @param maxQueue lines held at most: queued plus written but not yet taken by the kernel.
     * @param options backoff tuning, clock and timer (tests).
     */
    constructor(
        readonly host: string,
        readonly port: number,
        readonly prefix: string,
        private readonly maxQueue = 10_000,
        options: CarbonOptions = {},
    ) {
        this.backoffBaseMs = options.backoffBaseMs ?? 1000;
        this.backoffMaxMs = Math.max(options.backoffMaxMs ?? 30_000, this.backoffBaseMs);
        this.jitter = Math.min(Math.max(options.jitter ?? 0.2, 0), 1);
        this.random = options.random ?? Math.random;
        this.now = options.now ?? Date.now;
        this.schedule = options.schedule ?? defaultSchedule;
    }

    /** Lines held now: queued, or in the socket and not yet taken by the kernel. */
    get pending(): number {
        return this.queue.length + (this.conn?.unflushed ?? 0);
    }

    /** Queues one value; `path` is relative to the prefix. */
    send(path: string, value: number, atMs: number = Date.now()): void {
        if (!Number.isFinite(value)) return;
        if (this.closed) {
            this.dropped++;
            return;
        }
        this.queue.push(`${this.prefix}.${path} ${value} ${Math.floor(atMs / 1000)}\n`);
        const excess = Math.min(this.pending - this.maxQueue, this.queue.length);
        if (excess > 0) {
            this.dropped += excess;
            this.queue.splice(0, excess);
        }
        this.flush();
    }

    /** Writes the queue into a connection that can take it, or gets a connection. */
    private flush(): void {
        if (this.queue.length === 0) return;
        const conn = this.conn;
        if (!conn) {
            this.connectWhenAllowed();
            return;
        }
        if (!conn.ready || conn.blocked) return;
        this.write(conn, this.queue.join(""), this.queue.length);
        this.queue = [];
    }

    private write(conn: Connection, text: string, lines: number, end = false): void {
        conn.unflushed += lines;
        const done = (err?: Error | null) => {
            // After 'close' the connection's lines were counted as dropped already.
            if (!err && !conn.closed) conn.unflushed -= lines;
        };
        if (end) {
            conn.socket.end(text, done);
            return;
        }
        if (!conn.socket.write(text, done)) {
            conn.blocked = true;
            conn.socket.once("drain", () => {
                conn.blocked = false;
                if (this.conn === conn) this.flush();
            });
        }
    }

    private connectWhenAllowed(): void {
        if (this.closed || this.conn) return;
        const wait = this.nextAttemptAt - this.now();
        if (wait <= 0) {
            this.connect();
        } else if (!this.cancelRetry) {
            this.cancelRetry = this.schedule(() => {
                this.cancelRetry = undefined;
                if (!this.closed && !this.conn && this.queue.length > 0) this.connect();
            }, wait);
        }
    }

    private connect(): void {
        this.cancelRetry?.();
        this.cancelRetry = undefined;
        const socket = net.connect({ host: this.host, port: this.port });
        const conn: Connection = {
            socket,
            ready: false,
            blocked: false,
            unflushed: 0,
            closed: false,
        };
        this.conn = conn;
        socket.setNoDelay(true);
        socket.on("connect", () => {
            conn.ready = true;
            this.failures = 0;
            this.nextAttemptAt = 0;
            this.flush();
        });
        socket.on("error", () => undefined);
        socket.on("close", () => {
            conn.closed = true;
            this.dropped += conn.unflushed;
            conn.unflushed = 0;
            if (this.conn === conn) this.conn = undefined;
            if (!conn.ready) {
                this.failures++;
                this.nextAttemptAt = this.now() + this.backoffDelay();
            }
            // Lines still queued go with the next send's attempt (the service sends every round).
        });
    }

    /** Delay before the next attempt after `failures` failed ones in a row. */
    private backoffDelay(): number {
        const exponential = Math.min(
            this.backoffBaseMs * 2 ** Math.min(this.failures - 1, 30),
            this.backoffMaxMs,
        );
        return Math.round(exponential * (1 - this.jitter * this.random()));
    }

    /**
     * Writes what is queued and closes the connection; waits at most `timeoutMs` for the kernel
     * to take it (a peer that does not read cannot hold the service's stop), then cuts the
     * connection. What could not be written is counted in `dropped`; later sends are dropped.
     */
    async close(timeoutMs = 5000): Promise<void> {
        this.closed = true;
        this.cancelRetry?.();
        this.cancelRetry = undefined;
        const conn = this.conn;
        if (!conn?.ready) {
            this.dropped += this.queue.length;
            this.queue = [];
            conn?.socket.destroy();
            return;
        }
        this.conn = undefined;
        const lines = this.queue.length;
        this.write(conn, this.queue.join(""), lines, true);
        this.queue = [];
        if (conn.socket.writableFinished || conn.closed) return;
        await new Promise<void>((resolve) => {
            // Cut off: 'close' follows, counting what was left as dropped.
            const cancel = this.schedule(() => conn.socket.destroy(), timeoutMs);
            const done = () => {
                cancel();
                resolve();
            };
            conn.socket.once("finish", done);
            conn.socket.once("close", done);
        });
    }
}
