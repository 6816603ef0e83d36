/**
 * Metrics to Graphite over carbon's plaintext protocol (`<path> <value> <epoch seconds>\n` on
 * TCP 2003 of the head node's loopback). Lines are queued and written on one connection that
 * is re-opened when it drops; when carbon is down the queue is bounded and the oldest lines are
 * dropped (and counted), so metrics can never block or grow the service.
 */
import * as net from "node:net";

/** Characters allowed in one metric path component; anything else becomes `_`. */
export function metricComponent(text: string): string {
    return text.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** A carbon plaintext client. */
export class CarbonClient {
    private queue: string[] = [];
    private socket?: net.Socket;
    private connecting = false;
    /** Lines dropped because carbon was unreachable and the queue was full. */
    dropped = 0;

    /**
     * @param host carbon's address.
     * @param port its plaintext port.
     * @param prefix path prefix of every metric (e.g. `dynamic_cluster.<cluster>`).
     * @param maxQueue lines kept while carbon is unreachable.
     */
    constructor(
        readonly host: string,
        readonly port: number,
        readonly prefix: string,
        private readonly maxQueue = 10_000,
    ) {}

    /** Queues one value; `path` is relative to the prefix. */
    send(path: string, value: number, atMs: number = Date.now()): void {
        if (!Number.isFinite(value)) return;
        this.queue.push(`${this.prefix}.${path} ${value} ${Math.floor(atMs / 1000)}\n`);
        if (this.queue.length > this.maxQueue) {
            this.dropped += this.queue.length - this.maxQueue;
            this.queue.splice(0, this.queue.length - this.maxQueue);
        }
        this.flush();
    }

    private flush(): void {
        if (this.queue.length === 0) return;
        if (this.socket && !this.socket.destroyed && !this.connecting) {
            const lines = this.queue.join("");
            this.queue = [];
            this.socket.write(lines);
            return;
        }
        if (this.connecting) return;
        this.connecting = true;
        const socket = net.connect({ host: this.host, port: this.port });
        socket.setNoDelay(true);
        socket.on("connect", () => {
            this.connecting = false;
            this.socket = socket;
            this.flush();
        });
        socket.on("error", () => undefined);
        socket.on("close", () => {
            this.connecting = false;
            if (this.socket === socket) this.socket = undefined;
        });
    }

    /** Writes what is queued and closes the connection. */
    async close(): Promise<void> {
        const socket = this.socket;
        this.socket = undefined;
        if (!socket || socket.destroyed) return;
        await new Promise<void>((resolve) => socket.end(resolve));
    }
}
