/**
 * `npm run bench`: runs every benchmark in `bench/` one after another (each prints its own
 * table of measured numbers and ratios to its in-run baseline). Benchmarks that need the local
 * OpenStack expect its `OS_*` environment (`eval "$(bash test/env/openstack/up.sh)"`).
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import * as path from "node:path";

const here = __dirname;
// Helpers shared by the benchmarks live in bench/lib/ (not run).
const only = process.argv[2];
for (const file of readdirSync(here).sort()) {
    if (!file.endsWith(".ts") || file === "run.ts") continue;
    if (only && !file.includes(only)) continue;
    console.log(`\n== ${file}`);
    execFileSync(process.execPath, ["--import", "tsx", path.join(here, file)], {
        stdio: "inherit",
    });
}
