/**
 * Runs every benchmark in `bench/` one after another, or those whose file name contains the
 * first argument; each prints its own table of measured numbers and ratios to its in-run
 * baseline. `npm run bench` (bench/run.sh) starts what they need first; run directly, this
 * expects the local OpenStack's `OS_*` environment and DC_SALT_VENV. Exits non-zero when a
 * benchmark failed (after running the others).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import * as path from "node:path";

const here = __dirname;
// Helpers shared by the benchmarks live in bench/lib/ (not run).
const only = process.argv[2];
const failed: string[] = [];
for (const file of readdirSync(here).sort()) {
    if (!file.endsWith(".ts") || file === "run.ts") continue;
    if (only && !file.includes(only)) continue;
    console.log(`\n== ${file}`);
    const started = Date.now();
    const result = spawnSync(process.execPath, ["--import", "tsx", path.join(here, file)], {
        stdio: "inherit",
    });
    const took = `${((Date.now() - started) / 1000).toFixed(0)} s`;
    if (result.status === 0) {
        console.log(`== ${file}: done in ${took}`);
    } else {
        failed.push(file);
        console.log(
            `== ${file}: FAILED after ${took} (${result.signal ?? `exit ${result.status}`})`,
        );
    }
}
if (failed.length) {
    console.error(`\nfailed: ${failed.join(", ")}`);
    process.exitCode = 1;
}
