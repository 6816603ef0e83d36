/**
 * Builds the head-node service bundle (`npm run build:service`; the Pulumi program calls it
 * before it copies the bundle, and the service tests build it too): esbuild bundles
 * `autoscaler/main.ts` and `autoscaler/cli.ts` with their npm dependencies into two
 * self-contained CommonJS files for the head node's Node.js, next to the worker user-data
 * template the service renders:
 *
 *   <out>/autoscaler/main.js     the service (systemd unit dynamic-cluster.service)
 *   <out>/autoscaler/cli.js      the `dynamic-cluster` command
 *   <out>/cloud-init/worker.yaml the worker user-data template
 *   <out>/dashboard/             the dashboard page (index.html, app.js, app.css), built for
 *                                the browser from autoscaler/dashboard/ with uPlot
 */
import { buildSync } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/** Default output directory. */
export const SERVICE_BUNDLE_DIR = path.join(ROOT, "dist", "service");

/** How the bundle is built. */
export interface BundleOptions {
    /**
     * Minify whitespace and syntax (default true; names are kept). Only the memory benchmark's
     * baseline (bench/service-memory.ts) builds it unminified.
     */
    minify?: boolean;
}

/** Builds the bundle into `outDir` (replacing it) and returns `outDir`. */
export function buildServiceBundle(
    outDir: string = SERVICE_BUNDLE_DIR,
    { minify = true }: BundleOptions = {},
): string {
    rmSync(outDir, { recursive: true, force: true });
    buildSync({
        entryPoints: {
            main: path.join(ROOT, "autoscaler/main.ts"),
            cli: path.join(ROOT, "autoscaler/cli.ts"),
        },
        outdir: path.join(outDir, "autoscaler"),
        bundle: true,
        platform: "node",
        // The head node's Node.js (HEAD_NODEJS_STREAM in ./cluster.ts), not the workstation's
        // (the Pulumi program itself still runs on Node 20).
        target: "node24",
        format: "cjs",
        // Whitespace and syntax minified, names kept (stack traces still name functions): the
        // head keeps the whole source in its heap for lazy compilation, and unminified it held
        // comments with non-ASCII characters, which made V8 store all 3.1 MB as a two-byte
        // string (6.3 MB). Minified: 2.1 MB, ASCII only, RSS 5 MiB lower (bench/service-memory.ts).
        // main.js.map beside it decodes a position (node --enable-source-maps).
        minifyWhitespace: minify,
        minifySyntax: minify,
        sourcemap: "linked",
        legalComments: "linked",
        logLevel: "warning",
    });
    buildDashboard(path.join(outDir, "dashboard"));
    mkdirSync(path.join(outDir, "cloud-init"), { recursive: true });
    copyFileSync(
        path.join(ROOT, "cloud-init/worker.yaml"),
        path.join(outDir, "cloud-init/worker.yaml"),
    );
    return outDir;
}

/**
 * Builds the dashboard page into `outDir`: the page's TypeScript and uPlot as one minified
 * script for the browser, the styles (uPlot's included) as one minified stylesheet, and
 * index.html pointing at both under a version made of their content (so a new build is never
 * served from a browser's cache).
 */
export function buildDashboard(outDir: string): void {
    const source = path.join(ROOT, "autoscaler", "dashboard");
    buildSync({
        entryPoints: { app: path.join(source, "page", "main.ts") },
        outdir: outDir,
        bundle: true,
        platform: "browser",
        format: "iife",
        target: ["chrome110", "firefox110", "safari16"],
        tsconfig: path.join(source, "page", "tsconfig.json"),
        minify: true,
        legalComments: "none",
        logLevel: "warning",
    });
    buildSync({
        entryPoints: { app: path.join(source, "app.css") },
        outdir: outDir,
        bundle: true,
        minify: true,
        logLevel: "warning",
    });
    const version = createHash("sha256")
        .update(readFileSync(path.join(outDir, "app.js")))
        .update(readFileSync(path.join(outDir, "app.css")))
        .digest("hex")
        .slice(0, 16);
    const html = readFileSync(path.join(source, "index.html"), "utf8").replaceAll(
        "%ASSET_VERSION%",
        version,
    );
    writeFileSync(path.join(outDir, "index.html"), html);
}

if (require.main === module) {
    const out = buildServiceBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
    console.log(`service bundle in ${out}`);
}
