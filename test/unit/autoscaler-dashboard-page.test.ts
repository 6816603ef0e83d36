/**
 * The dashboard page as the service serves it (autoscaler/api/dashboard.ts) and as the bundle
 * builds it (components/serviceBundle.ts buildDashboard): index.html points at the built script
 * and stylesheet under a version made of their content; the script stays within its size budget
 * (100 KB gzipped); the page is served with a Content-Security-Policy that allows only its own
 * files and origin, never cached, the assets cached for good; without a build the service says
 * how to build it. The page's own calls get no Basic challenge (which would put the browser's
 * login prompt in front of the page's form); scripts still do. The page in a real browser is
 * test/integration/dashboard-browser.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { DASHBOARD_CSP, loadDashboardAssets } from "../../autoscaler/api/dashboard";
import { buildPublicApi } from "../../autoscaler/api/public";
import type { DynamicClusterService } from "../../autoscaler/service";
import { buildDashboard } from "../../components/serviceBundle";

const LOGIN = { username: "admin", password: "correct-horse-battery" };
const service = {} as DynamicClusterService;

describe("the dashboard page, built and served", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-dashboard-build-"));
        buildDashboard(dir);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is built into index.html, app.js and app.css, the assets under their content's version", () => {
        const html = fs.readFileSync(path.join(dir, "index.html"), "utf8");
        const versions = [...html.matchAll(/\/dashboard\/app\.(js|css)\?v=([0-9a-f]{16})"/g)];
        assert.deepEqual(
            versions.map((m) => m[1]),
            ["css", "js"],
        );
        assert.equal(versions[0]![2], versions[1]![2]);
        assert.doesNotMatch(html, /%ASSET_VERSION%/);
        assert.doesNotMatch(
            html,
            /<script>|\sstyle=|\son[a-z]+=/,
            "nothing inline: the CSP allows none",
        );
    });

    it("ships its script within the budget: under 100 KB gzipped, uPlot included", (t) => {
        const js = fs.readFileSync(path.join(dir, "app.js"));
        const gz = gzipSync(js).length;
        t.diagnostic(
            `app.js ${(js.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped`,
        );
        assert.ok(gz < 100 * 1024, `${gz} bytes gzipped`);
        assert.match(js.toString("utf8"), /uplot/, "the charting library is in the bundle");
    });

    it("is served with its CSP and never cached; the assets are cached for good", async () => {
        const app = buildPublicApi(service, LOGIN, pino({ level: "silent" }), {
            dashboard: loadDashboardAssets(dir),
        });
        const page = await app.inject({ url: "/dashboard/" });
        assert.equal(page.statusCode, 200);
        assert.equal(page.headers["content-security-policy"], DASHBOARD_CSP);
        assert.match(DASHBOARD_CSP, /script-src 'self'/);
        assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval/);
        assert.equal(page.headers["cache-control"], "no-store");
        const js = await app.inject({ url: "/dashboard/app.js?v=0123456789abcdef" });
        assert.equal(js.statusCode, 200);
        assert.match(String(js.headers["content-type"]), /^text\/javascript/);
        assert.match(String(js.headers["cache-control"]), /immutable/);
        assert.equal((await app.inject({ url: "/dashboard" })).headers.location, "/dashboard/");
    });

    it("says how to build it when the bundle has no page, and serves nothing else", async () => {
        const missing = loadDashboardAssets(path.join(dir, "nowhere"));
        assert.ok(missing instanceof Error);
        const app = buildPublicApi(service, LOGIN, pino({ level: "silent" }), {
            dashboard: missing,
        });
        const page = await app.inject({ url: "/dashboard/" });
        assert.equal(page.statusCode, 503);
        assert.match(page.body, /npm run build:service/);
        assert.equal((await app.inject({ url: "/dashboard/app.js" })).statusCode, 404);
    });

    it("answers the page's own calls without a Basic challenge, and scripts with one", async () => {
        const app = buildPublicApi(service, LOGIN, pino({ level: "silent" }), {
            dashboard: loadDashboardAssets(dir),
        });
        const fromPage = await app.inject({
            url: "/api/v1/session",
            headers: { "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin" },
        });
        assert.equal(fromPage.statusCode, 401);
        assert.equal(fromPage.headers["www-authenticate"], undefined);
        const fromScript = await app.inject({ url: "/api/v1/session" });
        assert.equal(fromScript.statusCode, 401);
        assert.match(
            String(fromScript.headers["www-authenticate"]),
            /^Basic realm="Dynamic Cluster"/,
        );
        const navigated = await app.inject({
            url: "/api/v1/status",
            headers: { "sec-fetch-mode": "navigate" },
        });
        assert.match(String(navigated.headers["www-authenticate"]), /^Basic/);
    });
});
