/**
 * Whether the dashboard keeps up with a large cluster: the built page (components/serviceBundle.ts
 * buildDashboard) in headless Chromium (Debian's, through playwright-core), fed by the service's
 * real public API and live stream (autoscaler/api/public.ts) over a stand-in cluster whose every
 * snapshot differs, sent every 250 ms (eight times the production rate). Measured in the browser
 * over 15 s: snapshots drawn (each rebuilds the tables), the time to draw one (the page's own
 * User Timing measure "dc-render": building and swapping in the tables), and the time from
 * navigation to the first drawn overview. The baseline is the same
 * page with 10 workers in the same run; 200 workers is the bar. `npm run bench --
 * dashboard-render`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { chromium } from "playwright-core";
import { loadDashboardAssets } from "../autoscaler/api/dashboard";
import { buildPublicApi } from "../autoscaler/api/public";
import type { DynamicClusterService } from "../autoscaler/service";
import { buildDashboard } from "../components/serviceBundle";

const CHROMIUM = "/usr/bin/chromium";
const LOGIN = { username: "admin", password: "correct-horse-battery-staple" };
const WINDOW_MS = 15_000;
const INTERVAL_MS = 250;

/** A stand-in cluster of `count` workers whose snapshot changes on every call. */
function cluster(count: number): DynamicClusterService {
    let calls = 0;
    const started = Date.now();
    const workers = Array.from({ length: count }, (_, i) => ({
        node: `compute-dy-${String(i + 1)}`,
        pool: "burst",
        phase: i % 9 === 0 ? "booting" : "ready",
        activity: i % 3 === 0 ? "idle" : "busy",
        address: `10.0.${String(i >> 8)}.${String(i & 255)}`,
        launchedAt: started - i * 60_000,
        held: false,
        note: i % 9 === 0 ? "server ACTIVE; its minion has not authenticated yet" : "",
    }));
    const jobs = workers
        .filter((w) => w.activity === "busy")
        .map((w, i) => ({
            id: String(1000 + i),
            name: `job-${String(i)}`,
            user: "fred",
            partition: "batch",
            state: "running",
            reason: "",
            nodes: [w.node],
            cpus: 8,
            nodeCount: 1,
            submittedAt: started - 600_000,
            startedAt: started - 300_000,
        }));
    return {
        status: () => ({
            cluster: { name: "bench", id: "bench0001" },
            autoMode: true,
            observationAgeSeconds: calls++,
            breaker: { open: false, consecutiveFailures: 0, threshold: 5 },
            pools: { static: { size: 0, workers: 0 }, burst: { size: count, workers: count } },
            errors: {},
        }),
        workers: () => workers,
        jobs: () => jobs,
        recentEvents: () =>
            Array.from({ length: 100 }, (_, i) => ({
                at: started + i * 1000,
                level: "info",
                node: workers[i % count]!.node,
                message: `launched ${workers[i % count]!.node}`,
            })),
    } as unknown as DynamicClusterService;
}

interface Figures {
    drawn: number;
    meanDrawMs: number;
    maxDrawMs: number;
    firstOverviewMs: number;
}

async function measure(count: number, assetsDir: string): Promise<Figures> {
    const app = buildPublicApi(cluster(count), LOGIN, pino({ level: "silent" }), {
        dashboard: loadDashboardAssets(assetsDir),
        stream: { intervalMs: INTERVAL_MS, heartbeatMs: 15_000, maxStreams: 5 },
    });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
        const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
        await page.goto(`${url}/dashboard/`);
        await page.fill("#username", LOGIN.username);
        await page.fill("#password", LOGIN.password);
        await page.click("form.login button[type=submit]");
        await page.waitForSelector("#worker-count");
        await page.reload();
        await page.waitForSelector("#worker-count");
        const firstOverviewMs = await page.evaluate(() => performance.now());
        const draws = await page.evaluate(async (windowMs) => {
            const durations: number[] = [];
            // The page measures each draw of a snapshot (User Timing "dc-render").
            const observer = new PerformanceObserver((list) => {
                for (const entry of list.getEntriesByName("dc-render"))
                    durations.push(entry.duration);
            });
            observer.observe({ type: "measure" });
            await new Promise((resolve) => setTimeout(resolve, windowMs));
            observer.disconnect();
            return durations;
        }, WINDOW_MS);
        return {
            drawn: draws.length,
            meanDrawMs: draws.reduce((a, b) => a + b, 0) / Math.max(1, draws.length),
            maxDrawMs: Math.max(0, ...draws),
            firstOverviewMs,
        };
    } finally {
        await browser.close();
        await app.close();
    }
}

async function main(): Promise<void> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "dc-bench-dashboard-"));
    try {
        buildDashboard(dir);
        const expected = WINDOW_MS / INTERVAL_MS;
        console.log(
            `dashboard: snapshots every ${String(INTERVAL_MS)} ms for ${String(WINDOW_MS / 1000)} s (about ${String(expected)}), each one different`,
        );
        const results = new Map<number, Figures>();
        for (const count of [10, 200]) {
            const f = await measure(count, dir);
            results.set(count, f);
            console.log(
                `  ${String(count)} workers: ${String(f.drawn)} snapshots drawn, draw mean ${f.meanDrawMs.toFixed(1)} ms, ` +
                    `max ${f.maxDrawMs.toFixed(1)} ms; overview drawn ${f.firstOverviewMs.toFixed(0)} ms after navigation`,
            );
        }
        const base = results.get(10)!;
        const big = results.get(200)!;
        console.log(
            `  200 / 10 workers: draw time ${(big.meanDrawMs / base.meanDrawMs).toFixed(2)}x, ` +
                `snapshots drawn ${(big.drawn / base.drawn).toFixed(2)}x, first overview ` +
                `${(big.firstOverviewMs / base.firstOverviewMs).toFixed(2)}x; a draw of 200 workers takes ` +
                `${((big.meanDrawMs / 2000) * 100).toFixed(1)} % of the production interval (2 s)`,
        );
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

void main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
