/**
 * Replay speed (`npm run bench -- replay`): jobs per second of `npm run replay`'s simulation on
 * the provided trace (test/fixtures/replay/lublin_256.swf) and on a 100,000-job synthetic trace
 * resampled from it, per policy. The baseline, run in the same process, is the static cluster:
 * the simulated Slurm alone, with no controller. The service's ratio to it is the cost of
 * running the real `decide()` round by round (its own share is printed too); the original
 * allocator's, the cost of its 10 s ticks.
 */
import * as path from "node:path";
import { replay, type PolicyKind } from "../replay/simulate";
import { resampledTrace } from "../replay/synthetic";
import { readTraceFile } from "../replay/trace";
import type { TraceJob } from "../replay/trace/types";
import { DEFAULT_SHAPE, MEASURED_CLOUD } from "../replay/defaults";

const tracePath = path.join(__dirname, "../test/fixtures/replay/lublin_256.swf");
const lublin = readTraceFile(tracePath);
// 32 workers of 8 cores: the 256 processors the Lublin model was made for.
const shape = { ...DEFAULT_SHAPE, max: 32 };

function measure(name: string, jobs: readonly TraceJob[]): void {
    console.log(
        `\n${name}: ${jobs.length.toLocaleString("en-US")} jobs, workers.max ${shape.max} x ${shape.coresPerNode} cores`,
    );
    const rows: Array<[PolicyKind, number, number, number | undefined, number]> = [];
    for (const policy of ["static", "service", "original"] as const) {
        const r = replay(jobs, policy, { shape, cloud: MEASURED_CLOUD, seed: 1 });
        rows.push([policy, r.wallMs, jobs.length / (r.wallMs / 1000), r.decideMs, r.rounds]);
    }
    const base = rows[0]![1];
    console.log("policy    wall (s)   jobs/s     x static   rounds     decide() share");
    for (const [policy, ms, jps, decideMs, rounds] of rows) {
        console.log(
            `${policy.padEnd(9)} ${(ms / 1000).toFixed(2).padStart(8)}   ${Math.round(jps).toLocaleString("en-US").padStart(8)}   ${(ms / base).toFixed(2).padStart(8)}x   ${String(rounds).padStart(8)}   ${decideMs === undefined ? "-" : `${((decideMs / ms) * 100).toFixed(0)} %`}`,
        );
    }
}

measure(`provided trace ${path.basename(tracePath)}`, lublin.jobs);
measure("synthetic trace (resampled from it)", resampledTrace(lublin.jobs, 100_000, 1));
