/**
 * The dashboard's live view: `GET /stream` (under the public API's `/api/v1`, behind its login)
 * is a server-sent-events stream of snapshots of the cluster: the status, the workers, the jobs
 * and the recent events, the same documents as the report routes. A snapshot is sent at once,
 * then whenever it has changed, checked every `intervalMs`; with nothing new a comment line every
 * `heartbeatMs` keeps proxies from closing the connection. `X-Accel-Buffering: no` tells the
 * head's nginx not to buffer the stream. The number of open streams is bounded (a 503 beyond it
 * says so); a closed connection stops its timer. A stream opened with a dashboard session ends
 * when that session does (logout, idle or age), checked before every send: an open page cannot
 * outlive its login.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { DynamicClusterService } from "../service";

/** How often and how many. */
export interface StreamOptions {
    /** How often a stream checks for a change (ms). */
    intervalMs: number;
    /** Longest silence before a keep-alive comment (ms). */
    heartbeatMs: number;
    /** Open streams at most. */
    maxStreams: number;
}

/** Defaults: a change reaches the page within 2 s; 50 open pages. */
export const STREAM_DEFAULTS: StreamOptions = {
    intervalMs: 2000,
    heartbeatMs: 15_000,
    maxStreams: 50,
};

/** What one snapshot holds. */
export function clusterSnapshot(service: DynamicClusterService) {
    return {
        status: service.status(),
        workers: service.workers(),
        jobs: service.jobs(),
        events: service.recentEvents(),
    };
}

/** Registers `GET /stream` on `app` (already behind its authentication). */
export function registerStream(
    app: FastifyInstance,
    service: DynamicClusterService,
    options: StreamOptions = STREAM_DEFAULTS,
    stillAllowed: (request: FastifyRequest) => boolean = () => true,
): void {
    let open = 0;
    app.get("/stream", async (request, reply) => {
        if (open >= options.maxStreams) {
            return reply.code(503).send({
                error: `${String(options.maxStreams)} live views are open already; close one or use the report routes`,
            });
        }
        open += 1;
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            Connection: "keep-alive",
        });
        res.write("retry: 5000\n\n");
        let last = "";
        let lastWrite = Date.now();
        const tick = () => {
            if (!stillAllowed(request)) {
                clearInterval(timer);
                res.end(": the session has ended\n\n");
                return;
            }
            let text: string;
            try {
                text = JSON.stringify(clusterSnapshot(service));
            } catch (err) {
                request.log.error({ err }, "live view: the snapshot failed");
                return;
            }
            if (text !== last) {
                last = text;
                res.write(`event: snapshot\ndata: ${text}\n\n`);
                lastWrite = Date.now();
            } else if (Date.now() - lastWrite >= options.heartbeatMs) {
                res.write(": keep-alive\n\n");
                lastWrite = Date.now();
            }
        };
        // Declared before its first use: tick() reads it only after this line.
        const timer = setInterval(tick, options.intervalMs);
        tick();
        const close = () => {
            clearInterval(timer);
            open -= 1;
        };
        res.once("close", close);
    });
}
