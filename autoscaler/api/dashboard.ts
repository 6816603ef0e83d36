/**
 * Serves the dashboard page at `/dashboard/` (the head's nginx publishes it at
 * `https://<head>/dashboard/`): three files built ahead of time into the service bundle
 * (`<bundle>/dashboard/`: index.html, app.js, app.css; components/serviceBundle.ts), read once at
 * start. They hold no cluster data (the page asks the API for it, behind the login), so they are
 * served without a login, with a Content-Security-Policy that lets the page load only its own
 * files and talk only to its own origin. The assets are cached for a year under a version in
 * their URL; the page itself is never cached.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { FastifyInstance } from "fastify";

/** The built page's files, as served. */
export interface DashboardAssets {
    html: string;
    js: Buffer;
    css: Buffer;
}

/** Where the bundle keeps the built page (beside autoscaler/main.js). */
export const DASHBOARD_DIR = path.resolve(__dirname, "../dashboard");

/** Reads the built page from `dir`; undefined (and the reason) when it is not there. */
export function loadDashboardAssets(dir: string = DASHBOARD_DIR): DashboardAssets | Error {
    try {
        return {
            html: readFileSync(path.join(dir, "index.html"), "utf8"),
            js: readFileSync(path.join(dir, "app.js")),
            css: readFileSync(path.join(dir, "app.css")),
        };
    } catch (err) {
        return new Error(
            `the dashboard is not built into ${dir} (${(err as Error).message}); build the ` +
                "service bundle with `npm run build:service` and run `pulumi up`",
        );
    }
}

/** The page's Content-Security-Policy: its own files and origin only. */
export const DASHBOARD_CSP = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
].join("; ");

/** Registers the page's routes on `app` (the public API's server, outside `/api/v1`). */
export function registerDashboard(app: FastifyInstance, assets: DashboardAssets | Error): void {
    app.get("/dashboard", async (_request, reply) => reply.redirect("/dashboard/", 302));
    app.get("/dashboard/", async (_request, reply) => {
        if (assets instanceof Error) {
            return reply.code(503).type("text/plain; charset=utf-8").send(assets.message);
        }
        return reply
            .header("Content-Security-Policy", DASHBOARD_CSP)
            .header("Cache-Control", "no-store")
            .type("text/html; charset=utf-8")
            .send(assets.html);
    });
    const file = (name: string, type: string, body: (a: DashboardAssets) => Buffer) =>
        app.get(`/dashboard/${name}`, async (_request, reply) => {
            if (assets instanceof Error) return reply.code(404).send({ error: assets.message });
            return reply
                .header("Cache-Control", "public, max-age=31536000, immutable")
                .type(type)
                .send(body(assets));
        });
    file("app.js", "text/javascript; charset=utf-8", (a) => a.js);
    file("app.css", "text/css; charset=utf-8", (a) => a.css);
}
