/**
 * Mock-run time of the whole Pulumi program: wall time of a process that runs `index.ts` under
 * `setMocks` (all registrations awaited), against a baseline process that only loads tsx and
 * `@pulumi/pulumi`, so the program's own cost is a ratio. Median of N runs each, same machine,
 * same run. `npx tsx bench/mock-program.ts [runs]`
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { median } from "./lib/stats";

const ROOT = path.resolve(__dirname, "..");
const runs = Number(process.argv[2] ?? 5);
const config = {
    keyName: "k",
    allowedCidr: "203.0.113.0/24",
    externalNetwork: "public",
    workers: { min: 0, max: 8 },
};

function time(args: string[], env: Record<string, string> = {}): number {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, args, {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: "pipe",
    });
    return Number(process.hrtime.bigint() - start) / 1e6;
}

const baseline: number[] = [];
const program: number[] = [];
for (let i = 0; i < runs; i++) {
    baseline.push(time(["--import", "tsx", "-e", 'require("@pulumi/pulumi")']));
    program.push(
        time(["--import", "tsx", "test/helpers/dumpProgram.ts"], {
            DC_TEST_CONFIG: JSON.stringify(config),
        }),
    );
}
const b = median(baseline);
const p = median(program);
console.log(`runs: ${runs}`);
console.log(`baseline (node + tsx + @pulumi/pulumi): median ${b.toFixed(0)} ms`);
console.log(
    `whole program under mocks:              median ${p.toFixed(0)} ms (min ${Math.min(...program).toFixed(0)}, max ${Math.max(...program).toFixed(0)})`,
);
console.log(
    `program's own cost: ${(p - b).toFixed(0)} ms; ratio to baseline ${(p / b).toFixed(2)}x`,
);
