/**
 * The dashboard in a real browser, through the whole chain a user's browser goes through:
 * headless Chromium (Debian's `chromium`, driven by playwright-core with its executablePath, no
 * browser download) -> Debian's nginx with the generated site and a test certificate -> the
 * built service (its bundle, with the page built into it) -> real Slurm, the local Nova, real
 * Salt and emulated worker hosts (test/helpers/serviceHarness.ts) -> the real carbon-cache the
 * service writes to, read by Debian's graphite-web run from the generated local_settings.py.
 * A wrong password is refused; a login shows the overview; a job submitted to Slurm brings a
 * worker that appears, becomes ready and runs it, while the graph fills; the worker is drained
 * from its page and goes once its job is done; calls without a session, without the CSRF token,
 * and Graphite without a login are refused. Screenshots go to test/.out/screenshots/; the page's
 * budgets (time to the overview, script size) are printed as the test's diagnostics.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { GraphiteWeb } from "../helpers/graphiteWeb";
import { NginxProxy } from "../helpers/nginxProxy";
import { configFrom, renderHighstate } from "../helpers/salt";
import { ServiceHarness } from "../helpers/serviceHarness";
import { waitFor } from "../helpers/waitFor";

/** Debian's chromium (test/env/packages/dashboard.txt). */
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = path.resolve(__dirname, "../.out/screenshots");

describe("the dashboard in Chromium, through nginx, on real Slurm, Nova, Salt and Graphite", () => {
    let h: ServiceHarness;
    let graphite: GraphiteWeb | undefined;
    let proxy: NginxProxy | undefined;
    let browser: Browser | undefined;
    let context: BrowserContext;
    let page: Page;
    let job = "";
    let node = "";

    before(async () => {
        h = await ServiceHarness.start({ burst: 2, launchTimeout: 120, suspendTime: 300 });
        try {
            // graphite-web runs as the graphite user: it reaches carbon's whisper files through
            // the harness's directory, which the harness opens (0755) for the master's user.
            const head = renderHighstate(
                configFrom({ keyName: "k", allowedCidr: "127.0.0.0/8", network: "private" }),
                "head",
            );
            graphite = await GraphiteWeb.start(
                path.join(h.dir, "graphite-web"),
                head.files,
                h.carbon,
            );
            proxy = await NginxProxy.start(path.join(h.dir, "nginx"), head.files, {
                servicePort: Number(new URL(h.publicUrl).port),
                graphitePort: graphite.port,
            });
            browser = await chromium.launch({
                executablePath: CHROMIUM,
                args: ["--no-sandbox", "--disable-dev-shm-usage"],
            });
            context = await browser.newContext({
                ignoreHTTPSErrors: true,
                viewport: { width: 1366, height: 900 },
            });
            page = await context.newPage();
            // Every action's confirmation is accepted (after its text is checked, below).
            page.on("dialog", (dialog) => void dialog.accept());
            fs.mkdirSync(SCREENSHOTS, { recursive: true });
        } catch (err) {
            await browser?.close();
            await proxy?.stop();
            await graphite?.stop();
            await h.stop();
            throw err;
        }
    });

    after(async () => {
        await browser?.close();
        await proxy?.stop();
        await graphite?.stop();
        const left = await h?.stop();
        assert.equal(left, 0, "the harness left no server behind");
    });

    const dashboard = () => `${proxy!.url}/dashboard/`;

    it("refuses a wrong password with the API's own message, and sets no session", async () => {
        await page.goto(dashboard());
        await page.fill("#username", h.dashboard.username);
        await page.fill("#password", "not-the-password");
        await page.click("form.login button[type=submit]");
        await page.waitForSelector("#login-message.error");
        assert.match(
            (await page.textContent("#login-message")) ?? "",
            /Not logged in: wrong user name or password/,
        );
        const cookies = await context.cookies();
        assert.deepEqual(
            cookies.filter((c) => c.name === "dc_session"),
            [],
        );
    });

    it("logs in and shows the overview; its budgets are measured in the browser", async (t) => {
        await page.fill("#username", h.dashboard.username);
        await page.fill("#password", h.dashboard.password);
        await page.click("form.login button[type=submit]");
        await page.waitForSelector("#worker-count");
        const [cookie] = (await context.cookies()).filter((c) => c.name === "dc_session");
        assert.ok(cookie);
        assert.deepEqual([cookie.httpOnly, cookie.secure, cookie.sameSite], [true, true, "Strict"]);
        // Time to the overview on a fresh load with the session: navigation start to the cards.
        await page.reload();
        await page.waitForSelector("#worker-count");
        const ms = await page.evaluate(() => performance.now());
        const paint = await page.evaluate(
            () =>
                performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? Number.NaN,
        );
        const js = await (await context.request.get(`${proxy!.url}/dashboard/app.js`)).body();
        const css = await (await context.request.get(`${proxy!.url}/dashboard/app.css`)).body();
        t.diagnostic(
            `budget: overview drawn ${ms.toFixed(0)} ms after navigation start (first contentful ` +
                `paint ${paint.toFixed(0)} ms); JS ${(gzipSync(js).length / 1024).toFixed(1)} KB ` +
                `gzipped (${(js.length / 1024).toFixed(1)} KB), CSS ` +
                `${(gzipSync(css).length / 1024).toFixed(1)} KB gzipped`,
        );
        assert.match((await page.textContent("#no-workers")) ?? "", /No workers/);
    });

    it("a job submitted to Slurm brings a worker that appears, becomes ready and runs it; the cluster graph fills", async () => {
        job = await h.submit("--exclusive", "--wrap", "sleep 40");
        const row = await waitFor(
            "a worker row on the page",
            async () => (await page.$("#workers tbody tr[data-node]")) ?? undefined,
            { timeoutMs: 60_000, intervalMs: 250 },
        );
        node = (await row.getAttribute("data-node"))!;
        let seen = "";
        await waitFor(
            `${node} ready and busy on the page`,
            async () => {
                seen = (await page.textContent("#main", { timeout: 5000 })) ?? "";
                const phase = await page.$(`tr[data-node="${node}"] td:nth-child(3)`);
                return /ready \(busy\)/.test((await phase?.textContent()) ?? "") ? true : undefined;
            },
            { timeoutMs: 150_000, intervalMs: 500 },
        ).catch((err: Error) => {
            throw new Error(`${err.message}; the page showed: ${seen.replace(/\s+/g, " ")}`);
        });
        assert.equal(await h.waitForRunning(job), node);
        // The page shows the running job on the worker, without a reload (the next snapshot).
        await waitFor(
            `the running job counted on ${node}`,
            async () =>
                (await page.textContent(`tr[data-node="${node}"] td:nth-child(5)`)) === "1"
                    ? true
                    : undefined,
            { timeoutMs: 30_000, intervalMs: 250 },
        );
        await waitFor(
            "the cluster graph to have data",
            async () => {
                await page.reload();
                await page.waitForSelector("figure.chart canvas", { timeout: 20_000 });
                const status = await page.textContent("figure.chart p.live");
                return status === "" ? true : undefined;
            },
            { timeoutMs: 120_000, intervalMs: 2000 },
        );
        await page.waitForSelector(`tr[data-node="${node}"]`);
        await page.screenshot({
            path: path.join(SCREENSHOTS, "dashboard-overview.png"),
            fullPage: true,
        });
    });

    it("drains the worker from its page: the job finishes, then the worker goes", async () => {
        await page.goto(`${dashboard()}#/workers/${node}`);
        await page.waitForSelector("#worker-facts");
        await waitFor(
            "the worker's load graph to have data (its stats events)",
            async () => {
                const charts = await page.$$("figure.chart");
                if (!charts.length) return undefined;
                const status = await charts[0]!.$eval("p.live", (p) => p.textContent);
                if (status === "") return true;
                await page.reload();
                await page.waitForSelector("#worker-facts");
                return undefined;
            },
            { timeoutMs: 120_000, intervalMs: 3000 },
        );
        await page.screenshot({
            path: path.join(SCREENSHOTS, "dashboard-worker.png"),
            fullPage: true,
        });
        const asked: string[] = [];
        page.once("dialog", (dialog) => void asked.push(dialog.message()));
        await page.click(`[data-key="${node}:drain"]`);
        await page.waitForSelector("#action-message");
        assert.match(asked[0] ?? "", /Drain .*Running jobs finish; then the worker is removed/);
        assert.match((await page.textContent("#action-message")) ?? "", /is draining/);
        await h.waitForJobs([job]);
        await page.goto(dashboard());
        await waitFor(
            `${node} gone from the page`,
            async () => ((await page.$(`tr[data-node="${node}"]`)) ? undefined : true),
            { timeoutMs: 120_000, intervalMs: 500 },
        );
        await h.waitForNoServers();
    });

    it("refuses an action without the CSRF token, any call without a session, and Graphite without a login", async () => {
        const withSession = await context.request.post(`${proxy!.url}/api/v1/breaker/reset`);
        assert.equal(withSession.status(), 403);
        assert.match(await withSession.text(), /CSRF token/);
        const stranger = await browser!.newContext({ ignoreHTTPSErrors: true });
        try {
            const none = await stranger.request.post(`${proxy!.url}/api/v1/breaker/reset`);
            assert.equal(none.status(), 401);
            const render = await stranger.request.get(
                `${proxy!.url}/graphite/render?target=*&format=json`,
            );
            assert.equal(render.status(), 401);
        } finally {
            await stranger.close();
        }
    });
});
